-- The length of an array indexed by customer_key (the load assigns dense keys 0 .. n-1).
-- Grain: one row. Parameters: none.
select coalesce(max(customer_key) + 1, 0) as keys
from customers
