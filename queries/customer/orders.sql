-- Open orders of one customer at $as_of, in release order (whatif.md: order_date, then order_id).
-- Grain: one row per order. Parameters: $customer_key, $as_of.
select order_id, order_date, currency, amount as amount_original, amount_base
from orders
where customer_key = $customer_key and order_open_at(order_date, $as_of)
order by order_date, order_id
