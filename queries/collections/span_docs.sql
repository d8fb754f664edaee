-- The document of every open span, in the table's order (the order receivables/open_spans.sql
-- reads them in, with the span's days to check that the two line up): what the per-date path
-- needs to find a document's next span for the settlements of promises (settlements.sql).
-- Grain: one row per span of open_intervals. Parameters: none.
select doc_key,
       (start_date - DATE '1970-01-01')::integer as start_day,
       (end_date - DATE '1970-01-01')::integer as end_day
from open_intervals
