"""`o2c predict`: the late-payment probabilities of the open invoices with the measured skill, as prediction.md's JSON."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.prediction.features import FEATURES, documents
from dashboard.prediction.model import Prediction, customer_shares, predict, top_factors
from dashboard.present.formatting import money
from dashboard.store import sql as queries


class ModelJson(TypedDict):
    auc: float | None
    baseline_auc: float | None
    diff_ci: list[float] | None
    test_rows: int
    event_rate: float | None
    used: str


class InvoiceJson(TypedDict):
    invoice_id: str
    customer_id: str
    open: float
    due_date: str
    p_late: float
    top_factors: list[str]


class PredictJson(TypedDict):
    """prediction.md "Output": the keys of `o2c predict --json`."""

    as_of: str
    model: ModelJson
    invoices: list[InvoiceJson]


def _r4(x: float | None) -> float | None:
    return None if x is None else round(x, 4) + 0.0


def ranked(eng: Engine, t: dt.date | None = None, top: int | None = None, customer_key: int | None = None, f: Filters = ALL) -> pl.DataFrame:
    """The open invoices ranked by p_late x open (the first `top`; one customer's with customer_key; those of the
    selection f: segment, region, the document's currency), with their factors. The model and its skill are the
    whole ledger's: a selection picks the invoices listed, it does not retrain."""
    p, docs = predict(eng, t), documents(eng)
    pos = np.arange(len(p.rows))
    for name, chosen in (("segment", f.segments), ("region", f.regions), ("currency", f.currencies)):
        if chosen:
            codes = [k for k, v in enumerate(docs.categories[name]) if v in chosen]
            pos = pos[np.isin(docs.X[p.rows[pos], FEATURES.index(name)], codes)]
    if customer_key is not None:
        pos = pos[docs.customer_key[p.rows] == customer_key]
    if top is not None:
        pos = pos[:top]
    rows = p.rows[pos]
    ids = queries.run(eng.con, "prediction/ids", doc_keys=docs.doc_key[rows].tolist()).pl()
    ids = pl.DataFrame({"doc_key": docs.doc_key[rows]}).join(ids, on="doc_key", how="left", maintain_order="left")
    return pl.DataFrame(
        {
            "invoice_id": ids["invoice_id"],
            "customer_id": ids["customer_id"],
            "open": p.open[pos],
            "due_date": pl.Series((docs.due_day[rows]).astype("datetime64[D]")).cast(pl.Date),
            "p_late": p.p_late[pos],
            "expected_late": p.p_late[pos] * p.open[pos],
            "top_factors": top_factors(docs, p, pos),
        },
        schema_overrides={"top_factors": pl.List(pl.Utf8)},
    )


def customer_share(eng: Engine, customer_key: int, t: dt.date | None = None) -> tuple[float, float] | None:
    """(open AR of the customer's open invoices, the share of it predicted late), None without open invoices."""
    return customer_shares(predict(eng, t), documents(eng)).get(customer_key)


def model_json(p: Prediction) -> ModelJson:
    s = p.skill
    return ModelJson(
        auc=_r4(s.auc),
        baseline_auc=_r4(s.baseline_auc),
        diff_ci=None if s.diff_ci is None else [round(s.diff_ci[0], 4) + 0.0, round(s.diff_ci[1], 4) + 0.0],
        test_rows=s.test_rows,
        event_rate=_r4(s.event_rate),
        used=s.used,
    )


def run(eng: Engine, t: dt.date | None = None, top: int = 20) -> tuple[PredictJson, str]:
    p = predict(eng, t)
    inv = ranked(eng, t, top)
    out = PredictJson(
        as_of=p.as_of.isoformat(),
        model=model_json(p),
        invoices=[
            InvoiceJson(
                invoice_id=r["invoice_id"],
                customer_id=r["customer_id"],
                open=round(r["open"], 2) + 0.0,
                due_date=r["due_date"].isoformat(),
                p_late=round(r["p_late"], 4) + 0.0,
                top_factors=r["top_factors"],
            )
            for r in inv.iter_rows(named=True)  # the listed invoices only (--top)
        ],
    )
    cur = eng.settings.base_currency
    lines = [f"Late-payment prediction as of {p.as_of} ({cur}), {len(p.rows):,} open invoices ranked by probability x open amount:", p.skill.sentence(), ""]
    lines += [
        f"  {r['invoice_id']:<14} {r['customer_id']:<10} due {r['due_date']}  {money(r['open'], cur):>20}  p_late {r['p_late']:.0%}  {'; '.join(r['top_factors'])}"
        for r in inv.iter_rows(named=True)
    ]
    return out, "\n".join(lines)
