-- The backtest's actual cash-in (forecast.md): per backtest point M and horizon week k = 1..13
-- (days M + 7(k-1) + 1 .. M + 7k), the sum over the documents of the selection open at M with
-- open > 0 of their open amount at the week's start (end of day M + 7(k-1)) minus at its end
-- (end of day M + 7k). Written as steps: a span of open_intervals that ends in week k was paid
-- off then (+ its amount), one that starts in week k is what stayed open (- its amount); a span
-- inside the week adds nothing, as the definition says. Only spans that end after the first
-- point and start before the last point's horizon are read (open_intervals is sorted by end_date).
-- Grain: one row per point and week (13 per point, 0 when nothing was paid).
-- Parameters: $points (month-end dates), $segments, $regions, $currencies (lists; empty = all).
with points as (
    select unnest($points::date[]) as m
),
recent as (
    select doc_key, start_date, end_date, open_amount
    from open_intervals
    where open_during(start_date, end_date, (select min(m) from points), (select max(m) from points) + 91)
      and picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
),
open_at_m as (
    select p.m, r.doc_key
    from points p
    join recent r on open_at(r.start_date, r.end_date, p.m)
    where r.open_amount > 0
),
-- each span of those documents, its start and end in days after M
spans as (
    select a.m, o.start_date - a.m as starts, o.end_date - a.m as ends, o.open_amount
    from open_at_m a
    join recent o using (doc_key)
),
steps as (
    select m, (ends + 6) // 7 as week, open_amount as paid from spans where ends > 0 and ends <= 91
    union all
    select m, (starts + 6) // 7 as week, -open_amount as paid from spans where starts > 0 and starts <= 91
),
by_week as (
    select m, week, sum(paid) as actual from steps group by all
),
grid as (
    select p.m, k.week
    from points p cross join (select unnest(range(1, 14)) as week) k
)
select g.m as point, g.week::integer as week, coalesce(b.actual, 0) as actual
from grid g
left join by_week b on b.m = g.m and b.week = g.week
order by point, week
