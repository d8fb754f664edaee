-- The documents named by dispute cases, with their open amount at $as_of (ledger-contract.md).
-- Grain: one row per given invoice id found in the snapshot. Parameters: $invoice_ids (list), $as_of.
with open_now as (
    select doc_key, open_amount
    from open_intervals
    where open_at(start_date, end_date, $as_of)
)
select i.invoice_id, i.doc_key, c.customer_id, i.customer_key, i.invoice_date, i.due_date, i.disputed,
       coalesce(o.open_amount, 0) as open_amount
from invoices i
join customers c on c.customer_key = i.customer_key
left join open_now o using (doc_key)
where i.invoice_id in (select unnest($invoice_ids))
