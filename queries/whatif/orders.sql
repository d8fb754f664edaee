-- Open orders at $as_of in release order (order_date, then order_id), for the
-- what-if credit-limit check (whatif.md, "Limits").
-- Grain: one row per open order.
-- Parameters: $as_of.
select customer_key, order_id, order_date, amount_base as amount
from orders
where order_open_at(order_date, $as_of)
order by customer_key, order_date, order_id
