"""The amount invariant of disputes.md, for every case at every date, over generated ledgers and random case
histories (hypothesis): original = open + paid + credited + written_off + cleared_manually (+ voided, the rest
of a voided case), open >= 0, paid <= what the ledger settled, and KPIs that stay within their bounds."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.disputes import cases, kpis
from dashboard.disputes.amounts import cases_at
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import load

START = dt.date(2026, 1, 1)
ADA = User("ada", "admin", "local")


def ledger(rng: random.Random, n: int) -> dict[str, str]:
    """n invoices of 3 customers over 150 days, some paid in parts, some in full, some flagged disputed."""
    inv, pay = ["invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed"], ["payment_id,invoice_id,payment_date,amount"]
    for i in range(n):
        day = START + dt.timedelta(days=rng.randrange(120))
        amount = rng.randrange(100, 5000)
        paid = ""
        if rng.random() < 0.3:
            paid = (day + dt.timedelta(days=rng.randrange(1, 60))).isoformat()
        elif rng.random() < 0.6:
            left = amount
            for k in range(rng.randrange(1, 4)):
                part = rng.randrange(1, left + 1) if left > 1 else left
                left -= part
                pay.append(f"P{i}_{k},I{i},{(day + dt.timedelta(days=rng.randrange(0, 90))).isoformat()},{part}")
                if left <= 0:
                    break
        flag = "yes" if rng.random() < 0.2 else "no"
        inv.append(f"I{i},C{rng.randrange(3)},{day.isoformat()},{(day + dt.timedelta(days=30)).isoformat()},{amount},{paid},{flag}")
    return {"invoices": "\n".join(inv), "payments": "\n".join(pay) if len(pay) > 1 else "payment_id,invoice_id,payment_date,amount"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(4, 25), steps=st.integers(1, 25))
def test_original_is_always_the_sum_of_its_parts(tmp_path_factory, seed, n, steps):
    rng = random.Random(seed)
    tmp = tmp_path_factory.mktemp("inv")
    eng = load(tmp, ledger(rng, n), as_of=dt.date(2026, 7, 31))
    store = Store(f"sqlite:///{tmp / 'wb.sqlite'}")
    docs = eng.con.cursor().sql("select invoice_id, customer_id, invoice_date from invoices").pl()
    day = START
    try:
        for _ in range(steps):  # a random history: opens, moves, resolutions and voids on ascending business dates
            day += dt.timedelta(days=rng.randrange(0, 12))
            ctx = Context(day, eng.snapshot.id)
            raw = cases.stored(store)
            live = raw.filter(pl.col("resolved_on").is_null() & pl.col("voided_on").is_null())
            act = rng.random()
            try:
                if act < 0.45 or live.height == 0:
                    issued = docs.filter(pl.col("invoice_date") <= day)
                    if issued.height == 0:
                        continue
                    inv = issued.row(rng.randrange(issued.height), named=True)
                    cases.open_case(store, ADA, ctx, eng, inv["customer_id"], [inv["invoice_id"]], rng.uniform(0.01, 2500), "other")
                elif act < 0.8:
                    cid = int(live["case_id"][rng.randrange(live.height)])
                    orig = float(live.filter(pl.col("case_id") == cid)["original"][0])
                    split = [rng.uniform(0, orig / 3) for _ in range(3)]
                    cases.resolve(store, ADA, ctx, eng, cid, "cause", credited=split[0], written_off=split[1], cleared=split[2])
                else:
                    cid = int(live["case_id"][rng.randrange(live.height)])
                    cases.move(store, ADA, ctx, cid, "voided")
            except Refused:
                pass  # e.g. more than is open, or an invoice already in a case: refused in words, nothing written
        hist = cases.history(store)
        raw = cases.stored(store)
        for t in [START + dt.timedelta(days=d) for d in range(0, 220, 9)]:
            c = cases_at(eng, raw, hist, t)
            if c.height == 0:
                continue
            total = c["open"] + c["paid"] + c["credited"] + c["written_off"] + c["cleared_manually"] + c["voided"]
            assert ((total - c["original"]).abs() < 0.011).all(), c
            assert (c["open"] >= 0).all() and (c["paid"] >= 0).all()
            assert ((c["voided"] == 0) | (c["status"] == "voided")).all()
            k = kpis.kpis(c, 0.0, 1.0, t)
            assert k["open_cases"] == c.filter(pl.col("status").is_in(cases.OPEN_STATUSES)).height
            assert k["write_off_rate"] is None or 0 <= k["write_off_rate"] <= 1
            if k["cycle_days_median"] is not None:
                assert 0 <= k["cycle_days_median"] <= k["cycle_days_p90"]  # type: ignore[operator]
    finally:
        store.dispose()
