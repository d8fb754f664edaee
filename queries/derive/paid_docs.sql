-- Paid documents by payment date, built once per snapshot, for the risk scorecard's
-- lateness windows (risk.md): sorted by paid_date so that a window ending at any T
-- reads only the row groups of its dates (a third of a three-year ledger).
-- Grain: one row per document with amount > 0 and a paid_date.
-- Inputs: invoices.
select customer_key, paid_date, amount_base,
       greatest(0, paid_date - due_date)::integer as days_late
from invoices
where amount_base > 0 and paid_date is not null
order by paid_date
