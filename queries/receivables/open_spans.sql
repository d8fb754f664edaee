-- Every open span of the snapshot as the engine's per-date path holds it in memory
-- (dashboard/metrics/positions.py): dates as days since 1970-01-01, in the table's order
-- (derive/open_intervals.sql sorts by end_date, so the spans open at any T are found by a
-- binary search for those closing after T, then those started by T).
-- Grain: one row per span of open_intervals. Parameters: none.
select (start_date - DATE '1970-01-01')::integer as start_day,
       (end_date - DATE '1970-01-01')::integer as end_day,
       (due_date - DATE '1970-01-01')::integer as due_day,
       open_amount, disputed, customer_key, segment, region, currency
from open_intervals
