"""The aging page's table and drill-down totals, from Engine.aging (one row per segment, region and bucket)."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

DIMENSIONS = ("segment", "region")


class Behind(NamedTuple):
    """What a drill-down lists: the open documents behind a bucket, and their amount."""

    documents: int
    amount: float


def table(ag: pl.DataFrame, dim: str, names: list[str]) -> pl.DataFrame:
    """Open AR by `dim` (rows, sorted) and bucket (a column per bucket name, in order, every bucket
    listed, 0 where nothing is open), a `total` column, and a last row 'All' with the column sums:
    the buckets of a row add up to its total, and the totals to AR."""
    if dim not in DIMENSIONS:
        raise ValueError(f"aging by {dim!r}: one of {DIMENSIONS}")
    pivot = (
        ag.group_by(dim, "bucket")
        .agg(pl.col("ar").sum())
        .with_columns(pl.col("bucket").replace_strict(list(range(len(names))), names, return_dtype=pl.Utf8))
        .pivot(on="bucket", index=dim, values="ar")
    )
    missing = [pl.lit(0.0).alias(n) for n in names if n not in pivot.columns]
    pivot = pivot.with_columns(*missing).select(pl.col(dim).cast(pl.Utf8), *[pl.col(n).cast(pl.Float64).fill_null(0.0) for n in names])
    pivot = pivot.with_columns(pl.sum_horizontal(*names).alias("total")).sort(dim)
    totals = pivot.select(pl.lit("All").alias(dim), *[pl.col(c).sum() for c in [*names, "total"]])
    return pl.concat([pivot, totals])


def behind(ag: pl.DataFrame, dim: str, values: list[str] | tuple[str, ...] = (), bucket: int = -1) -> Behind:
    """Documents and open amount behind a bucket (-1 = every bucket) for these values of `dim` (empty = all)."""
    rows = ag.filter(pl.col(dim).is_in(list(values))) if values else ag
    if bucket >= 0:
        rows = rows.filter(pl.col("bucket") == bucket)
    return Behind(int(rows["documents"].sum()), float(rows["ar"].sum()))
