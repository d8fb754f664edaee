-- Settled documents by day of settlement, built once per snapshot, for the
-- payment-behaviour KPIs (adp, avg_days_late, on_time_rate) over any window.
-- Only documents with amount > 0 count (kpis.md).
-- Grain: one row per paid_date, segment, region and currency of origin.
-- Inputs (registered by the caller): invoices, customers.
select i.paid_date as day, c.segment, c.region, i.currency,
       sum(i.amount_base) as paid_amount,
       sum(i.amount_base * (i.paid_date - i.invoice_date)) as amount_x_days_to_pay,
       sum(i.amount_base * greatest(0, i.paid_date - i.due_date)) as amount_x_days_late,
       count(*) as paid_documents,
       count(*) filter (where i.paid_date <= i.due_date) as paid_on_time
from invoices i
join customers c using (customer_key)
where i.amount_base > 0 and i.paid_date is not null
group by all
order by day
