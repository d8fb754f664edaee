-- The names behind the codes of prediction/documents.sql: per feature (currency, segment, region) its values
-- over the same documents (amount > 0) in the same order (ascending, none last), code k = the k-th row.
-- Grain: one row per feature and value. Parameters: none.
with docs as (
    select i.currency, c.segment, c.region
    from invoices i
    join customers c using (customer_key)
    where i.amount_base > 0
)
select feature, value from (
    select distinct 'currency' as feature, currency as value from docs
    union all
    select distinct 'segment', segment from docs
    union all
    select distinct 'region', region from docs
)
order by feature, value asc nulls last
