-- Per-customer baseline of the what-if model (../shared/spec/whatif.md), at $as_of.
-- Grain: one row per customer (every customer, also those without sales).
--   sales_window: Sales_c(T-P+1, T); terms_days: amount-weighted mean of
--   due_date - invoice_date over documents with amount > 0 issued in the window;
--   late_own: amount-weighted mean of paid_date - due_date (signed) over
--   documents with amount > 0 paid in the 365 days ending T (null when none);
--   late_segment: the same mean over the customer's segment; ar: AR_c(T).
-- Parameters: $as_of, $window_days (P).
with win as (
    select customer_key,
           sum(amount_base) as sales_window,
           sum(amount_base * (due_date - invoice_date)) filter (where amount_base > 0) as terms_x,
           sum(amount_base) filter (where amount_base > 0) as positive_sales
    from invoices
    where invoice_date between $as_of::date - ($window_days - 1) and $as_of::date
    group by customer_key
),
paid as (
    select i.customer_key, c.segment,
           sum(i.amount_base * (i.paid_date - i.due_date)) as late_x,
           sum(i.amount_base) as paid_amount
    from invoices i join customers c using (customer_key)
    where i.amount_base > 0 and i.paid_date between $as_of::date - 364 and $as_of::date
    group by all
),
seg as (
    select segment, sum(late_x) / sum(paid_amount) as late_segment
    from paid group by segment having sum(paid_amount) > 0
),
ar as (
    select customer_key, sum(open_amount) as ar
    from open_intervals
    where open_at(start_date, end_date, $as_of)
    group by customer_key
)
select c.customer_key, c.customer_id, c.name, c.segment, c.region, c.risk_class, c.credit_limit,
       coalesce(w.sales_window, 0) as sales_window,
       w.terms_x / w.positive_sales as terms_days,
       case when p.paid_amount > 0 then p.late_x / p.paid_amount end as late_own,
       s.late_segment,
       coalesce(a.ar, 0) as ar
from customers c
left join win w using (customer_key)
left join paid p using (customer_key)
left join seg s on s.segment = c.segment
left join ar a using (customer_key)
order by c.customer_key
