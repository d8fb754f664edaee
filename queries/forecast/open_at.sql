-- The documents of the selection open at each of $dates (open(i, T) <> 0, ledger-contract.md), for the
-- forecast at T and at each backtest point in one scan: open > 0 is spread over the weeks, open < 0
-- (credit notes, overpayments) is shown apart.
-- Grain: one row per date and document open then.
-- Parameters: $dates (dates), $segments, $regions, $currencies (lists; empty = all).
with dates as (
    select unnest($dates::date[]) as as_of
)
select d.as_of, o.doc_key, o.customer_key, o.segment, o.due_date, o.open_amount
from dates d
join open_intervals o on open_at(o.start_date, o.end_date, d.as_of)
where picked(o.segment, $segments) and picked(o.region, $regions) and picked(o.currency, $currencies)
