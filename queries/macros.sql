-- Definitions every query shares, registered once per connection by dashboard/store/catalog.py
-- (open_snapshot), so a figure is written once in SQL as it is once in Python.
-- Grain: none (DuckDB macros, no rows). Parameters: none (each macro takes its own arguments).
-- The derive/ queries are run at ingest on a connection of their own without these macros: they
-- write the same predicates out (tests/test_macros.py checks they agree).

-- A selection filter: an empty list means "all".
CREATE OR REPLACE MACRO picked(v, choices) AS (len(choices) = 0 OR list_contains(choices, v));

-- open(i, T) of ledger-contract.md over open_intervals: the span [start_date, end_date) holds T.
CREATE OR REPLACE MACRO open_at(start_date, end_date, t) AS (start_date <= t AND end_date > t);

-- The span [start_date, end_date) is open on some day of [a, b] (open_at for some T in [a, b]): what a
-- window over several dates reads; on open_intervals (sorted by end_date) it also skips what closed before a.
CREATE OR REPLACE MACRO open_during(start_date, end_date, a, b) AS (start_date <= b AND end_date > a);

-- An order is open from its order_date on (kpis.md: orders in an extract are open by definition).
CREATE OR REPLACE MACRO order_open_at(order_date, t) AS (order_date <= t);

-- dpd(i, T) of kpis.md: days past due at T (<= 0: not yet due).
CREATE OR REPLACE MACRO days_past_due(t, due_date) AS (t::date - due_date);

-- Aging bucket at T: 0 = not due (dpd <= 0); k = dpd above the k-th of edges (ascending, first 0).
-- Every document falls in exactly one bucket, so the buckets add up to AR.
CREATE OR REPLACE MACRO aging_bucket(t, due_date, edges) AS
    len(list_filter(edges, lambda e: days_past_due(t, due_date) > e))::integer;

-- Credit limits (kpis.md "Credit exposure and limits"), as dashboard/metrics/limits.py defines them:
-- without a limit (null) a customer is never over it and has no utilisation or headroom; a limit of
-- 0 means no credit (any exposure above 0 is over it, utilisation is undefined).
CREATE OR REPLACE MACRO over_limit(exposure, credit_limit) AS coalesce(exposure > credit_limit, false);
CREATE OR REPLACE MACRO headroom(exposure, credit_limit) AS (credit_limit - exposure);
CREATE OR REPLACE MACRO utilisation(exposure, credit_limit) AS (CASE WHEN credit_limit > 0 THEN exposure / credit_limit END);
-- near_limit takes the share (limits.NEAR_LIMIT) from the caller: the constant has one home, in Python.
CREATE OR REPLACE MACRO near_limit(exposure, credit_limit, near) AS
    (coalesce(utilisation(exposure, credit_limit) > near, false) AND NOT over_limit(exposure, credit_limit));

-- The currency-of-origin filter on customers: with currencies chosen, a customer is in the selection
-- when it has something open at T in one of them (open_items documents, open_orders orders, counted
-- in those currencies); its exposure against its limit still counts every currency, as its credit
-- limit covers them all. Without a currency chosen every customer is in.
CREATE OR REPLACE MACRO open_in_currencies(open_items, open_orders, currencies) AS
    (len(currencies) = 0 OR coalesce(open_items, 0) + coalesce(open_orders, 0) > 0);
