-- The invoices open at $as_of with a positive open amount (open(i, T) of ledger-contract.md), the
-- ones the late-payment prediction scores. Credit notes and overpaid items (open <= 0) are not.
-- Grain: one row per document open at $as_of with open_amount > 0 and amount_base > 0.
-- Parameters: $as_of (date).
select o.doc_key, o.open_amount
from open_intervals o
join invoices i using (doc_key)
where open_at(o.start_date, o.end_date, $as_of) and o.open_amount > 0 and i.amount_base > 0
order by o.doc_key
