-- The spans open at $as_of, for an engine that reads the snapshot's files per call (a short-lived
-- CLI process) instead of holding every span (open_spans.sql; the same columns and order).
-- The filter skips the row groups of spans closed before $as_of (the table is sorted by end_date).
-- Grain: one row per span open at $as_of. Parameters: $as_of.
select (start_date - DATE '1970-01-01')::integer as start_day,
       (end_date - DATE '1970-01-01')::integer as end_day,
       (due_date - DATE '1970-01-01')::integer as due_day,
       open_amount, disputed, customer_key, segment, region, currency
from open_intervals
where open_at(start_date, end_date, $as_of)
