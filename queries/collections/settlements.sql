-- Settlements toward promises to pay (collections.md "Promises to pay"): of the given customers'
-- documents, each drop of a positive open amount dated in [$since, $as_of], i.e. each payment of
-- an invoice, and at its paid_date whatever remained open then (the spans of open_intervals, as
-- ledger-contract.md defines the open amount). Credit notes (open below 0) never count.
-- Grain: one row per document and date its open amount fell. Parameters: $customer_keys (list),
-- $since, $as_of.
-- A drop is the open amount of a span ending that day minus that of the document's span starting
-- the same day (a partial payment), or all of it when none starts (paid in full: open_intervals
-- keeps no zero span). Both sides are read by their dates first (the table is sorted by end_date).
with ending as (
    select doc_key, customer_key, end_date, open_amount
    from open_intervals
    where end_date between $since and $as_of and open_amount > 0
      and customer_key in (select unnest($customer_keys))  -- a hash semi-join, not a scan of the list per row
),
starting as (
    select doc_key, start_date, open_amount
    from open_intervals
    where open_during(start_date, end_date, $since, $as_of) and start_date >= $since
      and customer_key in (select unnest($customer_keys))
)
select e.customer_key, e.doc_key, e.end_date as settled_on,
       e.open_amount - coalesce(s.open_amount, 0) as settled
from ending e
left join starting s on s.doc_key = e.doc_key and s.start_date = e.end_date
