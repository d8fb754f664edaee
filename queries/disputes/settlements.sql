-- Settlements of the documents of dispute cases (disputes.md "paid"): each drop of a positive open
-- amount of the given documents dated in [$since, $as_of], as collections/settlements.sql reads it
-- from open_intervals (a partial payment: the span ending that day minus the one starting then; paid
-- in full: all of what was open). Grain: one row per document and date its open amount fell.
-- Parameters: $doc_keys (list), $since, $as_of.
with ending as (
    select doc_key, end_date, open_amount
    from open_intervals
    where end_date between $since and $as_of and open_amount > 0
      and doc_key in (select unnest($doc_keys))
),
starting as (
    select doc_key, start_date, open_amount
    from open_intervals
    where open_during(start_date, end_date, $since, $as_of) and start_date >= $since
      and doc_key in (select unnest($doc_keys))
)
select e.doc_key, e.end_date as settled_on, e.open_amount - coalesce(s.open_amount, 0) as settled
from ending e
left join starting s on s.doc_key = e.doc_key and s.start_date = e.end_date
