-- The documents of the selection open at $as_of (open(i, T) <> 0, ledger-contract.md), for the
-- forecast: open > 0 is spread over the weeks, open < 0 (credit notes, overpayments) is shown apart.
-- Grain: one row per open document. Parameters: $as_of (date), $segments, $regions, $currencies
-- (lists; empty = all).
select doc_key, customer_key, segment, due_date, open_amount
from open_intervals
where open_at(start_date, end_date, $as_of)
  and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
