-- Documents named in earlier issued letters, looked up by invoice id (a document paid since is no
-- longer open at T but may still carry unclaimed interest, dunning.md). Open at $as_of: 0 when closed.
-- Grain: one row per invoice id found. Parameters: $invoice_ids (list), $as_of.
select i.invoice_id, i.doc_key, i.customer_key, c.customer_id, i.amount_base as amount, i.due_date,
       coalesce(i.disputed, false) as disputed,
       coalesce((select sum(o.open_amount) from open_intervals o
                 where o.doc_key = i.doc_key and open_at(o.start_date, o.end_date, $as_of)), 0) as open,
       days_past_due($as_of, i.due_date)::integer as dpd
from invoices i
join customers c using (customer_key)
where i.invoice_id in (select unnest($invoice_ids))
