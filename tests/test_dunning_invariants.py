"""Dunning invariants on a generated ledger (the demo generator, 30,000 invoices): whatever the data,
a letter's total is its items' open + interest + compensation + fee, nothing disputed or not yet past
grace is dunned, a customer gets a letter or a reason but never both, and levels climb one step per run."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dashboard.dunning import runs
from dashboard.dunning.proposal import open_items, propose
from dashboard.load.demo import make_demo
from dashboard.metrics.kpis import Engine
from dashboard.settings import DunningSettings, Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store

SETTINGS = Settings(dunning=DunningSettings(interest="fixed", fixed_rate=0.10, fixed_compensation=40))


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("demo") / "data")
    res = make_demo(data, invoices=30_000, seed=7)
    assert res.ok
    return Engine.open(res.snapshot, SETTINGS)


def test_letters_add_up_and_nothing_excluded_is_dunned(eng, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.sqlite'}")
    t = eng.as_of
    p = propose(eng, store, t)
    assert p.letters.height > 50, "the demo ledger has customers to remind"
    sums = p.items.group_by("customer_id").agg(
        open=pl.col("open").sum(), interest=pl.col("interest").sum(), compensation=pl.col("compensation").sum(), level=pl.col("level").max()
    )
    both = p.letters.join(sums, on="customer_id", suffix="_items")
    assert both.height == p.letters.height
    assert ((both["total"] - (both["open_items"] + both["interest_items"] + both["compensation_items"] + both["fee"])).abs() < 0.015).all()
    assert (both["level"] == both["level_items"]).all() and (both["level"] == 1).all()  # a first run starts at level 1
    assert (p.letters["total"] - p.letters["fee"] - p.letters["interest"] - p.letters["compensation"] >= SETTINGS.dunning.min_amount - 0.005).all()
    docs = open_items(eng, t)
    listed = p.items.filter(pl.col("amount") > 0).join(docs.select("invoice_id", "disputed"), on="invoice_id")
    assert listed.height and not listed["disputed"].any()
    assert (listed.filter(pl.col("open") > 0)["dpd"] >= 7).all()
    assert (p.items["interest"] >= 0).all() and (p.items.filter(pl.col("amount") <= 0)["interest"] == 0).all()
    # 10 % a year: an item's interest is at most open-ish x 0.10 x dpd / 365 (open falls with payments, never rises)
    pos = p.items.filter(pl.col("amount") > 0)
    assert (pos["interest"] <= pos["amount"] * 0.10 * pos["dpd"] / 365 + 0.01).all()
    assert not set(p.letters["customer_id"]) & set(p.skipped["customer_id"])
    assert set(p.skipped["reason"]) <= {"blocked", "interval", "promise", "dispute", "below minimum"}
    store.dispose()


def test_levels_climb_one_step_per_issued_run_and_interest_is_not_claimed_twice(eng, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.sqlite'}")
    t = eng.as_of
    ana, mia = User("ana", "credit_analyst", "oidc"), User("mia", "credit_manager", "oidc")
    days = [t - dt.timedelta(days=60), t - dt.timedelta(days=30), t]
    props = []
    for day in days:
        w, p = runs.propose_run(store, ana, Context(day, eng.snapshot.id), eng)
        runs.issue(store, mia, eng, int(w.id), None)
        props.append(p)
    a, b = props[1].items, props[2].items
    step = b.join(a.select("invoice_id", prev=pl.col("level")), on="invoice_id").filter(pl.col("amount") > 0)
    assert step.height and (step["level"] <= step["prev"] + 1).all()
    # over the three runs no document was charged more interest than it accrued by the last run, nor compensated twice
    every = pl.concat([p.items for p in props]).filter(pl.col("amount") > 0)
    claimed = every.group_by("invoice_id").agg(pl.col("interest").sum(), pl.col("compensation").sum(), accrued=pl.col("accrued").max())
    assert (claimed["interest"] <= claimed["accrued"] + 0.005).all() and (claimed["compensation"] <= 40).all()
    store.dispose()
