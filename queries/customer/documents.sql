-- Every document of one customer issued by $as_of, with what is open of it at $as_of
-- (the customer page: open items, aging, payment history, disputes).
-- Grain: one row per document. Parameters: $customer_key, $as_of, $edges (aging edges).
-- days_late: paid documents only (paid_date - due_date, signed: negative = early).
-- bucket: macro aging_bucket, as in aging_at.sql (0 = not due; k = dpd above the k-th of $edges).
select i.invoice_id, i.document_type, i.invoice_date, i.due_date, i.currency,
       i.amount as amount_original, i.amount_base, i.disputed,
       case when i.paid_date <= $as_of then i.paid_date end as paid_date,
       case when i.paid_date <= $as_of then i.paid_date - i.due_date end as days_late,
       coalesce(o.open_amount, 0) as open_amount_base,
       days_past_due($as_of, i.due_date) as days_past_due,
       aging_bucket($as_of, i.due_date, $edges) as bucket
from invoices i
left join open_intervals o
       on o.doc_key = i.doc_key and open_at(o.start_date, o.end_date, $as_of)
where i.customer_key = $customer_key and i.invoice_date <= $as_of
order by i.invoice_date desc, i.invoice_id
