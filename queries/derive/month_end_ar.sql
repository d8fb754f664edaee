-- AR at every month-end of the ledger, built once per snapshot so that
-- 12-month trends read a few hundred rows instead of rescanning documents.
-- Same definition as aging_at.sql: open at m = spans with start_date <= m < end_date;
-- current = not yet due at m (due_date >= m). Written out, not with the macros open_at and
-- days_past_due of macros.sql: ingest runs derive/ on a connection without them.
-- Grain: one row per month-end, segment, region and currency of origin.
-- Parameters: $first_month, $last_month (any day in the first and last month).
-- Inputs: open_intervals.
with month_ends as (
    select last_day(d)::date as month_end
    from range(date_trunc('month', $first_month::date), date_trunc('month', $last_month::date) + interval 1 month, interval 1 month) t(d)
)
select m.month_end, o.segment, o.region, o.currency,
       sum(o.open_amount) as ar,
       coalesce(sum(o.open_amount) filter (where o.due_date >= m.month_end), 0) as ar_current,
       coalesce(sum(o.open_amount) filter (where o.disputed), 0) as disputed_ar
from month_ends m
join open_intervals o on o.start_date <= m.month_end and o.end_date > m.month_end
group by all
order by m.month_end
