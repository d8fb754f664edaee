-- The open documents behind an aging figure: drill-down from a bucket.
-- Grain: one row per document open at $as_of in the selection.
-- Parameters: $as_of, $edges, $bucket (-1 = every bucket), $segments,
--   $regions, $currencies (lists; empty = all), $limit (rows at most; null = every row).
with open_now as (
    select doc_key, open_amount, segment, region, due_date,
           days_past_due($as_of, due_date) as days_past_due,
           aging_bucket($as_of, due_date, $edges) as bucket
    from open_intervals
    where open_at(start_date, end_date, $as_of)
      and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
)
select i.invoice_id, c.customer_id, c.name as customer_name, o.segment, o.region,
       i.document_type, i.invoice_date, i.due_date, o.days_past_due, o.bucket,
       i.currency, i.amount as amount_original, o.open_amount as open_amount_base, i.disputed
from open_now o
join invoices i using (doc_key)
join customers c on c.customer_key = i.customer_key
where $bucket < 0 or o.bucket = $bucket
order by o.open_amount desc
limit $limit
