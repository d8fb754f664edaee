-- Roll to default (provisions.md): what was open in each aging bucket at past month-ends, and how
-- much of it was still unpaid when it defaulted, over the documents whose outcome is known at $as_of.
-- A document defaults when it is still open $default_dpd days past due; the ledger carries no
-- write-offs, so its loss is what was open then: min(open(i, M), open(i, due_date + $default_dpd)),
-- never below 0 (an overpaid document lost nothing).
-- Grain: one row per month-end, segment and bucket (macro aging_bucket at M: 0 = not due; k holds
-- dpd above the k-th of $edges).
-- Parameters: $month_ends (dates), $as_of (date), $default_dpd (days), $edges (ascending, first 0),
--   $segments, $regions, $currencies (lists; empty = all).
with month_ends as (
    select unnest($month_ends::date[]) as m
),
open_at_m as (
    select me.m, o.doc_key, o.segment, o.due_date, o.open_amount,
           aging_bucket(me.m, o.due_date, $edges) as bucket
    from month_ends me
    join open_intervals o on open_at(o.start_date, o.end_date, me.m)
    where o.open_amount > 0
      and o.due_date + $default_dpd::integer <= $as_of::date
      and picked(o.segment, $segments) and picked(o.region, $regions) and picked(o.currency, $currencies)
),
at_default as (
    select a.m, a.doc_key, a.segment, a.bucket, a.open_amount,
           coalesce(d.open_amount, 0) as open_at_default
    from open_at_m a
    left join open_intervals d
      on d.doc_key = a.doc_key and open_at(d.start_date, d.end_date, a.due_date + $default_dpd::integer)
)
select m as month_end, segment, bucket,
       sum(open_amount) as open_amount,
       sum(greatest(least(open_amount, open_at_default), 0)) as unpaid_at_default,
       count(*) as documents
from at_default
group by all
order by month_end, segment, bucket
