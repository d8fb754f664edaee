-- Every order with its base amount, for the per-date path (dashboard/metrics/positions.py):
-- an order is open from its order_date on (macro order_open_at), so the orders open at T are the
-- prefix of this list up to T. Dates as days since 1970-01-01.
-- Grain: one row per order, by order date. Parameters: none.
select (order_date - DATE '1970-01-01')::integer as order_day, customer_key, amount_base, currency
from orders
order by order_date, customer_key, amount_base
