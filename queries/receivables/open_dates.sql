-- The dates with open items in the selection, up to $last_day (the snapshot's as-of date):
-- first_open = the first day a document was open, latest_open = the latest day on or before
-- $last_day with one open (a span [start_date, end_date) is open up to end_date - 1).
-- Both null when no document of the selection was ever open. Reads every span (the pages ask
-- only when nothing is open at their date: open_count_at.sql).
-- Grain: one row. Parameters: $last_day, $segments, $regions, $currencies (lists; empty = all).
select min(start_date) as first_open,
       max(least(end_date - 1, $last_day::date)) as latest_open
from open_intervals
where start_date <= $last_day
  and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
