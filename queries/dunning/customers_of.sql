-- The customer master's rows for letters (name, e-mail, contact, address, language when the
-- snapshot has them). Grain: one row per given customer key. Parameters: $customer_keys (list).
select *
from customers
where customer_key in (select unnest($customer_keys))
