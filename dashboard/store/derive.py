"""The compact tables computed once per snapshot (see the queries/derive/*.sql headers)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from dashboard.store import sql as queries

# DuckDB may use this much memory while deriving; beyond it, it spills to the staging folder.
# Why: a 10M-document load must stay under 2 GB in all (issue 4), and the derive step's
# joins and sorts are the largest working set of a load.
DERIVE_MEMORY = "900MB"


def derive(tables_dir: Path, out: Path, spill: Path) -> dict[str, int]:
    """Compact tables computed once per snapshot (see the queries/derive_*.sql headers).

    Reads the snapshot's own Parquet tables (not frames held in memory) with a
    memory limit, so the working set is bounded whatever the ledger's size.
    """
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": DERIVE_MEMORY, "temp_directory": str(spill), "threads": os.cpu_count() or 2})
    for name in ("invoices", "payments", "customers"):
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tables_dir / (name + '.parquet')}')")
    counts = {}
    for name in ("open_intervals", "daily_sales", "daily_paid", "paid_docs"):
        con.sql(f"COPY ({queries.sql('derive/' + name)}) TO '{out / (name + '.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        counts[name] = con.sql(f"SELECT count(*) FROM read_parquet('{out / (name + '.parquet')}')").fetchall()[0][0]
    con.sql(f"CREATE VIEW open_intervals AS SELECT * FROM read_parquet('{out / 'open_intervals.parquet'}')")
    first, last = con.sql("SELECT min(invoice_date), greatest(max(invoice_date), max(paid_date)) FROM invoices").fetchall()[0]
    rel = con.sql(queries.sql("derive/month_end_ar"), params={"first_month": first, "last_month": last})
    rel.write_parquet(str(out / "month_end_ar.parquet"))
    counts["month_end_ar"] = con.sql(f"SELECT count(*) FROM read_parquet('{out / 'month_end_ar.parquet'}')").fetchall()[0][0]
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return counts
