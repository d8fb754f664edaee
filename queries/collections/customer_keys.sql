-- The snapshot's keys of the given customer ids (promises and workbench records are keyed by the
-- ledger's customer_id). Grain: one row per id found. Parameters: $customer_ids (list).
select customer_id, customer_key
from customers
where customer_id in (select unnest($customer_ids))
