-- Every document with amount > 0 and what the late-payment prediction (prediction.md) reads of it,
-- once per snapshot, by dashboard/prediction/features.py: the invoice's own facts known at its issue
-- (amount in base currency, terms, currency, the customer's segment, region and external score) and
-- its settlement day, from which the features take only what happened before each invoice date.
-- Settlement day as forecast/documents.sql: the first day the open amount is <= 0 (the end of the
-- last span with a positive open amount; the invoice date when never open above 0; null while open).
-- Credit notes (amount <= 0) are not invoices to predict and are left out. Currency, segment and region
-- come as codes (0, 1, ... in the order of prediction/categories.sql), so a million rows carry no strings:
-- each from a small table of codes (the currencies, the customers), not a window over every document (three
-- dense_rank() windows were three sorts of 10M rows, half the query's 20 s). Days come as day numbers
-- since 1970-01-01 (integers: no conversion of 10M dates on the way out).
-- Grain: one row per document with amount_base > 0, ordered by doc_key. Parameters: none.
with positive as (
    select doc_key, max(end_date) as last_positive_end
    from open_intervals
    where open_amount > 0
    group by doc_key
),
predicted as (
    select customer_key, currency from invoices where amount_base > 0
),
currency_codes as (
    select currency, row_number() over (order by currency asc nulls last) - 1 as code
    from (select distinct currency from predicted)
),
customer_codes as (
    select customer_key, external_score,
           dense_rank() over (order by segment asc nulls last) - 1 as segment,
           dense_rank() over (order by region asc nulls last) - 1 as region
    from customers
    where customer_key in (select distinct customer_key from predicted)
)
select i.doc_key, i.customer_key,
       i.invoice_date - DATE '1970-01-01' as invoice_day,
       i.due_date - DATE '1970-01-01' as due_day,
       i.amount_base, k.code as currency, c.segment, c.region, c.external_score,
       case
           when p.last_positive_end is null then i.invoice_date
           when p.last_positive_end = DATE '9999-12-31' then null
           else p.last_positive_end
       end - DATE '1970-01-01' as settle_day
from invoices i
join customer_codes c using (customer_key)
join currency_codes k on i.currency is not distinct from k.currency
left join positive p using (doc_key)
where i.amount_base > 0
order by i.doc_key
