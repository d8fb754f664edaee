-- Open orders at $as_of in release order (whatif.md: order_date, then order_id), with the customer's id,
-- for the held-orders list (credit-decisions.md "Held orders"). Grain: one row per open order.
-- Parameters: $as_of.
select o.customer_key, c.customer_id, o.order_id, o.order_date, o.amount_base as amount
from orders o
join customers c using (customer_key)
where order_open_at(o.order_date, $as_of)
order by o.customer_key, o.order_date, o.order_id
