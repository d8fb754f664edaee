-- Open receivables at $as_of by segment, region and aging bucket.
-- Grain: one row per segment, region and bucket (macro aging_bucket: 0 = not due; bucket k
-- holds dpd above the k-th of $edges). Sums add up to AR($as_of) exactly.
-- Parameters: $as_of (date), $edges (ascending day edges, first 0),
--   $segments, $regions, $currencies (lists; empty = all).
with open_now as (
    select segment, region, due_date,
           sum(open_amount) as ar,
           coalesce(sum(open_amount) filter (where disputed), 0) as disputed_ar,
           count(*) as documents
    from open_intervals
    where open_at(start_date, end_date, $as_of)
      and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
    group by all
)
select segment, region,
       aging_bucket($as_of, due_date, $edges) as bucket,
       sum(ar) as ar,
       sum(disputed_ar) as disputed_ar,
       sum(documents)::bigint as documents
from open_now
group by all
order by segment, region, bucket
