-- What the worklist needs beyond the engine's per-customer positions (collections.md "Facts"):
-- the oldest open item's days past due and the disputed part of what is overdue, at $as_of.
-- Grain: one row per customer with something open at $as_of (all currencies: the worklist
-- collects a customer's whole account). Parameters: $as_of.
-- oldest_dpd: largest dpd among open documents with open > 0 (null when none is open > 0).
-- disputed_overdue: open amount of overdue documents flagged disputed in the ledger.
select customer_key,
       max(days_past_due($as_of, due_date)) filter (where open_amount > 0) as oldest_dpd,
       coalesce(sum(open_amount) filter (where disputed and days_past_due($as_of, due_date) > 0), 0) as disputed_overdue
from open_intervals
where open_at(start_date, end_date, $as_of)
group by customer_key
