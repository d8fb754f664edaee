-- What the per-date path keeps of each customer (dashboard/metrics/positions.py), by the dense
-- customer_key the load assigns (0, 1, 2, ...), so a per-customer sum is an array indexed by it.
-- Grain: one row per customer. Parameters: none.
select customer_key, customer_id, name, segment, region, credit_limit,
       risk_class as master_risk_class, external_score
from customers
order by customer_key
