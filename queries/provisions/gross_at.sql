-- The gross carrying amount of trade receivables at $as_of by segment and aging bucket
-- (provisions.md): documents with open > 0 only, credit notes excluded.
-- Grain: one row per segment and bucket. Parameters: $as_of (date), $edges (ascending, first 0),
--   $segments, $regions, $currencies (lists; empty = all).
select segment,
       aging_bucket($as_of, due_date, $edges) as bucket,
       sum(open_amount) as gross,
       count(*) as documents
from open_intervals
where open_at(start_date, end_date, $as_of) and open_amount > 0
  and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
group by all
order by segment, bucket
