-- What a dunning run looks at (dunning.md "What is dunnable at T"): every document open at $as_of
-- with its open amount (base currency, credit notes and overpaid documents below 0), days past due
-- and ledger dispute flag. Which of them are dunned is decided in dashboard/dunning/proposal.py.
-- Grain: one row per document open at $as_of. Parameters: $as_of.
select i.invoice_id, o.doc_key, o.customer_key, c.customer_id, i.amount_base as amount, o.due_date,
       coalesce(o.disputed, false) as disputed, o.open_amount as open,
       days_past_due($as_of, o.due_date)::integer as dpd
from open_intervals o
join invoices i using (doc_key)
join customers c on c.customer_key = o.customer_key
where open_at(o.start_date, o.end_date, $as_of)
