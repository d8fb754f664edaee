-- The raw measures of the risk scorecard (risk.md) for every customer at $as_of,
-- using only what was known at $as_of: documents issued, paid and open by then.
-- Grain: one row per customer in the selected segments and regions and, when $currencies is
-- not empty, with something open in one of them (macro open_in_currencies, as customers_at.sql).
-- Every measure counts every currency: a customer's score and its exposure against its credit
-- limit do not depend on the currency filter, which only picks the customers.
-- Parameters: $as_of, $segments, $regions, $currencies (lists; empty = all).
-- Windows: paid in the last 365 days (T-365, T]; recent = last 90 days (T-90, T];
-- prior = the 275 days before (T-365, T-90]. Days late per kpis.md avg_days_late:
-- amount-weighted max(0, paid_date - due_date), documents with amount > 0.
with paid as (
    select customer_key,
           count(*) as paid_docs,
           sum(amount_base) as paid_amount,
           sum(amount_base * days_late) as paid_late_x_amount,
           sum(amount_base) filter (where paid_date > $as_of::date - 90) as recent_amount,
           sum(amount_base * days_late) filter (where paid_date > $as_of::date - 90) as recent_late_x_amount,
           sum(amount_base) filter (where paid_date <= $as_of::date - 90) as prior_amount,
           sum(amount_base * days_late) filter (where paid_date <= $as_of::date - 90) as prior_late_x_amount
    from paid_docs  -- derive_paid_docs.sql: amount > 0, days_late = max(0, paid_date - due_date)
    where paid_date > $as_of::date - 365 and paid_date <= $as_of
    group by customer_key
),
open_now as (
    select customer_key,
           count(*) as open_docs,
           sum(open_amount) as ar,
           coalesce(sum(open_amount) filter (where days_past_due($as_of, due_date) > 0), 0) as ar_overdue,
           -- open items: days past due so far (0 while not yet due), weighted by what is open. Not-yet-due
           -- items count (as 0) so that an item falling due can only raise the average, never dilute it.
           sum(open_amount) filter (where open_amount > 0) as open_late_amount,
           sum(open_amount * greatest(0, days_past_due($as_of, due_date))) filter (where open_amount > 0) as open_late_x_amount,
           coalesce(sum(open_amount) filter (where days_past_due($as_of, due_date) > 60), 0) as ar_over_60,
           coalesce(sum(open_amount) filter (where disputed), 0) as disputed_ar,
           count(*) filter (where picked(currency, $currencies)) as open_items_in_currencies
    from open_intervals
    where open_at(start_date, end_date, $as_of)
    group by customer_key
),
orders_open as (
    select customer_key, sum(amount_base) as open_orders,
           count(*) filter (where picked(currency, $currencies)) as open_orders_in_currencies
    from orders
    where order_open_at(order_date, $as_of)
    group by customer_key
)
select c.customer_key, c.customer_id, c.name, c.segment, c.region, c.credit_limit,
       c.risk_class as master_risk_class, c.external_score,
       coalesce(p.paid_docs, 0) as paid_docs,
       coalesce(o.open_docs, 0) as open_docs,
       p.paid_amount, p.paid_late_x_amount, p.recent_amount, p.recent_late_x_amount, p.prior_amount, p.prior_late_x_amount,
       o.open_late_amount, o.open_late_x_amount,
       coalesce(o.ar, 0) as ar,
       coalesce(o.ar_overdue, 0) as ar_overdue,
       coalesce(o.ar_over_60, 0) as ar_over_60,
       coalesce(o.disputed_ar, 0) as disputed_ar,
       coalesce(r.open_orders, 0) as open_orders,
       coalesce(o.ar, 0) + coalesce(r.open_orders, 0) as exposure
from customers c
left join paid p using (customer_key)
left join open_now o using (customer_key)
left join orders_open r using (customer_key)
where picked(c.segment, $segments) and picked(c.region, $regions)
  and open_in_currencies(o.open_items_in_currencies, r.open_orders_in_currencies, $currencies)
order by c.customer_key
