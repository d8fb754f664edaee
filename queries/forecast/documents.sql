-- Every document of the snapshot with its settlement day (forecast.md), read once per snapshot
-- by dashboard/forecast/history.py: the forecast's pools and the backtest's baselines are drawn from it.
-- A document's settlement day is the first day its open amount is <= 0: the earlier of its paid_date
-- and the day its payments reached its amount. Open amounts fall with each payment (payments are
-- positive), so that is the end of its last span with a positive open amount in open_intervals; a
-- document never open above 0 (paid in full on its invoice date) settles on its invoice date, one
-- whose last positive span never ends (9999-12-31) is still open. Credit notes (amount <= 0) have none.
-- Grain: one row per document, ordered by doc_key. Parameters: none.
with positive as (
    select doc_key, max(end_date) as last_positive_end
    from open_intervals
    where open_amount > 0
    group by doc_key
)
select i.doc_key, i.customer_key, i.invoice_date, i.due_date, i.amount_base,
       case
           when i.amount_base <= 0 then null
           when p.last_positive_end is null then i.invoice_date
           when p.last_positive_end = DATE '9999-12-31' then null
           else p.last_positive_end
       end as settle_day
from invoices i
left join positive p using (doc_key)
order by i.doc_key
