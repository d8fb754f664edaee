-- The backtest's actual cash-in (forecast.md): per backtest point M and horizon week k = 1..13
-- (days M + 7(k-1) + 1 .. M + 7k), the sum over the documents of the selection open at M with
-- open > 0 of their open amount at the week's start (end of day M + 7(k-1)) minus at its end
-- (end of day M + 7k).
-- Grain: one row per point and week (13 per point, 0 when nothing was paid).
-- Parameters: $points (month-end dates), $segments, $regions, $currencies (lists; empty = all).
with points as (
    select unnest($points::date[]) as m
),
open_at_m as (
    select p.m, o.doc_key
    from points p
    join open_intervals o on open_at(o.start_date, o.end_date, p.m)
    where o.open_amount > 0
      and picked(o.segment, $segments) and picked(o.region, $regions) and picked(o.currency, $currencies)
),
-- each span of those documents covers the week-ends j (day M + 7j, j = 0..13) with start <= M + 7j < end
spans as (
    select a.m, o.open_amount,
           (greatest(o.start_date - a.m, 0) + 6) // 7 as j_from,
           least(13, (o.end_date - a.m - 1) // 7) as j_to
    from open_at_m a
    join open_intervals o using (doc_key)
    where o.end_date > a.m and o.start_date <= a.m + 91
),
open_at_week_end as (
    select m, j, sum(open_amount) as open_amount
    from (select m, unnest(range(j_from, j_to + 1)) as j, open_amount from spans where j_from <= j_to)
    group by all
),
grid as (
    select p.m, k.week
    from points p cross join (select unnest(range(1, 14)) as week) k
)
select g.m as point, g.week::integer as week,
       coalesce(s.open_amount, 0) - coalesce(e.open_amount, 0) as actual
from grid g
left join open_at_week_end s on s.m = g.m and s.j = g.week - 1
left join open_at_week_end e on e.m = g.m and e.j = g.week
order by point, week
