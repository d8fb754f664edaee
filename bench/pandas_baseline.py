"""A plain pandas reading of kpis.md's headline, straight from the extract files, one as-of date
at a time: the oracle of tests/test_cross_check.py.

    python bench/pandas_baseline.py EXTRACT_FOLDER [--as-of YYYY-MM-DD]

Deliberately plain (read, convert, filter, group, every window and every countback month a new
mask over all documents): a second, independent reading of the spec for the tests, NOT a speed
baseline. It re-converts the whole ledger at every date and takes ~37 s for one headline at 10M
documents, where competent pandas takes a few seconds; bench/run.py measures the product against
bench/baselines/ (prepared polars, DuckDB, competent pandas) instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BUCKETS = ["not_due", "1_30", "31_60", "61_90", "91_180", "181_plus"]


def load_extract(folder) -> dict[str, pd.DataFrame]:
    folder = Path(folder)
    out = {}
    for name in ("invoices", "payments", "customers", "orders", "fx"):
        for ext in (".parquet", ".csv"):
            f = folder / f"{name}{ext}"
            if f.exists():
                df = pd.read_parquet(f) if ext == ".parquet" else pd.read_csv(f, dtype=str)
                df.columns = [c.strip().lower() for c in df.columns]
                out[name] = df
                break
    for name, cols in {
        "invoices": ["invoice_date", "due_date", "paid_date"],
        "payments": ["payment_date"],
        "orders": ["order_date"],
        "fx": ["rate_date"],
    }.items():
        if name in out:
            for c in cols:
                if c in out[name]:
                    out[name][c] = pd.to_datetime(out[name][c])
    for name in ("invoices", "payments", "orders", "customers", "fx"):
        if name in out:
            for c in ("amount", "credit_limit", "rate_to_base"):
                if c in out[name]:
                    out[name][c] = pd.to_numeric(out[name][c])
    return out


def _to_base(df: pd.DataFrame, date_col: str, fx: pd.DataFrame | None, base: str) -> pd.Series:
    """Rate of each row: latest rate of its currency dated on or before its date."""
    cur = df["currency"].fillna(base).str.upper() if "currency" in df else pd.Series(base, index=df.index)
    rate = pd.Series(np.where(cur == base, 1.0, np.nan), index=df.index)
    if fx is not None and len(fx):
        f = fx.copy()
        f["rate_date"] = f["rate_date"].fillna(pd.Timestamp("1900-01-01")) if "rate_date" in f else pd.Timestamp("1900-01-01")
        left = pd.DataFrame({"_i": df.index, "currency": cur.values, "d": df[date_col].values}).sort_values("d")
        m = pd.merge_asof(left, f.sort_values("rate_date"), left_on="d", right_on="rate_date", by="currency", direction="backward")
        got = m.set_index("_i")["rate_to_base"]
        rate = rate.fillna(got)
    return rate


def headline(
    tables: dict, as_of=None, base_currency: str = "USD", window_days: int = 90, payment_window_days: int = 365, aging_edges=(0, 30, 60, 90, 180)
) -> dict:
    inv = tables["invoices"].copy()
    pay = tables.get("payments")
    fx = tables.get("fx")
    if as_of is None:
        dates = [inv["invoice_date"].max(), inv["paid_date"].max()] + ([pay["payment_date"].max()] if pay is not None and len(pay) else [])
        as_of = max(d for d in dates if pd.notna(d)).date()
    T = pd.Timestamp(as_of)
    P, W = window_days, payment_window_days
    inv["rate"] = _to_base(inv, "invoice_date", fx, base_currency)
    inv["amt"] = inv["amount"] * inv["rate"]
    inv["disputed"] = inv["disputed"].fillna(False).astype(str).str.lower().isin(["true", "1", "yes"]) if "disputed" in inv else False

    def open_at(t: pd.Timestamp) -> pd.Series:
        issued = inv["invoice_date"] <= t
        closed = inv["paid_date"].notna() & (inv["paid_date"] <= t)
        amount = inv["amt"].copy()
        if pay is not None and len(pay):
            p = pay[pay["payment_date"] <= t].merge(inv[["invoice_id", "rate"]], on="invoice_id")
            paid = (p["amount"] * p["rate"]).groupby(p["invoice_id"]).sum()
            amount = amount - inv["invoice_id"].map(paid).fillna(0.0)
        return amount.where(issued & ~closed, 0.0)

    def sales(a, b) -> float:
        m = (inv["invoice_date"] >= a) & (inv["invoice_date"] <= b)
        return float(inv.loc[m, "amt"].sum())

    o = open_at(T)
    dpd = (T - inv["due_date"]).dt.days
    ar, current = float(o.sum()), float(o[dpd <= 0].sum())
    overdue = ar - current
    edges = list(aging_edges)
    bucket = np.searchsorted(np.array(edges), dpd.values, side="left")
    aging = {name: round(float(o[bucket == i].sum()), 2) for i, name in enumerate(BUCKETS)}
    s = sales(T - pd.Timedelta(days=P - 1), T)
    dso = ar / s * P if s > 0 else None
    bp = current / s * P if s > 0 else None
    # countback
    cb = 0.0
    if ar > 0:
        remaining = ar
        end = T
        start = T.replace(day=1)
        for _ in range(24):
            sv, d = sales(start, end), (end - start).days + 1
            if sv <= 0:
                cb += d
            elif remaining >= sv:
                cb += d
                remaining -= sv
            else:
                cb += d * remaining / sv
                break
            if remaining <= 0:
                break
            end = start - pd.Timedelta(days=1)
            start = end.replace(day=1)
    a = T - pd.Timedelta(days=P - 1)
    ar_before = float(open_at(a - pd.Timedelta(days=1)).sum())
    den = ar_before + s - current
    cei = (ar_before + s - ar) / den * 100 if den > 0 else None
    paid = inv[(inv["amt"] > 0) & inv["paid_date"].notna() & (inv["paid_date"] >= T - pd.Timedelta(days=W - 1)) & (inv["paid_date"] <= T)]
    w = paid["amt"].sum()
    adp = float(((paid["paid_date"] - paid["invoice_date"]).dt.days * paid["amt"]).sum() / w) if len(paid) and w > 0 else None
    late = float(((paid["paid_date"] - paid["due_date"]).dt.days.clip(lower=0) * paid["amt"]).sum() / w) if len(paid) and w > 0 else None
    ontime = float((paid["paid_date"] <= paid["due_date"]).mean()) if len(paid) else None

    # customers, orders, exposure
    cust = tables.get("customers")
    cust = cust.copy() if cust is not None else pd.DataFrame({"customer_id": pd.Series(dtype=str)})
    for c in ("segment", "credit_limit"):
        if c not in cust:
            cust[c] = None
    extra = pd.DataFrame({"customer_id": sorted(set(inv["customer_id"]) - set(cust["customer_id"]))})
    cust = pd.concat([cust, extra], ignore_index=True)
    orders = tables.get("orders")
    if orders is not None and len(orders):
        orders = orders.copy()
        orders["amt"] = orders["amount"] * _to_base(orders, "order_date", fx, base_currency)
        oo = orders[orders["order_date"] <= T].groupby("customer_id")["amt"].sum()
        cust = pd.concat([cust, pd.DataFrame({"customer_id": sorted(set(orders["customer_id"]) - set(cust["customer_id"]))})], ignore_index=True)
    else:
        oo = pd.Series(dtype=float)
    cust["segment"] = cust["segment"].fillna("Unassigned")
    ar_c = o.groupby(inv["customer_id"]).sum()
    od_c = o[dpd > 0].groupby(inv["customer_id"][dpd > 0]).sum()
    cust["ar"] = cust["customer_id"].map(ar_c).fillna(0.0)
    cust["ar_overdue"] = cust["customer_id"].map(od_c).fillna(0.0)
    cust["open_orders"] = cust["customer_id"].map(oo).fillna(0.0)
    cust["exposure"] = cust["ar"] + cust["open_orders"]
    lim = pd.to_numeric(cust["credit_limit"])
    cust["over"] = lim.notna() & (cust["exposure"] > lim)
    top10 = cust["ar"].nlargest(10).sum()
    sales_seg = (
        inv[(inv["invoice_date"] >= T - pd.Timedelta(days=P - 1)) & (inv["invoice_date"] <= T)]
        .groupby(inv["customer_id"].map(cust.set_index("customer_id")["segment"]))["amt"]
        .sum()
    )
    by_segment = []
    for seg, g in cust.groupby("segment"):
        gl = pd.to_numeric(g["credit_limit"])
        has = gl.notna()
        limit = float(gl[has].sum()) if has.any() else None
        ss = float(sales_seg.get(seg, 0.0))
        by_segment.append(
            {
                "segment": seg,
                "ar_total": round(g["ar"].sum(), 2),
                "ar_overdue": round(g["ar_overdue"].sum(), 2),
                "open_orders": round(g["open_orders"].sum(), 2),
                "exposure": round(g["exposure"].sum(), 2),
                "credit_limit": None if limit is None else round(limit, 2),
                "utilization": round(g.loc[has, "exposure"].sum() / limit, 4) if limit and limit > 0 else None,
                "over_limit_customers": int(g["over"].sum()),
                "dso_standard": round(g["ar"].sum() / ss * P, 2) if ss > 0 else None,
            }
        )
    r2 = lambda x: None if x is None else round(x, 2)  # noqa: E731
    return {
        "as_of": T.date().isoformat(),
        "base_currency": base_currency,
        "ar_total": round(ar, 2),
        "ar_current": round(current, 2),
        "ar_overdue": round(overdue, 2),
        "pct_overdue": round(overdue / ar, 4) if ar > 0 else None,
        "aging": aging,
        "dso_standard": r2(dso),
        "dso_countback": round(cb, 2),
        "bpdso": r2(bp),
        "add": r2(None if dso is None else dso - bp),
        "cei": r2(cei),
        "adp": r2(adp),
        "avg_days_late": r2(late),
        "on_time_rate": None if ontime is None else round(ontime, 4),
        "disputed_ar": round(float(o[inv["disputed"]].sum()), 2),
        "open_orders": round(float(cust["open_orders"].sum()), 2),
        "exposure_total": round(ar + float(cust["open_orders"].sum()), 2),
        "customers": len(cust),
        "customers_with_limit": int(lim.notna().sum()),
        "over_limit_customers": int(cust["over"].sum()),
        "concentration_top10": round(top10 / ar, 4) if ar > 0 else None,
        "by_segment": by_segment,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = ap.parse_args(argv)
    print(json.dumps(headline(load_extract(args.folder), as_of=args.as_of), indent=2))


if __name__ == "__main__":
    sys.exit(main())
