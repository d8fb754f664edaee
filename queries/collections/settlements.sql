-- Settlements toward promises to pay (collections.md "Promises to pay"): of the given customers'
-- documents with amount > 0, each drop of the open amount dated in [$since, $as_of], i.e. each
-- payment, and at paid_date whatever remained open then (the spans of open_intervals, as
-- ledger-contract.md defines the open amount).
-- Grain: one row per document and date its open amount fell. Parameters: $customer_keys (list),
-- $since, $as_of.
-- A document counts as amount > 0 when it opened with a positive open amount (its first span);
-- a drop is the span's open amount minus the next span's when that one starts where it ends
-- (a partial payment), else all of it (paid in full; open_intervals keeps no zero span).
with spans as (
    select doc_key, customer_key, start_date, end_date, open_amount,
           lead(start_date) over w as next_start,
           lead(open_amount) over w as next_open,
           first_value(open_amount) over w as first_open
    from open_intervals
    where list_contains($customer_keys, customer_key)
    window w as (partition by doc_key order by start_date)
)
select customer_key, doc_key, end_date as settled_on,
       open_amount - case when next_start = end_date then next_open else 0 end as settled
from spans
where first_open > 0 and end_date >= $since and end_date <= $as_of
