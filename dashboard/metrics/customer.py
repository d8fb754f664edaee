"""One customer, everything about it at T: position, score, documents, payment history, orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dashboard.metrics.kpis import Engine
from dashboard.risk import scorecard as risk
from dashboard.store import sql as queries


@dataclass
class CustomerView:
    row: dict  # the customer's scorecard row (risk.scores): measures, factors, points, score, class
    documents: pl.DataFrame  # every document issued by T, open amount at T
    orders: pl.DataFrame  # open orders, release order

    @property
    def open_documents(self) -> pl.DataFrame:
        return self.documents.filter(pl.col("open_amount_base") != 0).sort("days_past_due", descending=True)

    @property
    def paid_documents(self) -> pl.DataFrame:
        return self.documents.filter(pl.col("paid_date").is_not_null() & (pl.col("amount_base") > 0)).sort("paid_date")

    @property
    def disputes(self) -> pl.DataFrame:
        return self.open_documents.filter(pl.col("disputed"))

    def aging(self, names: list[str]) -> pl.DataFrame:
        """Open amount by aging bucket (buckets from the query, as aging_at.sql; every bucket listed, in order)."""
        sums = self.open_documents.group_by("bucket").agg(pl.col("open_amount_base").sum().alias("ar"), pl.len().alias("documents"))
        every = pl.DataFrame({"bucket": list(range(len(names))), "name": names}, schema={"bucket": pl.Int32, "name": pl.Utf8})
        return every.join(sums, on="bucket", how="left").with_columns(pl.col("ar").fill_null(0.0), pl.col("documents").fill_null(0))


def find(eng: Engine, text: str, limit: int = 20) -> pl.DataFrame:
    """Customers whose id or name contains the text (case-insensitive), ids first."""
    return queries.run(eng.con, "customer/search", text=text.strip().lower(), limit=limit).pl()


def view(eng: Engine, customer_id: str, t: dt.date | None = None, scores: pl.DataFrame | None = None) -> CustomerView | None:
    """scores: risk.scores(eng, t) if already at hand (the pages cache it)."""
    t = t or eng.as_of
    s = (scores if scores is not None else risk.scores(eng, t)).filter(pl.col("customer_id") == customer_id)
    if s.height == 0:
        return None
    row = s.row(0, named=True)
    key = row["customer_key"]
    docs = queries.run(eng.con, "customer/documents", customer_key=key, as_of=t, edges=list(eng.settings.aging_edges)).pl()
    orders = queries.run(eng.con, "customer/orders", customer_key=key, as_of=t).pl()
    return CustomerView(row, docs, orders)
