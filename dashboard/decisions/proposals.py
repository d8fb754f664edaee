"""Limit proposals (credit-decisions.md "Limit proposal", settings [credit_policy]), every term shown.

sales_365     Sales_c(T-364, T), 0 if negative
terms         amount-weighted mean of due_date - invoice_date over its documents with amount > 0 issued
              in those 365 days; the master's payment_terms_days when there are none (0 when neither)
need          sales_365 / 365 x (terms + cover_days)
proposed      round_up(need x class_factor[class], rounding), clamped to [min_limit, max_limit];
              a thin file (risk.md) at most thin_file_max; class C when no class is computed
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.metrics.kpis import Engine
from dashboard.settings import CreditPolicySettings
from dashboard.store import sql as queries
from dashboard.workbench.store import Store


def round_up(x: np.ndarray, step: float) -> np.ndarray:
    """Up to a multiple of step; 1e-9 of a step forgives the float noise of need x factor (12,000.0000001 stays 12,000)."""
    return np.ceil(np.round(x / step, 9)) * step


def proposal_frame(base: pl.DataFrame, cp: CreditPolicySettings) -> pl.DataFrame:
    """base: customer_id, sales_365, terms_days, master_terms_days, risk_class, thin_file (+ anything else, kept).
    Adds every term of the calculation."""
    df = base.with_columns(
        sales_365=pl.max_horizontal(pl.col("sales_365").fill_null(0.0), pl.lit(0.0)),
        terms=pl.col("terms_days").fill_null(pl.col("master_terms_days").cast(pl.Float64)).fill_null(0.0),
        cls=pl.col("risk_class").fill_null("C"),
        cover_days=pl.lit(cp.cover_days, pl.Int64),
        thin_file=pl.col("thin_file").fill_null(False),
    )
    df = df.with_columns(need=pl.col("sales_365") / 365.0 * (pl.col("terms") + pl.col("cover_days")))
    df = df.with_columns(class_factor=pl.col("cls").replace_strict(cp.class_factor, return_dtype=pl.Float64))
    raw = round_up((df["need"] * df["class_factor"]).to_numpy(), cp.rounding)
    raw = np.maximum(raw, cp.min_limit)
    if cp.max_limit is not None:
        raw = np.minimum(raw, cp.max_limit)
    thin = df["thin_file"].to_numpy()
    raw = np.where(thin, np.minimum(raw, cp.thin_file_max), raw)
    return df.with_columns(proposed_limit=pl.Series(raw, dtype=pl.Float64)).drop("cls")


def proposals(eng: Engine, store: Store, t: dt.date, pos: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every customer's proposal at T beside its current (effective) limit (pos: facts.positions at T, when the
    caller has it already: the scorecard is the costly part)."""
    from dashboard.decisions.facts import positions

    sales = queries.run(eng.con, "decisions/sales_365", as_of=t).pl()
    pos = (pos if pos is not None else positions(eng, store, t)).select(
        "customer_id", "risk_class", "thin_file", "score", "exposure", current_limit="effective_limit"
    )
    return proposal_frame(sales.join(pos, on="customer_id", how="left"), eng.settings.credit_policy)


# `class` is a Python keyword: the functional form names the key as cli.md does.
ProposalRow = TypedDict(
    "ProposalRow",
    {
        "customer_id": str,
        "class": str | None,
        "sales_365": float,
        "terms": float,
        "cover_days": int,
        "need": float,
        "class_factor": float,
        "proposed_limit": float,
        "current_limit": float | None,
        "thin_file": bool,
    },
)


class ProposalsJson(TypedDict):
    """`o2c limits propose --json` (cli.md)."""

    as_of: str
    proposals: list[ProposalRow]


def proposal_rows(df: pl.DataFrame) -> list[ProposalRow]:
    out = []
    for r in df.iter_rows(named=True):  # one row per customer shown, not per ledger row
        out.append(
            ProposalRow(
                {
                    "customer_id": r["customer_id"],
                    "class": r["risk_class"],
                    "sales_365": round(float(r["sales_365"]), 2),
                    "terms": round(float(r["terms"]), 2),
                    "cover_days": int(r["cover_days"]),
                    "need": round(float(r["need"]), 2),
                    "class_factor": float(r["class_factor"]),
                    "proposed_limit": round(float(r["proposed_limit"]), 2),
                    "current_limit": None if r["current_limit"] is None else round(float(r["current_limit"]), 2),
                    "thin_file": bool(r["thin_file"]),
                }
            )
        )
    return out


def proposals_json(eng: Engine, store: Store, t: dt.date, customer_id: str | None = None) -> ProposalsJson:
    df = proposals(eng, store, t)
    if customer_id is not None:
        df = df.filter(pl.col("customer_id") == customer_id)
    return ProposalsJson(as_of=t.isoformat(), proposals=proposal_rows(df.sort("customer_id")))


def proposals_text(out: ProposalsJson, currency: str) -> str:
    lines = [f"Limit proposals at {out['as_of']} (need = sales of 365 days / 365 x (terms + cover days); x class factor; rounded up):"]
    for r in out["proposals"]:
        cur = "no limit" if r["current_limit"] is None else f"{currency} {r['current_limit']:,.2f}"
        lines.append(
            f"{r['customer_id']}: class {r['class'] or 'none (C)'}, sales {currency} {r['sales_365']:,.2f}, terms {r['terms']:,.1f} + "
            f"{r['cover_days']} days -> need {currency} {r['need']:,.2f} x {r['class_factor']:g} -> proposed {currency} {r['proposed_limit']:,.2f}"
            f"{' (thin file)' if r['thin_file'] else ''}; current {cur}"
        )
    if not out["proposals"]:
        lines.append("No customer matches.")
    return "\n".join(lines)
