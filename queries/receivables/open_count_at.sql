-- How many open items (documents with something open) the selection has at $as_of: 0 means
-- every figure of the receivables pages is 0 there, and the pages say why.
-- Grain: one row. Parameters: $as_of, $segments, $regions, $currencies (lists; empty = all).
select count(*) as open_items
from open_intervals
where open_at(start_date, end_date, $as_of)
  and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
