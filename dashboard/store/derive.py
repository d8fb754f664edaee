"""The compact tables computed once per snapshot (see the queries/derive/*.sql headers).

Every path reaches DuckDB as a value (a bound parameter or the relation API), never
spliced into SQL text: a data folder named "it's data" loads like any other.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from dashboard.store import sql as queries
from dashboard.store.duck import connect

# DuckDB may use this much memory while deriving; beyond it, it spills to `spill` (inside the data folder).
# Why: a 10M-document load must stay under 2 GB in all (issue 4), and the derive step's
# joins and sorts are the largest working set of a load.
DERIVE_MEMORY = "900MB"
INPUTS = ("invoices", "payments", "customers")
COPIED = ("open_intervals", "daily_sales", "daily_paid", "paid_docs")
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"


def derive(tables_dir: Path, out: Path, spill: Path) -> dict[str, int]:
    """Write the derived tables of the snapshot whose tables are in `tables_dir` to `out`; their row counts.

    Reads the snapshot's own Parquet tables (not frames held in memory) with a
    memory limit, so the working set is bounded whatever the ledger's size; what does
    not fit goes to `spill` (inside the data folder: the load's staging folder), removed when done.
    """
    out.mkdir(parents=True, exist_ok=True)
    con = connect(spill, memory_limit=DERIVE_MEMORY, threads=os.cpu_count() or 2)
    try:
        for name in INPUTS:
            con.read_parquet(queries.literal_path(tables_dir / f"{name}.parquet")).create_view(name)
        counts = {}
        for name in COPIED:
            target = str(out / f"{name}.parquet")
            con.execute(f"COPY ({queries.sql('derive/' + name)}) TO $target ({PARQUET_OPTIONS})", {"target": target}).fetchall()
            counts[name] = _rows(con, target)
        con.read_parquet(queries.literal_path(out / "open_intervals.parquet")).create_view("open_intervals")
        first, last = _one(con, "SELECT min(invoice_date), greatest(max(invoice_date), max(paid_date)) FROM invoices")
        target = str(out / "month_end_ar.parquet")
        con.sql(queries.sql("derive/month_end_ar"), params={"first_month": first, "last_month": last}).write_parquet(target)
        counts["month_end_ar"] = _rows(con, target)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return counts


def _one(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> tuple:
    (row,) = con.execute(query, params).fetchall()  # fetched to the end: the connection is free for the next statement
    return row


def _rows(con: duckdb.DuckDBPyConnection, path: str) -> int:
    return int(_one(con, "SELECT count(*) FROM read_parquet($path)", {"path": queries.literal_path(path)})[0])
