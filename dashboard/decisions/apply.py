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

import sqlite3
from pathlib import Path

import polars as pl

from dashboard.metrics.kpis import Engine
from dashboard.workbench.store import Store

MASTER_TABLE = "customers_master"


def limits_version(store: Store) -> str:
    """Changes whenever a limit request is recorded, decided or withdrawn (the pages reopen their engine then)."""
    import sqlalchemy as sa

    from dashboard.workbench.schema import limit_requests as r

    with store.begin() as conn:
        n, v, last = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(r.c.version), 0), sa.func.coalesce(sa.func.max(r.c.request_id), 0))
        ).one()
    return f"{n}.{v}.{last}"


def may_have_decisions(data_root: Path, db_url: str | None) -> bool:
    """False only when the embedded store surely holds no approved limit: lets a short command (`o2c kpis`)
    skip opening the store (SQLAlchemy, migrations) on a data folder where nobody ever decided a limit."""
    if db_url:
        return True
    path = data_root / "workbench.sqlite"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
            return c.execute("SELECT 1 FROM limit_requests WHERE status = 'approved' LIMIT 1").fetchone() is not None
    except sqlite3.Error:  # no such table yet (an older store), locked for a moment: ask the store itself
        return True


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
