-- AR, current AR and disputed AR at $as_of (kpis.md building blocks), as three sums:
-- for an as-of date that is not a month-end (those come from month_end_ar).
-- Grain: one row. Parameters: $as_of, $segments, $regions, $currencies (lists; empty = all).
select coalesce(sum(open_amount), 0) as ar,
       coalesce(sum(open_amount) filter (where days_past_due($as_of, due_date) <= 0), 0) as ar_current,
       coalesce(sum(open_amount) filter (where disputed), 0) as disputed_ar
from open_intervals
where open_at(start_date, end_date, $as_of)
  and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
