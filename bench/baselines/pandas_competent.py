"""Baseline: competent pandas, written from kpis.md and the ledger contract alone.

    python bench/baselines/pandas_competent.py EXTRACT_FOLDER [--as-of YYYY-MM-DD]

Preparation (once): read the Parquet files, convert to the base currency (fx as-of merge on the
distinct currency/date pairs), attach each payment its document's row and rate, dense customer
codes (categorical), and the three daily series every window needs (sales per day and segment,
settled documents per day). Merges happen here, not per date.

Per date: vectorised masks over the documents - open at T (issued, not yet cleared), minus the
payments dated on or before T (one groupby over the payments) - then sums and groupbys of the
open documents. No prefix sums over spans and no sort by close day: the open amount at each
date the overview needs (T, the prior month-end, the trend's month-ends, T-P for the cei) is
computed from the documents, as a pandas user would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from . import spec
except ImportError:  # run as a script
    import spec  # type: ignore[no-redef]


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    f = Path(folder) / f"{name}.parquet"
    if not f.exists():
        return None
    df = pd.read_parquet(f)
    df.columns = [c.strip().lower() for c in df.columns]
    return df


def _rates(df: pd.DataFrame, date_col: str, fx: pd.DataFrame) -> np.ndarray:
    cur = df["currency"].fillna(spec.BASE).str.upper() if "currency" in df else pd.Series(spec.BASE, index=df.index)
    keys = pd.DataFrame({"currency": cur.to_numpy(), "d": df[date_col].to_numpy()})
    pairs = keys.drop_duplicates().sort_values("d")
    pairs = pd.merge_asof(pairs, fx, left_on="d", right_on="rate_date", by="currency", direction="backward")
    return keys.merge(pairs[["currency", "d", "rate_to_base"]], on=["currency", "d"], how="left")["rate_to_base"].to_numpy()


class Prepared:
    def __init__(self, folder: Path):
        inv = _read(folder, "invoices")
        pay, cust, orders, fx = (_read(folder, n) for n in ("payments", "customers", "orders", "fx"))
        fx = fx if fx is not None else pd.DataFrame({"currency": [], "rate_to_base": [], "rate_date": []})
        fx = fx.assign(currency=fx["currency"].str.upper())
        fx["rate_date"] = pd.to_datetime(fx["rate_date"] if "rate_date" in fx else pd.NaT).fillna(pd.Timestamp("1900-01-01")).astype("datetime64[ns]")
        if not (fx["currency"] == spec.BASE).any():
            fx = pd.concat([fx, pd.DataFrame({"currency": [spec.BASE], "rate_to_base": [1.0], "rate_date": [pd.Timestamp("1900-01-01")]})])
        fx = fx.sort_values("rate_date")[["currency", "rate_to_base", "rate_date"]]
        for c in ("invoice_date", "due_date", "paid_date"):
            inv[c] = pd.to_datetime(inv[c] if c in inv else pd.NaT).astype("datetime64[ns]")
        inv["disputed"] = inv["disputed"].fillna(False).astype(bool) if "disputed" in inv else False
        inv["rate"] = _rates(inv, "invoice_date", fx)
        inv["amt"] = inv["amount"].astype(float) * inv["rate"]

        # customers: the master plus anyone in invoices or orders; dense codes
        cust = cust if cust is not None else pd.DataFrame({"customer_id": pd.Series(dtype=str)})
        for c in ("segment", "region", "credit_limit"):
            if c not in cust:
                cust[c] = np.nan
        ids = pd.Index(pd.concat([cust["customer_id"], inv["customer_id"]] + ([orders["customer_id"]] if orders is not None else [])).unique()).sort_values()
        c = cust.drop_duplicates("customer_id").set_index("customer_id").reindex(ids)
        self.cust = pd.DataFrame(
            {
                "customer_id": ids,
                "segment": c["segment"].fillna(spec.UNASSIGNED).to_numpy(),
                "region": c["region"].fillna(spec.UNASSIGNED).to_numpy(),
                "credit_limit": pd.to_numeric(c["credit_limit"]).to_numpy(),
            }
        )
        inv["ck"] = pd.Categorical(inv["customer_id"], categories=ids).codes
        for col in ("segment", "region"):  # categorical: small codes, fast groupbys
            cat = pd.Categorical(self.cust[col])
            inv[col] = pd.Categorical.from_codes(cat.codes[inv["ck"].to_numpy()], cat.categories)
        self.inv = inv[["ck", "segment", "region", "invoice_date", "due_date", "paid_date", "disputed", "amt"]]

        # payments: each with its document's row and rate
        if pay is not None and len(pay):
            pay["payment_date"] = pd.to_datetime(pay["payment_date"]).astype("datetime64[ns]")
            row = pd.Series(np.arange(len(inv)), index=inv["invoice_id"])
            pay["doc"] = row.reindex(pay["invoice_id"]).to_numpy()
            pay["amt"] = pay["amount"].astype(float) * inv["rate"].to_numpy()[pay["doc"]]
            self.pay = pay[["doc", "payment_date", "amt"]]
        else:
            self.pay = pd.DataFrame({"doc": pd.Series(dtype=int), "payment_date": pd.Series(dtype="datetime64[ns]"), "amt": pd.Series(dtype=float)})

        if orders is not None and len(orders):
            orders["order_date"] = pd.to_datetime(orders["order_date"]).astype("datetime64[ns]")
            orders["amt"] = orders["amount"].astype(float) * _rates(orders, "order_date", fx)
            orders["ck"] = pd.Categorical(orders["customer_id"], categories=ids).codes
            self.orders = orders[["ck", "order_date", "amt"]]
        else:
            self.orders = pd.DataFrame({"ck": pd.Series(dtype=int), "order_date": pd.Series(dtype="datetime64[ns]"), "amt": pd.Series(dtype=float)})

        # daily series
        self.sales_seg = inv.groupby(["invoice_date", "segment"], observed=True)["amt"].sum().unstack(fill_value=0.0).sort_index()
        self.sales_day = self.sales_seg.sum(axis=1)
        self.sales_month = self.sales_day.groupby(self.sales_day.index.to_period("M")).sum()
        paid = inv[(inv["amt"] > 0) & inv["paid_date"].notna()]
        days_to_pay = (paid["paid_date"] - paid["invoice_date"]).dt.days
        days_late = (paid["paid_date"] - paid["due_date"]).dt.days.clip(lower=0)
        self.paid_day = (
            pd.DataFrame(
                {
                    "day": paid["paid_date"],
                    "amount": paid["amt"],
                    "x_pay": paid["amt"] * days_to_pay,
                    "x_late": paid["amt"] * days_late,
                    "n": 1,
                    "on_time": (paid["paid_date"] <= paid["due_date"]).astype(int),
                }
            )
            .groupby("day")
            .sum()
            .sort_index()
        )

    # --- per date ----------------------------------------------------------------

    def _open(self, T: pd.Timestamp) -> pd.Series:
        """Issued by T and not cleared by T (a missing paid_date compares False)."""
        return (self.inv["invoice_date"] <= T) & ~(self.inv["paid_date"] <= T)

    def open_at(self, t: dt.date) -> pd.DataFrame:
        """The documents open at T with their open amount (amount - payments dated <= T)."""
        T = pd.Timestamp(t)
        o = self.inv.loc[self._open(T)]
        paid = self.pay[self.pay["payment_date"] <= T].groupby("doc")["amt"].sum()
        return o.assign(open=o["amt"] - paid.reindex(o.index, fill_value=0.0).to_numpy())

    def ar(self, t: dt.date) -> tuple[float, float]:
        """AR and current AR at T: open documents' amounts minus their payments dated <= T."""
        T = pd.Timestamp(t)
        is_open = self._open(T).to_numpy()
        current = is_open & (self.inv["due_date"] >= T).to_numpy()
        amt = self.inv["amt"].to_numpy()
        p = self.pay[self.pay["payment_date"] <= T]
        doc, pamt = p["doc"].to_numpy(), p["amt"].to_numpy()
        return float(amt[is_open].sum() - pamt[is_open[doc]].sum()), float(amt[current].sum() - pamt[current[doc]].sum())

    def sales(self, a: dt.date, b: dt.date) -> float:
        return float(self.sales_day.loc[pd.Timestamp(a) : pd.Timestamp(b)].sum())

    def countback_sales(self, t: dt.date) -> list[float]:
        """This month to date, then whole months from the monthly series."""
        months = pd.period_range(end=pd.Period(t, "M") - 1, periods=spec.COUNTBACK_MAX - 1, freq="M")[::-1]
        return [self.sales(t.replace(day=1), t)] + self.sales_month.reindex(months, fill_value=0.0).tolist()

    def paid(self, t: dt.date) -> pd.Series:
        a, b = spec.pay_window(t)
        return self.paid_day.loc[pd.Timestamp(a) : pd.Timestamp(b)].sum()

    def adp(self, t: dt.date):
        s = self.paid(t)
        return spec.payment_behaviour(s["amount"], s["x_pay"], s["x_late"], int(s["n"]), int(s["on_time"]))[0]

    def positions(self, t: dt.date, o: pd.DataFrame) -> pd.DataFrame:
        T = pd.Timestamp(t)
        c = self.cust.copy()
        c["ar"] = o.groupby("ck")["open"].sum().reindex(c.index, fill_value=0.0)
        c["ar_overdue"] = o[o["due_date"] < T].groupby("ck")["open"].sum().reindex(c.index, fill_value=0.0)
        c["open_orders"] = self.orders[self.orders["order_date"] <= T].groupby("ck")["amt"].sum().reindex(c.index, fill_value=0.0)
        c["exposure"] = c["ar"] + c["open_orders"]
        c["has_limit"] = c["credit_limit"].notna()
        c["over"] = c["has_limit"] & (c["exposure"] > c["credit_limit"])
        return c

    def parts(self, t: dt.date, o: pd.DataFrame | None = None, c: pd.DataFrame | None = None) -> spec.Parts:
        T = pd.Timestamp(t)
        o = self.open_at(t) if o is None else o
        c = self.positions(t, o) if c is None else c
        dpd = (T - o["due_date"]).dt.days
        bucket = np.searchsorted(np.array(spec.EDGES), dpd.to_numpy(), side="left")  # number of edges below dpd
        aging = o["open"].groupby(bucket).sum().reindex(range(len(spec.BUCKETS)), fill_value=0.0)
        a, b = spec.dso_window(t)
        seg_sales = self.sales_seg.loc[pd.Timestamp(a) : pd.Timestamp(b)].sum()
        c = c.assign(limit_or_0=c["credit_limit"].fillna(0.0), exposure_with_limit=c["exposure"].where(c["has_limit"], 0.0))
        g = c.groupby("segment").agg(
            ar=("ar", "sum"),
            ar_overdue=("ar_overdue", "sum"),
            open_orders=("open_orders", "sum"),
            exposure=("exposure", "sum"),
            limit_sum=("limit_or_0", "sum"),
            customers_with_limit=("has_limit", "sum"),
            exposure_with_limit=("exposure_with_limit", "sum"),
            over_limit=("over", "sum"),
        )
        segs = [spec.Segment(s, *r[:5], int(r[5]), r[6], int(r[7]), float(seg_sales.get(s, 0.0))) for s, r in zip(g.index, g.itertuples(index=False))]
        pb = self.paid(t)
        return spec.Parts(
            t=t,
            ar=float(o["open"].sum()),
            current=float(aging.iloc[0]),
            disputed=float(o.loc[o["disputed"], "open"].sum()),
            aging=aging.tolist(),
            sales_window=self.sales(a, b),
            countback_sales=self.countback_sales(t),
            ar_before_window=self.ar(t - dt.timedelta(days=spec.P))[0],
            paid_amount=pb["amount"],
            paid_x_days_to_pay=pb["x_pay"],
            paid_x_days_late=pb["x_late"],
            paid_count=int(pb["n"]),
            paid_on_time=int(pb["on_time"]),
            open_orders=float(c["open_orders"].sum()),
            customers=len(c),
            customers_with_limit=int(c["has_limit"].sum()),
            over_limit=int(c["over"].sum()),
            top10_ar=float(c["ar"].nlargest(10).sum()),
            segments=segs,
        )

    def headline(self, t: dt.date, rounded: bool = False) -> dict:
        return spec.headline(self.parts(t), rounded)

    def trend(self, t: dt.date) -> list[dict]:
        out = []
        for m in spec.trend_dates(t):
            ar, current = self.ar(m)
            a, b = spec.dso_window(m)
            first = m.replace(day=1)
            out.append(
                spec.trend_point(
                    m, ar, current, self.sales(a, b), self.countback_sales(m), self.ar(first - dt.timedelta(days=1))[0], self.sales(first, m), self.adp(m)
                )
            )
        return out

    def overview(self, t: dt.date, top: int = 10) -> dict:
        o = self.open_at(t)
        c = self.positions(t, o)
        top_od = c[c["ar_overdue"] > 0].sort_values("ar_overdue", ascending=False, kind="stable").head(top)
        T = pd.Timestamp(t)
        bucket = np.searchsorted(np.array(spec.EDGES), (T - o["due_date"]).dt.days.to_numpy(), side="left")
        aging = o.groupby([o["segment"], o["region"], bucket], observed=True)["open"].sum()
        return {
            "headline": spec.headline(self.parts(t, o, c)),
            "prior": self.headline(spec.prior_month_end(t)),
            "trend": self.trend(t),
            "top_overdue": list(zip(top_od["customer_id"], top_od["ar_overdue"].astype(float))),
            "aging": {(s, r, int(b)): float(v) for (s, r, b), v in aging.items()},
        }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    args = ap.parse_args(argv)
    print(json.dumps(Prepared(args.folder).headline(args.as_of, rounded=True), indent=2))


if __name__ == "__main__":
    sys.exit(main())
