-- Settled documents (amount > 0) by day of settlement for the selection;
-- payment-behaviour KPIs over any window are sums over these rows.
-- Grain: one row per paid day.
-- Parameters: $segments, $regions, $currencies (lists; empty = all).
select day,
       sum(paid_amount) as paid_amount,
       sum(amount_x_days_to_pay) as amount_x_days_to_pay,
       sum(amount_x_days_late) as amount_x_days_late,
       sum(paid_documents)::bigint as paid_documents,
       sum(paid_on_time)::bigint as paid_on_time
from daily_paid
where picked(segment, $segments) and picked(region, $regions) and picked(currency, $currencies)
group by all
order by day
