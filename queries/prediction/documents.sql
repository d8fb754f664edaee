-- Every document with amount > 0 and what the late-payment prediction (prediction.md) reads of it,
-- once per snapshot, by dashboard/prediction/features.py: the invoice's own facts known at its issue
-- (amount in base currency, terms, currency, the customer's segment, region and external score) and
-- its settlement day, from which the features take only what happened before each invoice date.
-- Settlement day as forecast/documents.sql: the first day the open amount is <= 0 (the end of the
-- last span with a positive open amount; the invoice date when never open above 0; null while open).
-- Credit notes (amount <= 0) are not invoices to predict and are left out. Currency, segment and region
-- come as codes (0, 1, ... in the order of prediction/categories.sql), so a million rows carry no strings.
-- Grain: one row per document with amount_base > 0, ordered by doc_key. Parameters: none.
with positive as (
    select doc_key, max(end_date) as last_positive_end
    from open_intervals
    where open_amount > 0
    group by doc_key
)
select i.doc_key, i.customer_key, i.invoice_date, i.due_date, i.amount_base,
       dense_rank() over (order by i.currency asc nulls last) - 1 as currency,
       dense_rank() over (order by c.segment asc nulls last) - 1 as segment,
       dense_rank() over (order by c.region asc nulls last) - 1 as region,
       c.external_score,
       case
           when p.last_positive_end is null then i.invoice_date
           when p.last_positive_end = DATE '9999-12-31' then null
           else p.last_positive_end
       end as settle_day
from invoices i
join customers c using (customer_key)
left join positive p using (doc_key)
where i.amount_base > 0
order by i.doc_key
