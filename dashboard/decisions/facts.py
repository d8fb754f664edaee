"""What a decision is recorded with (credit-decisions.md): the customer's score, class, exposure and
utilisation at that moment, the utilisation against the effective limit then."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dashboard.metrics.kpis import Engine
from dashboard.workbench.store import Store


@dataclass(frozen=True)
class Facts:
    score: float | None
    risk_class: str | None
    exposure: float
    utilisation: float | None  # exposure / effective limit; None without a limit or with a limit of 0


def positions(eng: Engine, store: Store, t: dt.date) -> pl.DataFrame:
    """Per customer at T: the scorecard's score, class, thin-file flag, AR, open orders and exposure, with the
    effective limit, headroom and utilisation against it (one frame the Credit page and the decisions share)."""
    from dashboard.decisions.limits import effective_limits
    from dashboard.metrics import limits as L
    from dashboard.risk.scorecard import scores

    s = scores(eng, t).select("customer_key", "customer_id", "name", "score", "risk_class", "thin_file", "ar", "open_orders", "exposure")
    e = effective_limits(store, eng, t).select("customer_id", "master_limit", "effective_limit", "limit_source")
    return s.join(e, on="customer_id", how="left").with_columns(
        headroom=L.headroom("exposure", "effective_limit"), utilisation=L.utilisation("exposure", "effective_limit")
    )


def facts_of(eng: Engine, store: Store, t: dt.date, customer_id: str) -> Facts:
    p = positions(eng, store, t).filter(pl.col("customer_id") == customer_id)
    if p.height == 0:
        return Facts(None, None, 0.0, None)
    r = p.row(0, named=True)
    return Facts(
        None if r["score"] is None else round(float(r["score"]), 1),
        r["risk_class"],
        round(float(r["exposure"]), 2),
        None if r["utilisation"] is None else round(float(r["utilisation"]), 4),
    )
