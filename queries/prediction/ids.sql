-- The invoice and customer ids of the listed documents (the ranking carries doc keys only).
-- Grain: one row per doc_key of $doc_keys. Parameters: $doc_keys (list of doc keys).
select i.doc_key, i.invoice_id, c.customer_id
from invoices i
join customers c using (customer_key)
where list_contains($doc_keys::bigint[], i.doc_key)
