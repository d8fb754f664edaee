-- Backtest events (risk.md "Measured skill"): customers with an amount more than
-- 60 days past due at any of the given month-ends.
-- Grain: one row per customer with an event.
-- Parameters: $month_ends (list of dates: the month-ends in (T-90, T]).
select distinct customer_key
from (
    select o.customer_key, m.month_end
    from (select unnest($month_ends::date[]) as month_end) m
    join open_intervals o on open_at(o.start_date, o.end_date, m.month_end)
    where days_past_due(m.month_end, o.due_date) > 60
    group by all
    having sum(o.open_amount) > 0.005
)
