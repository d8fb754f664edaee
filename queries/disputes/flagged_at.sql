-- Documents flagged disputed in the ledger and open at $as_of (the candidates for "unmanaged
-- disputes" of disputes.md, and the flag side of disputed_ar). Grain: one row per document.
-- Parameters: $as_of.
select i.invoice_id, i.doc_key, c.customer_id, c.name, i.invoice_date, i.due_date,
       days_past_due($as_of, i.due_date) as days_past_due, o.open_amount
from open_intervals o
join invoices i using (doc_key)
join customers c on c.customer_key = i.customer_key
where open_at(o.start_date, o.end_date, $as_of) and o.disputed
order by o.open_amount desc, i.invoice_id
