"""The demo ledger: deterministic, refused by nothing, and realistic enough to mean something."""

import datetime as dt

import polars as pl

from dashboard.load.demo import DEMO_AS_OF, write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir


def test_demo_is_deterministic_and_loads_without_errors(tmp_path):
    a = write_demo_extract(tmp_path / "a", invoices=20_000, seed=7)
    b = write_demo_extract(tmp_path / "b", invoices=20_000, seed=7)
    for name in ("invoices", "payments", "customers", "orders", "fx"):
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name
    res = ingest([a], DataDir(tmp_path / "d"), Settings())
    assert res.ok and not res.report.errors
    assert res.snapshot.as_of == DEMO_AS_OF


def test_demo_has_what_a_realistic_ledger_has(tmp_path):
    x = write_demo_extract(tmp_path / "x", invoices=20_000)
    inv, cust = pl.read_parquet(x / "invoices.parquet"), pl.read_parquet(x / "customers.parquet")
    assert inv.height == 20_000 and cust.height == 266
    assert set(cust["segment"]) == {"Enterprise", "Mid-Market", "SMB", "Public Sector"}
    assert inv["currency"].n_unique() >= 4
    assert (inv["amount"] < 0).sum() > 300  # credit notes
    assert inv["disputed"].sum() > 100
    assert pl.read_parquet(x / "payments.parquet").height > 500  # partial payments
    assert pl.read_parquet(x / "orders.parquet").height > 50
    assert set((inv["due_date"] - inv["invoice_date"]).dt.total_days().unique()) <= {15, 30, 45, 60, 90}
    eng = Engine.open(ingest([x], DataDir(tmp_path / "d"), Settings()).snapshot, Settings())
    h = eng.headline()
    assert 0 < h["over_limit_customers"] < 0.2 * h["customers"]
    assert 0.05 < h["pct_overdue"] < 0.5 and 30 < h["dso_standard"] < 90
    # seasonality: quarter-end months sell more than July and August
    m = inv.group_by(pl.col("invoice_date").dt.month().alias("m")).len()
    per = dict(zip(m["m"], m["len"]))
    assert per[12] > per[7] and per[3] > per[8]


def test_deteriorating_customers_pay_later_at_the_end(tmp_path):
    x = write_demo_extract(tmp_path / "x", invoices=30_000)
    inv = pl.read_parquet(x / "invoices.parquet").join(pl.read_parquet(x / "customers.parquet").select("customer_id", "demo_behaviour"), on="customer_id")
    paid = inv.filter(pl.col("paid_date").is_not_null() & (pl.col("amount") > 0)).with_columns(
        late=(pl.col("paid_date") - pl.col("due_date")).dt.total_days(),
        recent=pl.col("invoice_date") > DEMO_AS_OF - dt.timedelta(days=240),
    )
    g = paid.filter(pl.col("demo_behaviour") == "deteriorating").group_by("recent").agg(pl.col("late").mean())
    late = dict(zip(g["recent"], g["late"]))
    assert late[True] > late[False] + 10
