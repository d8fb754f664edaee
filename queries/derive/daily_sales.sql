-- Sales by day, built once per snapshot: Sales(a, b) of kpis.md is a sum of these rows.
-- Grain: one row per invoice_date, segment, region and currency of origin.
-- Inputs (registered by the caller): invoices, customers.
select i.invoice_date as day, c.segment, c.region, i.currency,
       sum(i.amount_base) as sales,
       count(*) as documents
from invoices i
join customers c using (customer_key)
group by all
order by day
