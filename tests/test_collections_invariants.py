"""Invariants of the worklist and of promises to pay on a generated ledger (the demo), whatever its data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from dashboard.collections import promises as P
from dashboard.collections import worklist as W
from dashboard.load.demo import make_demo
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context, assign, log_contact
from dashboard.workbench.store import Store

ADMIN = User("ada", "admin", "local")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    data = DataDir(root / "data")
    assert make_demo(data, invoices=4_000, seed=11).ok
    eng = Engine.open(data.current(), Settings())
    store = Store(f"sqlite:///{root / 'workbench.sqlite'}")
    rng = np.random.default_rng(5)
    t = eng.as_of
    ctx = Context(t, eng.snapshot.id)
    ids = eng.con.cursor().sql("select customer_id from customers order by customer_id").pl()["customer_id"].to_list()
    for i, c in enumerate(ids[:12]):
        assign(store, ADMIN, ctx, c, f"collector{i % 3}")
        log_contact(store, ADMIN, Context(t - dt.timedelta(days=int(rng.integers(0, 40)))), c, "call", "reached")
    for c in rng.choice(ids, size=60):
        made = t - dt.timedelta(days=int(rng.integers(0, 200)))
        P.record(store, ADMIN, ctx, eng, str(c), float(rng.integers(50, 5_000)), made + dt.timedelta(days=int(rng.integers(0, 20))), made)
    yield eng, store
    store.dispose()


def test_every_customer_is_on_the_list_or_taken_off_by_an_exit_rule(world):
    eng, store = world
    cs = eng.settings.collections
    facts = W.facts(eng, store, eng.as_of, cs)
    wl = W.build(facts, eng.as_of, cs)
    assert facts["customer_id"].is_unique().all()
    # the default exit rules: nothing collectible, or open promises not yet due covering all of it
    covered = (facts["promised_not_due"] > 0) & (facts["promised_not_due"] >= facts["collectible"] - P.CENT)
    stays = facts.filter((facts["collectible"] > P.CENT) & ~covered)["customer_id"]
    assert sorted(wl.rows["customer_id"]) == sorted(stays)
    assert not set(wl.rows["customer_id"]) & set(wl.exited["customer_id"])
    assert (wl.rows["exit_rules"].list.len() == 0).all() and (wl.exited["exit_rules"].list.len() > 0).all()
    assert (wl.exited["overdue"] > 0).all()


def test_priority_is_the_share_of_points_and_the_order_holds(world):
    eng, store = world
    wl = W.worklist(eng, store)
    r = wl.rows
    assert ((r["priority"] >= 0) & (r["priority"] <= 100)).all()
    points = r["rules_met"].list.eval(pl.element().struct.field("points")).list.sum()
    assert (points == r["points"]).all()
    exact = r["points"].cast(pl.Float64) * 100 / wl.max_points
    assert ((r["priority"] - exact).abs() <= 0.05 + 1e-9).all()
    keys = list(zip((-r["priority"]).to_list(), (-r["collectible"]).to_list(), r["customer_id"].to_list()))
    assert keys == sorted(keys)
    for who in ("collector0", "collector1"):
        mine = W.mine(wl, who)
        assert set(mine.rows["collector"]) <= {who} and mine.rows.height == r.filter(pl.col("collector") == who).height


def test_promise_states_follow_what_was_paid(world):
    eng, store = world
    tol = eng.settings.collections.promise_tolerance_days
    t = eng.as_of
    ev = P.evaluate(eng, P.stored(store), t, tol)
    assert ev.height == 60
    assert ((ev["paid"] >= 0) & (ev["paid"] <= ev["amount"] + 1e-9)).all()
    kept = ev["paid"] >= ev["amount"] - P.CENT
    assert ((ev["state"] == "kept") == kept).all()
    assert (ev.filter(pl.col("state") == "open")["window_end"] >= t).all()
    assert (ev.filter(pl.col("state") == "broken")["paid"] == 0).all()
    assert (ev.filter(pl.col("state") == "partially kept")["paid"] > 0).all()
    # a later promise of a customer never has a lower level (what had ended broken only grows)
    levels = ev.sort(["customer_id", "made_on", "promise_id"]).group_by("customer_id", maintain_order=True).agg(pl.col("level"))
    assert all(lv == sorted(lv) for lv in levels["level"].to_list())
    # what was paid toward a promise only grows with T on one snapshot
    earlier = P.evaluate(eng, P.stored(store), t - dt.timedelta(days=15), tol).select("promise_id", before=pl.col("paid"))
    both = earlier.join(ev.select("promise_id", "paid"), on="promise_id")
    assert (both["before"] <= both["paid"] + 1e-9).all()
    k = P.kpis(ev, P.overdue_ar(eng, t), t, 90)
    assert k["promise_kept_rate"] is None or 0 <= k["promise_kept_rate"] <= 1
    assert k["promised_share"] is None or k["promised_share"] >= 0
