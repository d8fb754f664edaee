"""Compare two snapshots: what changed between two loads of the ledger."""

from __future__ import annotations

import polars as pl

from dashboard.metrics.kpis import Engine


def compare_snapshots(a: Engine, b: Engine) -> dict:
    """Headline changes from snapshot a to b (each at its own as-of date), new overdue customers, limit changes."""
    ha, hb = a.headline(rounded=False), b.headline(rounded=False)
    ca = a.customers_frame(a.as_of).select("customer_id", "name", "segment", "ar_overdue", "credit_limit")
    cb = b.customers_frame(b.as_of).select("customer_id", "name", "segment", "ar_overdue", "credit_limit")
    j = cb.join(
        ca.select("customer_id", pl.col("ar_overdue").alias("overdue_before"), pl.col("credit_limit").alias("limit_before")), on="customer_id", how="left"
    )
    new_overdue = (
        j.filter((pl.col("ar_overdue") > 0) & (pl.col("overdue_before").fill_null(0) <= 0))
        .sort("ar_overdue", descending=True)
        .select("customer_id", "name", "segment", pl.col("ar_overdue").alias("overdue_now"))
    )
    limits = (
        j.filter((pl.col("credit_limit") != pl.col("limit_before")) | (pl.col("credit_limit").is_null() != pl.col("limit_before").is_null()))
        .select("customer_id", "name", "segment", "limit_before", pl.col("credit_limit").alias("limit_now"))
        .sort("customer_id")
    )
    figures = [
        ("AR", ha["ar_total"], hb["ar_total"]),
        ("Overdue AR", ha["ar_overdue"], hb["ar_overdue"]),
        ("Share overdue", ha["pct_overdue"], hb["pct_overdue"]),
        ("DSO (standard)", ha["dso_standard"], hb["dso_standard"]),
        ("DSO (countback)", ha["dso_countback"], hb["dso_countback"]),
        ("Disputed AR", ha["disputed_ar"], hb["disputed_ar"]),
        ("Customers over limit", ha["over_limit_customers"], hb["over_limit_customers"]),
    ]
    return {
        "as_of": (ha["as_of"], hb["as_of"]),
        "figures": pl.DataFrame(figures, schema=["figure", "before", "after"], orient="row"),
        "new_overdue": new_overdue,
        "limit_changes": limits,
    }
