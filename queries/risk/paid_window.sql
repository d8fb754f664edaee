-- Paid documents (amount > 0) settled in ($after, $upto], for the risk scorecard's lateness
-- windows (risk.md), from derive/paid_docs.sql. Dates as days since 1970-01-01.
-- Grain: one row per paid document. Parameters: $after, $upto (dates).
select (paid_date - DATE '1970-01-01')::integer as paid_day, customer_key, amount_base, days_late
from paid_docs
where paid_date > $after::date and paid_date <= $upto::date
