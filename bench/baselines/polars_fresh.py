"""Baseline for a fresh process: polars reads the raw extract and prints the Headline JSON for T.

    python bench/baselines/polars_fresh.py EXTRACT_FOLDER --as-of YYYY-MM-DD

What a skilled analyst writes for a one-off answer (no preparation kept between runs): lazy
scans of the Parquet files, one collect_all for everything the invoices give (documents open at
T or at T-P, daily sales for the countback months, sales per customer in the DSO window,
settled documents in the payment window, the customers that appear), then the payments of
the documents still open, the orders and the master. Written from kpis.md and the ledger
contract alone, like the other baselines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import polars as pl

try:
    from . import spec
    from .polars_prepared import _fx
except ImportError:  # run as a script
    import spec  # type: ignore[no-redef]
    from polars_prepared import _fx  # type: ignore[no-redef]


def _scan(folder: Path, name: str) -> pl.LazyFrame | None:
    f = folder / f"{name}.parquet"
    if not f.exists():
        return None
    lf = pl.scan_parquet(f)
    return lf.rename({c: c.strip().lower() for c in lf.collect_schema().names()})


def headline(folder: Path, t: dt.date, rounded: bool = True) -> dict:
    folder = Path(folder)
    tp = t - dt.timedelta(days=spec.P)  # the cei's AR(a-1)
    w_lo, w_hi = spec.dso_window(t)
    p_lo, p_hi = spec.pay_window(t)
    cb = spec.countback_periods(t)
    fx_raw = _scan(folder, "fx")
    fx = _fx({"fx": fx_raw.collect()} if fx_raw is not None else {})
    inv = _scan(folder, "invoices")
    names = inv.collect_schema().names()
    cur = pl.col("currency").str.to_uppercase().fill_null(spec.BASE) if "currency" in names else pl.lit(spec.BASE)
    paid = pl.col("paid_date") if "paid_date" in names else pl.lit(None, pl.Date)
    disputed = pl.col("disputed").fill_null(False) if "disputed" in names else pl.lit(False)
    inv = inv.filter(pl.col("invoice_date") <= t).select(
        "invoice_id", "customer_id", "invoice_date", "due_date", "amount", cur.alias("cur"), paid.alias("paid_date"), disputed.alias("disputed")
    )
    pairs = inv.select("cur", "invoice_date").unique().collect().sort("invoice_date")
    rates = pairs.join_asof(fx.rename({"currency": "cur"}), left_on="invoice_date", right_on="rate_date", by="cur", strategy="backward", check_sortedness=False)
    inv = inv.join(rates.lazy().select("cur", "invoice_date", pl.col("rate_to_base").alias("rate")), on=["cur", "invoice_date"], how="left").with_columns(
        amt=pl.col("amount") * pl.col("rate")
    )
    not_cleared = lambda d: pl.col("paid_date").is_null() | (pl.col("paid_date") > d)  # noqa: E731
    q_open = inv.filter(not_cleared(tp)).select(
        "invoice_id",
        "customer_id",
        "due_date",
        "disputed",
        "amt",
        "rate",
        not_cleared(t).alias("open_t"),
        (pl.col("invoice_date") <= tp).alias("open_tp"),
    )
    q_daily = inv.filter(pl.col("invoice_date") >= cb[-1][0]).group_by("invoice_date").agg(pl.col("amt").sum())
    q_window = inv.filter(pl.col("invoice_date") >= w_lo).group_by("customer_id").agg(pl.col("amt").sum())
    d_pay = (pl.col("paid_date") - pl.col("invoice_date")).dt.total_days()
    d_late = (pl.col("paid_date") - pl.col("due_date")).dt.total_days().clip(lower_bound=0)
    q_paid = inv.filter((pl.col("amt") > 0) & pl.col("paid_date").is_between(p_lo, p_hi)).select(
        pl.col("amt").sum().alias("amount"),
        (pl.col("amt") * d_pay).sum().alias("x_pay"),
        (pl.col("amt") * d_late).sum().alias("x_late"),
        pl.len().alias("n"),
        (pl.col("paid_date") <= pl.col("due_date")).sum().alias("on_time"),
    )
    q_ids = _scan(folder, "invoices").select(pl.col("customer_id").unique())
    open_docs, daily, window, paid_w, inv_ids = pl.collect_all([q_open, q_daily, q_window, q_paid, q_ids])

    # payments of the documents still open at T or T-P, at their document's rate
    pay = _scan(folder, "payments")
    if pay is not None:
        paid_by = (
            pay.filter(pl.col("payment_date") <= t)
            .join(open_docs.lazy().select("invoice_id", "rate", "open_tp"), on="invoice_id")
            .group_by("invoice_id")
            .agg(
                (pl.col("amount") * pl.col("rate")).sum().alias("paid_t"),
                (pl.col("amount") * pl.col("rate")).filter((pl.col("payment_date") <= tp) & pl.col("open_tp")).sum().alias("paid_tp"),
            )
            .collect()
        )
        open_docs = open_docs.join(paid_by, on="invoice_id", how="left").with_columns(pl.col("paid_t", "paid_tp").fill_null(0.0))
    else:
        open_docs = open_docs.with_columns(paid_t=pl.lit(0.0), paid_tp=pl.lit(0.0))
    at_t = open_docs.filter("open_t").with_columns(open=pl.col("amt") - pl.col("paid_t"))
    ar_tp = float(open_docs.filter("open_tp").select(pl.col("amt").sum() - pl.col("paid_tp").sum()).item() or 0.0)

    # customers: the master plus anyone in invoices or orders; open orders at T
    master = _scan(folder, "customers")
    master = master.collect() if master is not None else pl.DataFrame(schema={"customer_id": pl.Utf8})
    for col in ("segment", "region", "credit_limit"):
        if col not in master.columns:
            master = master.with_columns(pl.lit(None, pl.Float64 if col == "credit_limit" else pl.Utf8).alias(col))
    orders = _scan(folder, "orders")
    if orders is not None:
        orders = orders.collect()
        ocur = pl.col("currency").str.to_uppercase().fill_null(spec.BASE) if "currency" in orders.columns else pl.lit(spec.BASE)
        orders = orders.with_columns(ocur.alias("cur")).sort("order_date")
        orders = orders.join_asof(
            fx.rename({"currency": "cur"}), left_on="order_date", right_on="rate_date", by="cur", strategy="backward", check_sortedness=False
        )
        oo = orders.filter(pl.col("order_date") <= t).group_by("customer_id").agg((pl.col("amount") * pl.col("rate_to_base")).sum().alias("open_orders"))
        order_ids = orders.select("customer_id")
    else:
        oo = pl.DataFrame(schema={"customer_id": pl.Utf8, "open_orders": pl.Float64})
        order_ids = pl.DataFrame(schema={"customer_id": pl.Utf8})
    ids = pl.concat([master.select("customer_id"), inv_ids, order_ids]).unique()
    cust = ids.join(master.unique("customer_id", keep="first").select("customer_id", "segment", "credit_limit"), on="customer_id", how="left").with_columns(
        pl.col("segment").fill_null(spec.UNASSIGNED), pl.col("credit_limit").cast(pl.Float64)
    )
    ar_c = at_t.group_by("customer_id").agg(pl.col("open").sum().alias("ar"), pl.col("open").filter(pl.col("due_date") < t).sum().alias("ar_overdue"))
    pos = (
        cust.join(ar_c, on="customer_id", how="left")
        .join(oo, on="customer_id", how="left")
        .join(window.rename({"amt": "sales"}), on="customer_id", how="left")
        .with_columns(pl.col("ar", "ar_overdue", "open_orders", "sales").fill_null(0.0))
        .with_columns(exposure=pl.col("ar") + pl.col("open_orders"), has_limit=pl.col("credit_limit").is_not_null())
        .with_columns(over=pl.col("has_limit") & (pl.col("exposure") > pl.col("credit_limit")))
    )
    seg = pos.group_by("segment").agg(
        pl.col("ar").sum(),
        pl.col("ar_overdue").sum(),
        pl.col("open_orders").sum(),
        pl.col("exposure").sum(),
        pl.col("credit_limit").sum().alias("limit_sum"),
        pl.col("has_limit").sum().alias("customers_with_limit"),
        pl.col("exposure").filter("has_limit").sum().alias("exposure_with_limit"),
        pl.col("over").sum().alias("over_limit"),
        pl.col("sales").sum().alias("sales_window"),
    )

    dpd = (pl.lit(t) - pl.col("due_date")).dt.total_days()
    bucket = pl.sum_horizontal([(dpd > e).cast(pl.Int32) for e in spec.EDGES])
    aging = dict(at_t.group_by(bucket.alias("b")).agg(pl.col("open").sum()).iter_rows())

    def sales(a: dt.date, b: dt.date) -> float:
        return float(daily.filter(pl.col("invoice_date").is_between(a, b))["amt"].sum())

    pw = paid_w.row(0, named=True)
    parts = spec.Parts(
        t=t,
        ar=float(at_t["open"].sum()),
        current=float(aging.get(0, 0.0)),
        disputed=float(at_t.filter("disputed")["open"].sum()),
        aging=[float(aging.get(b, 0.0)) for b in range(len(spec.BUCKETS))],
        sales_window=sales(w_lo, w_hi),
        countback_sales=[sales(a, b) for a, b, _ in cb],
        ar_before_window=ar_tp,
        paid_amount=float(pw["amount"] or 0.0),
        paid_x_days_to_pay=float(pw["x_pay"] or 0.0),
        paid_x_days_late=float(pw["x_late"] or 0.0),
        paid_count=int(pw["n"]),
        paid_on_time=int(pw["on_time"] or 0),
        open_orders=float(pos["open_orders"].sum()),
        customers=pos.height,
        customers_with_limit=int(pos["has_limit"].sum()),
        over_limit=int(pos["over"].sum()),
        top10_ar=float(pos["ar"].top_k(10).sum()),
        segments=[spec.Segment(**r) for r in seg.iter_rows(named=True)],
    )
    return spec.headline(parts, rounded)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    args = ap.parse_args(argv)
    print(json.dumps(headline(args.folder, args.as_of), indent=2))


if __name__ == "__main__":
    sys.exit(main())
