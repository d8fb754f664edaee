-- Credit position of every customer at $as_of: AR, overdue, disputed,
-- open orders, exposure against the credit limit (kpis.md, "Credit exposure"; the limit
-- macros of macros.sql).
-- Grain: one row per customer in the selected segments and regions
-- (customers with nothing open included, so counts are of accounts).
-- Parameters: $as_of, $segments, $regions, $currencies (lists; empty = all).
with ar as (
    select customer_key,
           sum(open_amount) as ar,
           coalesce(sum(open_amount) filter (where days_past_due($as_of, due_date) > 0), 0) as ar_overdue,
           coalesce(sum(open_amount) filter (where disputed), 0) as disputed_ar
    from open_intervals
    where open_at(start_date, end_date, $as_of) and picked(currency, $currencies)
    group by customer_key
),
orders_open as (
    select customer_key, sum(amount_base) as open_orders, count(*) as open_order_count
    from orders
    where order_open_at(order_date, $as_of) and picked(currency, $currencies)
    group by customer_key
),
positions as (
    select c.customer_key, c.customer_id, c.name, c.segment, c.region, c.credit_limit,
           coalesce(ar.ar, 0) as ar,
           coalesce(ar.ar_overdue, 0) as ar_overdue,
           coalesce(ar.disputed_ar, 0) as disputed_ar,
           coalesce(o.open_orders, 0) as open_orders,
           coalesce(o.open_order_count, 0)::bigint as open_order_count
    from customers c
    left join ar using (customer_key)
    left join orders_open o using (customer_key)
    where picked(c.segment, $segments) and picked(c.region, $regions)
)
select *,
       ar + open_orders as exposure,
       utilisation(ar + open_orders, credit_limit) as utilization,
       headroom(ar + open_orders, credit_limit) as headroom,
       over_limit(ar + open_orders, credit_limit) as over_limit
from positions
