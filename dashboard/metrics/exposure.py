"""Credit exposure against limits (kpis.md "Credit exposure and limits"), from the scorecard frame.

Input: risk.scores(eng, t, f): one row per customer with ar, open_orders, exposure,
credit_limit, utilization and risk_class. Customers without a limit are counted as
such, never as 0 % used. Exposure counts every currency of origin (a credit limit covers
all of a customer's currencies); a currency filter only picks the customers.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.metrics import limits, ranking

UTIL_BINS = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2]


def by(frame: pl.DataFrame, dim: str, order: str = "exposure") -> pl.DataFrame:
    """Per value of dim: exposure and limits; utilisation = exposure of customers with a limit / their limits
    (kpis.md "Segment"; the headline's by_segment uses this too, in the order of `dim`).
    Rows by exposure, largest first, or by `order` ascending when it is another column."""
    has = pl.col("credit_limit").is_not_null()
    out = (
        frame.lazy()
        .group_by(dim)
        .agg(
            customers=pl.len(),
            customers_with_limit=has.sum(),
            ar=pl.col("ar").sum(),
            ar_overdue=pl.col("ar_overdue").sum(),
            open_orders=pl.col("open_orders").sum(),
            exposure=pl.col("exposure").sum(),
            credit_limit=pl.col("credit_limit").sum(),
            exposure_with_limit=pl.col("exposure").filter(has).sum(),
            over_limit=limits.over_limit().sum(),
            near_limit=limits.near_limit().sum(),
        )
    )
    out = out.with_columns(
        utilization=limits.utilisation("exposure_with_limit", "credit_limit"),
        credit_limit=pl.when(pl.col("customers_with_limit") > 0).then(pl.col("credit_limit")),
    )
    # one plan: the headline's by_segment asks at every date
    return out.sort(order, descending=order == "exposure").collect()


def watch_list(frame: pl.DataFrame) -> pl.DataFrame:
    """Customers over their limit or near it (more than limits.NEAR_LIMIT used), most used first, with headroom."""
    return (
        frame.lazy()
        .filter(limits.over_limit() | limits.near_limit())
        .with_columns(
            headroom=limits.headroom(),
            status=pl.when(limits.over_limit()).then(pl.lit("over limit")).otherwise(pl.lit("near limit")),
        )
        .sort("utilization", descending=True, nulls_last=True)
        .collect()  # one plan (each eager step is a plan of its own)
    )


UTIL_LABELS = ["0-20%", "20-40%", "40-60%", "60-80%", "80-100%", "100-120%", "over 120%"]


def utilisation_bins(frame: pl.DataFrame) -> pl.DataFrame:
    """How many customers use how much of their limit; 'no limit' and 'limit 0' are their own bars.

    A band is the first edge of UTIL_BINS the utilization does not exceed (over 120 % past the last);
    numpy codes and bincounts, not a chain of string conditions over every customer (~30 ms at 133k)."""
    order = UTIL_LABELS + ["limit 0", "no limit"]
    limit = frame["credit_limit"].to_numpy()  # null -> NaN
    u = frame["utilization"].fill_null(np.nan).to_numpy()
    code = np.searchsorted(np.asarray(UTIL_BINS), u, side="left")  # u <= edge; NaN past the last edge
    code = np.where(np.isnan(limit), len(order) - 1, np.where(limit <= 0, len(order) - 2, code))
    exposure = frame["exposure"].to_numpy()
    return pl.DataFrame(
        {
            "band": order,
            "customers": np.bincount(code, minlength=len(order)).astype(np.uint32),
            "exposure": np.bincount(code, weights=exposure, minlength=len(order)).astype(np.float64),
        }
    )


def heatmap(frame: pl.DataFrame, classes: tuple[str, ...]) -> pl.DataFrame:
    """Exposure by segment (rows) and computed risk class (columns A-E, 'no score' if any)."""
    # the three columns first, in one plan: an eager group_by over the ~50-column scorecard frame cost
    # ~80 ms at 133k customers, this ~5 ms
    g = (
        frame.lazy()
        .select("segment", pl.col("risk_class").fill_null("no score"), "exposure")
        .group_by("segment", "risk_class")
        .agg(pl.col("exposure").sum())
        .collect()
    )
    cols = list(classes) + (["no score"] if (g["risk_class"] == "no score").any() else [])
    p = g.pivot(on="risk_class", index="segment", values="exposure")
    for c in cols:
        if c not in p.columns:
            p = p.with_columns(pl.lit(0.0).alias(c))
    return p.select("segment", *cols).fill_null(0.0).sort("segment")


def pareto(frame: pl.DataFrame) -> pl.DataFrame:
    """Customers by exposure, largest first, with the cumulative share of positive exposure."""
    exposure = frame["exposure"].to_numpy()
    # the three columns, gathered once in rank order (the scorecard frame has ~50 columns)
    pos = frame.select("customer_id", "name", "exposure")[ranking.largest_first(exposure, frame["customer_id"], keep=exposure > 0)]
    total = pos["exposure"].sum()
    return pos.with_row_index("rank", offset=1).with_columns(
        cumulative_share=pl.col("exposure").cum_sum() / total if total else pl.lit(None, pl.Float64),
        customer_share=pl.col("rank") / pos.height,
    )


def top10_share(frame: pl.DataFrame) -> float | None:
    """Top-10 share of exposure: exposure of the 10 largest customers by exposure / all positive exposure.
    Not kpis.md's concentration_top10 (the overview's top-10 share of AR: by AR, over AR)."""
    # pareto()'s cumulative share at its 10th row, without ranking and gathering every customer: the ten
    # largest positive exposures (their order among ties does not change their sum), summed in rank order
    exposure = frame["exposure"].to_numpy()
    pos = exposure[exposure > 0]
    if len(pos) == 0:
        return None
    total = float(pl.Series(pos).sum())  # as pareto(): polars' sum of the positive exposures
    top = -np.sort(-np.partition(pos, -10)[-10:]) if len(pos) > 10 else -np.sort(-pos)
    return float(np.cumsum(top)[-1] / total) if total else None


class Tiles(TypedDict):
    """The credit exposure page's headline figures for the customers of a selection."""

    customers: int
    exposure: float  # AR + open orders, every currency
    credit_limits: float | None  # sum of the limits of the customers that have one (None: nobody has one)
    customers_with_limit: int
    limit_used: float | None  # exposure of customers with a limit / their limits (None when the limits sum to <= 0)
    over_limit: int
    near_limit: int  # more than limits.NEAR_LIMIT used, not over
    no_limit: int
    top10_share_of_exposure: float | None  # top10_share()


def tiles(frame: pl.DataFrame) -> Tiles:
    """The figures above the exposure page, each defined by limits.py as everywhere else."""
    has = pl.col("credit_limit").is_not_null()
    t = frame.select(
        customers=pl.len(),
        exposure=pl.col("exposure").sum(),
        credit_limits=pl.col("credit_limit").sum(),
        customers_with_limit=has.sum(),
        limit_used=limits.utilisation(pl.col("exposure").filter(has).sum(), pl.col("credit_limit").sum()),
        over_limit=limits.over_limit().sum(),
        near_limit=limits.near_limit().sum(),
    ).row(0, named=True)
    with_limit = int(t["customers_with_limit"])
    return Tiles(
        customers=int(t["customers"]),
        exposure=float(t["exposure"] or 0.0),
        credit_limits=float(t["credit_limits"]) if with_limit else None,
        customers_with_limit=with_limit,
        limit_used=t["limit_used"],
        over_limit=int(t["over_limit"]),
        near_limit=int(t["near_limit"]),
        no_limit=int(t["customers"]) - with_limit,
        top10_share_of_exposure=top10_share(frame),
    )
