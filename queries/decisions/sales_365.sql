-- The ledger side of a limit proposal (credit-decisions.md "Limit proposal"), at $as_of.
-- Grain: one row per customer (every customer of the snapshot).
--   sales_365: Sales_c(T-364, T), the amount of the documents issued in the 365 days to T (credit notes
--   net, so it may be negative: the caller takes 0 then); terms_days: amount-weighted mean of
--   due_date - invoice_date over those documents with amount > 0 (null when none);
--   master_terms_days: the master's payment_terms_days. Parameters: $as_of.
with win as (
    select customer_key,
           sum(amount_base) as sales_365,
           sum(amount_base * (due_date - invoice_date)) filter (where amount_base > 0) as terms_x,
           sum(amount_base) filter (where amount_base > 0) as positive_sales
    from invoices
    where invoice_date between $as_of::date - 364 and $as_of::date
    group by customer_key
)
select c.customer_key, c.customer_id, c.name, c.credit_limit as master_limit, c.payment_terms_days as master_terms_days,
       coalesce(w.sales_365, 0) as sales_365,
       case when w.positive_sales > 0 then w.terms_x / w.positive_sales end as terms_days
from customers c
left join win w using (customer_key)
order by c.customer_key
