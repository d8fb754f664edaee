"""The effective limit in every figure (credit-decisions.md "The effective limit").

An approved limit decision overrides the ERP master's `credit_limit`: exposure, utilisation, the
over-limit lists and counts, the risk scorecard's utilisation, the at-risk list, the what-if
baseline, held orders and the worklist all read the snapshot's `customers` table, so the override
is made there, once, when an engine is opened: `customers` then carries the effective limit as
`credit_limit` and the ERP's own stays in `customers_master` (the "limits to reconcile" list and
the effective-limit rule read it). The limit in force is the one at the snapshot's as-of date,
as the master limit is one value per snapshot too (README "Decisions").
"""

from __future__ import annotations

import polars as pl

from dashboard.decisions.recorded import may_have_decisions as may_have_decisions  # its home before; tests import it here
from dashboard.metrics.kpis import Engine
from dashboard.workbench.store import Store

MASTER_TABLE = "customers_master"


def workbench_version(store: Store) -> str:
    """Changes whenever a limit request or a dispute case is recorded, decided, moved or withdrawn, or a held
    order is released or rejected (the pages reopen their engine then); NO_DECISIONS on a store with none."""
    import sqlalchemy as sa

    from dashboard.workbench.schema import dispute_cases, dispute_history, hold_decisions, limit_requests

    with store.read() as conn:  # on every page run: no write lock (SQLite), so it never queues behind a writer
        parts = []
        for t in (limit_requests, dispute_cases):
            n, v = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.c.version), 0))).one()
            parts.append(f"{n}.{v}")
        parts.append(str(conn.execute(sa.select(sa.func.count()).select_from(dispute_history)).scalar_one()))
        parts.append(str(conn.execute(sa.select(sa.func.count()).select_from(hold_decisions)).scalar_one()))  # append-only
    return "|".join(parts)


NO_DECISIONS = "0.0|0.0|0|0"
ORDER_DECISIONS_TABLE = "order_decisions"


def apply_workbench(eng: Engine, store: Store) -> None:
    """The team's decisions in every figure of a freshly opened engine: effective limits, dispute cases and the
    decisions on held orders."""
    apply_effective_limits(eng, store)
    apply_dispute_cases(eng, store)
    apply_hold_decisions(eng, store)


def apply_hold_decisions(eng: Engine, store: Store) -> int:
    """Copy the decisions on held orders (releases and rejections, with their dates) into the engine, for the what-if
    baseline (dashboard/whatif/model.py), which reads them at its own as-of date by the held orders' rule
    (holds.decisions_at); the number of decisions."""
    from dashboard.decisions.holds import decisions

    d = decisions(store)
    if d.height == 0:
        return 0
    con = eng.con
    con.register("_order_decisions", d.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {ORDER_DECISIONS_TABLE} AS SELECT * FROM _order_decisions").fetchall()
    finally:
        con.unregister("_order_decisions")
    return d.height


def order_decisions(eng: Engine) -> pl.DataFrame:
    """The decisions on held orders an engine was opened with (holds.DECISIONS_SCHEMA; empty when none)."""
    from dashboard.decisions.holds import DECISIONS_SCHEMA

    cur = eng.con.cursor()
    if cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [ORDER_DECISIONS_TABLE]).fetchall()[0][0] == 0:
        return pl.DataFrame(schema=DECISIONS_SCHEMA)
    return cur.sql(f"SELECT {', '.join(DECISIONS_SCHEMA)} FROM {ORDER_DECISIONS_TABLE} ORDER BY decision_id").pl().cast(DECISIONS_SCHEMA)


def apply_dispute_cases(eng: Engine, store: Store) -> int:
    """A document under a dispute case open at the snapshot's as-of date counts as disputed wherever the ledger's
    flag does (disputed_ar, aging, the risk scorecard's dispute factor, the worklist, dunning), as the flag is one
    value per snapshot too; the number of documents added."""
    import pyarrow as pa

    from dashboard.disputes.amounts import in_open_cases

    ids = in_open_cases(eng, store, eng.as_of)
    if not ids:
        return 0
    con = eng.con
    con.register("_case_invoices", pa.table({"invoice_id": pa.array(ids, pa.string())}))
    try:
        con.execute("CREATE TABLE case_docs AS SELECT doc_key FROM invoices WHERE invoice_id IN (SELECT invoice_id FROM _case_invoices)").fetchall()
    finally:
        con.unregister("_case_invoices")
    for name in ("invoices", "open_intervals"):
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
        con.execute(f"ALTER {'VIEW' if kind and kind[0][0] == 'VIEW' else 'TABLE'} {name} RENAME TO {name}_ledger").fetchall()
        con.execute(
            f"CREATE VIEW {name} AS SELECT * REPLACE (coalesce(disputed, false) OR doc_key IN (SELECT doc_key FROM case_docs) AS disputed) FROM {name}_ledger"
        ).fetchall()
    return len(ids)


def apply_effective_limits(eng: Engine, store: Store) -> int:
    """Make the engine's `customers` carry each customer's effective limit; the number of customers whose limit
    differs from the master's. Call it on a freshly opened engine, before anything is computed on it."""
    from dashboard.decisions.limits import effective_limits

    eff = effective_limits(store, eng, eng.as_of)
    differs = eff.filter(
        (pl.col("effective_limit").is_null() != pl.col("master_limit").is_null()) | ((pl.col("effective_limit") - pl.col("master_limit")).abs() > 0.005)
    )
    if differs.height == 0:
        return 0
    con = eng.con
    con.register("_effective_limits", eff.select("customer_id", "effective_limit").to_arrow())
    try:
        con.execute(f"CREATE TABLE {MASTER_TABLE} AS SELECT * FROM customers").fetchall()
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'customers'").fetchall()
        con.execute("DROP VIEW customers" if kind and kind[0][0] == "VIEW" else "DROP TABLE customers")
        con.execute(
            f"""CREATE TABLE customers AS
                SELECT m.* REPLACE (CAST(e.effective_limit AS DOUBLE) AS credit_limit)
                FROM {MASTER_TABLE} m LEFT JOIN _effective_limits e USING (customer_id)
                ORDER BY m.customer_key"""
        )
    finally:
        con.unregister("_effective_limits")
    return differs.height


def has_master_table(eng: Engine) -> bool:
    # fetchall: a result left half-read would block the connection's next statement
    return eng.con.cursor().execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [MASTER_TABLE]).fetchall()[0][0] > 0
