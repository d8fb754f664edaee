"""Open a snapshot in DuckDB: its tables and compact derived tables under fixed names.

Queries in `queries/` refer to these names only, so the same SQL runs on
views over Parquet (a short-lived CLI process), on in-memory tables (the
dashboard), or later on another engine reading the same Parquet files.
Paths reach DuckDB as values (the relation API, a bound parameter), never
spliced into SQL text, and what a query cannot hold in memory spills into the
data folder's `.tmp/`, never the working directory.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dashboard.store import sql as queries
from dashboard.store.duck import connect
from dashboard.store.snapshots import DataDir, SnapshotInfo

TABLE_FILES = {
    "invoices": "tables/invoices.parquet",
    "payments": "tables/payments.parquet",
    "customers": "tables/customers.parquet",
    "orders": "tables/orders.parquet",
    "fx": "tables/fx.parquet",
    "open_intervals": "derived/open_intervals.parquet",
    "daily_sales": "derived/daily_sales.parquet",
    "daily_paid": "derived/daily_paid.parquet",
    "month_end_ar": "derived/month_end_ar.parquet",
    "paid_docs": "derived/paid_docs.parquet",
}
# Derived tables added after the first snapshots were written: an older snapshot gets them
# as views computed from its own tables (same SQL, slower), so it still opens.
ADDED_LATER = {"paid_docs"}
# What a dashboard session reads on every rerun is held in memory; the
# full document tables stay as views (only drill-downs read them). The open spans are not
# among them: the engine holds them as arrays (dashboard/metrics/positions.py) and only
# drill-downs run SQL over them, which reads the spans open at a date from the file (sorted
# by end_date: the row groups of spans closed earlier are skipped); two copies in memory
# would cost ~100 MB per million documents.
IN_MEMORY = ("customers", "orders", "daily_sales", "daily_paid", "month_end_ar", "paid_docs")


def open_snapshot(snapshot: SnapshotInfo, in_memory: bool = False, threads: int | None = None, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with the snapshot's tables under their fixed names (see the module's docstring).

    temp_dir: where DuckDB spills; by default `.tmp/` of the data folder the snapshot is in.
    """
    con = connect(temp_dir or DataDir.of(snapshot).tmp, **({"threads": threads} if threads else {}))
    con.sql(queries.sql("macros"))  # queries/macros.sql: picked, open_at, aging_bucket, over_limit, ...
    for name, rel in TABLE_FILES.items():
        path = snapshot.path / rel
        if name in ADDED_LATER and not path.exists():
            con.execute(f"CREATE VIEW {name} AS {queries.sql('derive/' + name)}").fetchall()
        elif in_memory and name in IN_MEMORY:
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet($path)", {"path": queries.literal_path(path)}).fetchall()
        else:
            con.read_parquet(queries.literal_path(path)).create_view(name)  # a view cannot hold a bound parameter: the relation API quotes the path
    return con
