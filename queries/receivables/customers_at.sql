-- Credit position of every customer at $as_of: AR, overdue, disputed,
-- open orders, exposure against the credit limit (kpis.md, "Credit exposure"; the limit
-- macros of macros.sql).
-- Receivables columns (ar, ar_overdue, disputed_ar, open_orders, open_order_count) count the
-- documents and orders in $currencies; exposure, utilization, headroom and over_limit count
-- every currency: a customer's credit limit covers all of its currencies.
-- Grain: one row per customer in the selected segments and regions (customers with nothing
-- open included, so counts are of accounts) and, when $currencies is not empty, with
-- something open in one of them (macro open_in_currencies).
-- Parameters: $as_of, $segments, $regions, $currencies (lists; empty = all).
with ar as (
    select customer_key,
           sum(open_amount) filter (where picked(currency, $currencies)) as ar,
           coalesce(sum(open_amount) filter (where picked(currency, $currencies) and days_past_due($as_of, due_date) > 0), 0) as ar_overdue,
           coalesce(sum(open_amount) filter (where picked(currency, $currencies) and disputed), 0) as disputed_ar,
           count(*) filter (where picked(currency, $currencies)) as open_items,
           sum(open_amount) as ar_every_currency
    from open_intervals
    where open_at(start_date, end_date, $as_of)
    group by customer_key
),
orders_open as (
    select customer_key,
           sum(amount_base) filter (where picked(currency, $currencies)) as open_orders,
           count(*) filter (where picked(currency, $currencies)) as open_order_count,
           sum(amount_base) as orders_every_currency
    from orders
    where order_open_at(order_date, $as_of)
    group by customer_key
),
positions as (
    select c.customer_key, c.customer_id, c.name, c.segment, c.region, c.credit_limit,
           coalesce(ar.ar, 0) as ar,
           coalesce(ar.ar_overdue, 0) as ar_overdue,
           coalesce(ar.disputed_ar, 0) as disputed_ar,
           coalesce(o.open_orders, 0) as open_orders,
           coalesce(o.open_order_count, 0)::bigint as open_order_count,
           coalesce(ar.ar_every_currency, 0) + coalesce(o.orders_every_currency, 0) as exposure
    from customers c
    left join ar using (customer_key)
    left join orders_open o using (customer_key)
    where picked(c.segment, $segments) and picked(c.region, $regions)
      and open_in_currencies(ar.open_items, o.open_order_count, $currencies)
)
select *,
       utilisation(exposure, credit_limit) as utilization,
       headroom(exposure, credit_limit) as headroom,
       over_limit(exposure, credit_limit) as over_limit
from positions
