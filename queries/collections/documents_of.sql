-- The documents named by promises to pay: invoice id -> the snapshot's document and customer.
-- Grain: one row per named invoice id found in the snapshot. Parameters: $invoice_ids (list).
select invoice_id, doc_key, customer_key
from invoices
where invoice_id in (select unnest($invoice_ids))
