"""The worklist's facts as arrays by customer_key (dashboard/collections/worklist.py) give what the SQL gives.

An engine over views of the files answers every per-date fact with the SQL of queries/ (factors_at.sql,
collections/positions_at.sql, settlements.sql); the dashboard's engine answers from the arrays held in
memory (positions.py). On a generated ledger with a workbench holding assignments, contacts, promises
and dispute cases, both must give the same facts at several dates (exactly for counts, dates, texts;
1e-9 for money), the disputed overdue amount must be disputes/amounts.py's (the ledger's flag OR an
open case), and what the worklist keeps of the workbench must follow every write.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from dashboard.collections import promises as P
from dashboard.collections import worklist as W
from dashboard.disputes import cases
from dashboard.disputes.amounts import disputed_at
from dashboard.load.demo import make_demo
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context, assign, log_contact
from dashboard.workbench.store import Store
from tests.fixtures import same_frames

ADMIN = User("ada", "admin", "local")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("wl")
    data = DataDir(root / "data")
    assert make_demo(data, invoices=6_000, seed=23).ok
    held = Engine.open(data.current(), Settings(), in_memory=True)
    views = Engine.open(data.current(), Settings())
    assert held.positions.held and not views.positions.held
    store = Store(f"sqlite:///{root / 'workbench.sqlite'}")
    rng = np.random.default_rng(3)
    t = held.as_of
    ctx = Context(t, held.snapshot.id)
    ids = held.con.cursor().sql("select customer_id from customers order by customer_id").pl()["customer_id"].to_list()
    for i, c in enumerate(ids[:20]):
        assign(store, ADMIN, ctx, c, f"collector{i % 3}")
        for _ in range(2):
            log_contact(store, ADMIN, Context(t - dt.timedelta(days=int(rng.integers(0, 90)))), c, "call", "reached")
    for c in rng.choice(ids, size=80):
        made = t - dt.timedelta(days=int(rng.integers(0, 200)))
        P.record(store, ADMIN, ctx, held, str(c), float(rng.integers(50, 5_000)), made + dt.timedelta(days=int(rng.integers(0, 20))), made)
    # open cases on overdue invoices the ledger does not flag (and one it does): they add to the disputed amount
    docs = (
        held.con.cursor()
        .sql(
            "select i.invoice_id, c.customer_id, o.open_amount, o.disputed from open_intervals o join invoices i using (doc_key) "
            "join customers c on c.customer_key = i.customer_key where o.start_date <= ? and o.end_date > ? and o.due_date < ? - 40 "
            "and o.open_amount > 100 order by o.disputed desc, i.invoice_id",
            params=[t, t, t],
        )
        .pl()
    )
    picked = pl.concat([docs.filter(pl.col("disputed")).head(1), docs.filter(~pl.col("disputed")).head(4)])
    assert picked.height == 5
    for inv, cust, amount, _ in picked.rows():
        cases.open_case(store, ADMIN, Context(t - dt.timedelta(days=30), held.snapshot.id), held, cust, [inv], min(amount, 100.0), "pricing")
    yield held, views, store
    store.dispose()
    held.con.close()
    views.con.close()


DAYS = (0, 9, 31, 64, 200)


@pytest.mark.parametrize("days", DAYS)
def test_the_facts_from_the_arrays_are_the_facts_from_the_sql(world, days):
    held, views, store = world
    t = held.as_of - dt.timedelta(days=days)
    cs = held.settings.collections
    got = W.facts(held, store, t, cs)
    same_frames(got, W.facts(views, store, t, cs), ["customer_key"])
    a, b = W.build(got, t, cs), W.build(W.facts(views, store, t, cs), t, cs)
    assert a.rows["customer_id"].to_list() == b.rows["customer_id"].to_list()
    assert a.exited["customer_id"].to_list() == b.exited["customer_id"].to_list()
    if days == 0:  # the workbench's facts are there, so the comparison can fail
        assert got["collector"].drop_nulls().len() >= 20 and got["last_contact"].drop_nulls().len() >= 20
        assert (got["promised_open"] > 0).any() and got["oldest_dpd"].drop_nulls().len() > 10


@pytest.mark.parametrize("days", DAYS)
def test_the_disputed_overdue_amount_is_the_flag_or_an_open_case(world, days):
    """disputes/amounts.py's disputed_at is the definition: ledger flag OR an open case, each document once."""
    held, views, store = world
    t = held.as_of - dt.timedelta(days=days)
    want = disputed_at(held, store, t).select("customer_id", "disputed_overdue").filter(pl.col("disputed_overdue") != 0)
    for eng in (held, views):
        got = W.facts(eng, store, t, eng.settings.collections).select("customer_id", "disputed_overdue").filter(pl.col("disputed_overdue") != 0)
        same_frames(got.with_columns(customer_key=pl.col("customer_id")), want.with_columns(customer_key=pl.col("customer_id")), ["customer_key"])
    if days == 0:
        flag_only = W.facts(held, store, t, held.settings.collections)
        by_case = flag_only.filter(pl.col("disputed_overdue") > 0).height
        assert by_case >= 4  # the four cases on unflagged invoices count, so the check can fail


def test_what_the_worklist_keeps_of_the_workbench_follows_every_write(world):
    held, _, store = world
    t = held.as_of
    cs = held.settings.collections
    before = W.facts(held, store, t, cs)
    who = before.filter(pl.col("last_contact").is_null() & pl.col("collector").is_null())["customer_id"][0]
    assign(store, ADMIN, Context(t, held.snapshot.id), who, "collector9")
    log_contact(store, ADMIN, Context(t), who, "email", "reached")
    after = W.facts(held, store, t, cs).filter(pl.col("customer_id") == who)
    assert after["collector"].item() == "collector9" and after["last_contact"].item() == t
    # and a contact dated after T had not happened at T
    log_contact(store, ADMIN, Context(t + dt.timedelta(days=5)), who, "call", "reached")
    assert W.facts(held, store, t, cs).filter(pl.col("customer_id") == who)["last_contact"].item() == t
