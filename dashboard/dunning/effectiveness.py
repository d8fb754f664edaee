"""dunning_effectiveness (dunning.md "KPI"): the share of the amount named in letters issued in [a, b]
that was settled within 30 days of the letter.

    named    the open amount of each item with open > 0 in the issued letters dated in [a, b]
    settled  per item, named - its open amount at the end of (letter date + 30), between 0 and named
    share    sum(settled) / sum(named); None when nothing was named

Only letters whose 30 days have passed by T count (a letter of last week has not had its chance yet).
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import polars as pl
import sqlalchemy as sa

from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries
from dashboard.workbench.schema import dunning_items, dunning_letters, dunning_runs
from dashboard.workbench.store import Store

WINDOW_DAYS = 30


class Effectiveness(TypedDict):
    dunning_effectiveness: float | None
    named: float
    settled: float
    letters: int


def effectiveness(eng: Engine, store: Store, a: dt.date, b: dt.date, t: dt.date | None = None) -> Effectiveness:
    t = t or eng.as_of
    last = min(b, t - dt.timedelta(days=WINDOW_DAYS))
    r, lt, it = dunning_runs, dunning_letters, dunning_items
    q = (
        sa.select(lt.c.letter_id, it.c.invoice_id, sa.cast(r.c.as_of, sa.String), it.c.open)
        .select_from(it.join(lt, it.c.letter_id == lt.c.letter_id).join(r, lt.c.run_id == r.c.run_id))
        .where(r.c.status == "issued", lt.c.removed_reason.is_(None), it.c.removed_reason.is_(None), it.c.open > 0, r.c.as_of >= a, r.c.as_of <= last)
    )
    with store.begin() as conn:
        rows = conn.execute(q).all()
    named = pl.DataFrame(rows, schema={"letter_id": pl.Int64, "invoice_id": pl.Utf8, "as_of": pl.Utf8, "open": pl.Float64}, orient="row")
    if named.height == 0:
        return Effectiveness(dunning_effectiveness=None, named=0.0, settled=0.0, letters=0)
    named = named.with_columns(pl.col("as_of").str.slice(0, 10).str.to_date("%Y-%m-%d"))
    got = queries.run(
        eng.con,
        "dunning/settled_within",
        invoice_ids=named["invoice_id"].to_list(),
        letter_dates=named["as_of"].to_list(),
        named=named["open"].to_list(),
        days=WINDOW_DAYS,
    ).pl()
    total, settled = float(got["named"].sum()), float(got["settled"].sum())
    return Effectiveness(
        dunning_effectiveness=round(settled / total, 4) if total > 0 else None,
        named=round(total, 2),
        settled=round(settled, 2),
        letters=int(named["letter_id"].n_unique()),
    )
