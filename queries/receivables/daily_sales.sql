-- Sales by day and segment for the selection; every Sales(a, b) window of
-- kpis.md (DSO, countback months, CEI) is a sum over these rows.
-- Grain: one row per day and segment with sales.
-- Parameters: $segments, $regions, $currencies (lists; empty = all).
select day, segment, sum(sales) as sales
from daily_sales
where picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
group by all
order by day
