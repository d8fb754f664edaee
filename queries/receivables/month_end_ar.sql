-- AR and current AR at each month-end, for trends.
-- Grain: one row per month-end.
-- Parameters: $segments, $regions, $currencies (lists; empty = all).
select month_end, sum(ar) as ar, sum(ar_current) as ar_current, sum(disputed_ar) as disputed_ar
from month_end_ar
where picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
group by all
order by month_end
