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
-- the outcome: what each document whose default day is on or before T still had open that day (no span: 0)
at_default as (
    select doc_key, open_amount as open_at_default
    from open_intervals
    where due_date + $default_dpd::integer <= $as_of::date
      and open_at(start_date, end_date, due_date + $default_dpd::integer)
),
-- the spans with open > 0 of those documents, each with its document's loss: min(open in the span, open at default)
spans as (
    select o.segment, o.due_date, o.start_date, o.end_date, o.open_amount,
           greatest(least(o.open_amount, coalesce(d.open_at_default, 0)), 0) as unpaid_at_default
    from open_intervals o
    left join at_default d using (doc_key)
    where o.open_amount > 0
      and open_during(o.start_date, o.end_date, (select min(m) from month_ends), (select max(m) from month_ends))  -- skips what closed before
      and o.due_date + $default_dpd::integer <= $as_of::date
      and picked(o.segment, $segments) and picked(o.region, $regions) and picked(o.currency, $currencies)
),
-- summed by due date before the bucket is worked out (the bucket depends only on M and the due date)
by_due_date as (
    select me.m, s.segment, s.due_date,
           sum(s.open_amount) as open_amount, sum(s.unpaid_at_default) as unpaid_at_default, count(*) as documents
    from month_ends me
    join spans s on open_at(s.start_date, s.end_date, me.m)
    group by all
)
select m as month_end, segment, aging_bucket(m, due_date, $edges) as bucket,
       sum(open_amount) as open_amount,
       sum(unpaid_at_default) as unpaid_at_default,
       sum(documents)::bigint as documents
from by_due_date
group by all
order by month_end, segment, bucket
