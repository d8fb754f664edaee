-- The customer master's rows for letters (name, e-mail, contact, address, language when the
-- snapshot has them: older snapshots lack the letter columns). Grain: one row per given
-- customer id found. Parameters: $customer_ids (list).
select *
from customers
where customer_id in (select unnest($customer_ids))
