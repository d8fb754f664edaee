-- Late-payment interest accrued to $as_of (dunning.md "Interest"): daily simple interest on the open
-- amount at the end of each day d in (due_date, $as_of], at the rate of d's period:
--     accrued = sum over d of max(open(i, d), 0) * rate(d) / 100 / 365
-- Spans of open_intervals hold open(i, d) for start_date <= d < end_date; rate periods are the
-- half-years (or one period for a fixed rate) given as parallel lists, each [p_start, p_end]
-- inclusive with its annual rate in percent. Each span x period contributes its overlap in days.
-- Grain: one row per given document (0 when nothing accrued). Parameters: $doc_keys (list),
-- $p_starts, $p_ends, $p_rates (lists of equal length), $as_of.
with docs as (
    select unnest($doc_keys) as doc_key
),
periods as (
    select unnest($p_starts)::date as p_start, unnest($p_ends)::date as p_end, unnest($p_rates)::double as rate
),
spans as (
    select o.doc_key, o.due_date, o.start_date, o.end_date, greatest(o.open_amount, 0) as open_amount
    from open_intervals o
    where o.doc_key in (select doc_key from docs) and o.open_amount > 0
      and open_during(o.start_date, o.end_date, o.due_date + 1, $as_of)
),
pieces as (
    select s.doc_key, s.open_amount, p.rate,
           greatest(s.due_date + 1, s.start_date, p.p_start) as lo,
           least($as_of::date, s.end_date - 1, p.p_end) as hi
    from spans s
    join periods p on p.p_start <= least($as_of::date, s.end_date - 1) and p.p_end >= greatest(s.due_date + 1, s.start_date)
)
select d.doc_key,
       coalesce(sum(o.open_amount * o.rate / 100.0 * greatest(o.hi - o.lo + 1, 0) / 365.0), 0)::double as accrued
from docs d
left join pieces o using (doc_key)
group by d.doc_key
