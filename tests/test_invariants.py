"""Invariants that must hold on any ledger (hypothesis), and a naive oracle for open(i, T).

The oracle is written straight from ledger-contract.md, one document at a
time, to check the interval tables built at ingest on random ledgers.
"""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir

BASE = dt.date(2026, 1, 1)
SEGMENTS = ["Enterprise", "SMB", "Public Sector"]
RATES = {"USD": 1.0, "EUR": 1.1, "JPY": 0.007}


@st.composite
def ledgers(draw):
    n_cust = draw(st.integers(1, 6))
    docs = []
    for i in range(draw(st.integers(1, 25))):
        inv = BASE + dt.timedelta(days=draw(st.integers(0, 200)))
        due = inv + dt.timedelta(days=draw(st.sampled_from([0, 15, 30, 60])))
        paid = draw(st.one_of(st.none(), st.integers(0, 150).map(lambda d, inv=inv: inv + dt.timedelta(days=d))))
        amount = draw(st.sampled_from([-300.0, -50.5, 10.0, 99.99, 250.0, 1000.0, 1234.56]))
        docs.append(
            dict(
                invoice_id=f"I{i}",
                customer_id=f"C{draw(st.integers(0, n_cust - 1))}",
                invoice_date=inv,
                due_date=due,
                amount=amount,
                currency=draw(st.sampled_from(list(RATES))),
                paid_date=paid,
                disputed=draw(st.booleans()),
            )
        )
    pays = []
    for j in range(draw(st.integers(0, 10))):
        d = draw(st.sampled_from(docs))
        pays.append(
            dict(
                payment_id=f"P{j}",
                invoice_id=d["invoice_id"],
                payment_date=d["invoice_date"] + dt.timedelta(days=draw(st.integers(-5, 120))),
                amount=draw(st.sampled_from([5.0, 20.0, 100.0])),
            )
        )
    custs = [
        dict(customer_id=f"C{c}", segment=draw(st.sampled_from(SEGMENTS)), credit_limit=draw(st.one_of(st.none(), st.sampled_from([0.0, 100.0, 5000.0]))))
        for c in range(n_cust)
    ]
    orders = [
        dict(order_id=f"O{k}", customer_id=f"C{draw(st.integers(0, n_cust - 1))}", order_date=BASE + dt.timedelta(days=draw(st.integers(0, 250))), amount=100.0)
        for k in range(draw(st.integers(0, 4)))
    ]
    t = BASE + dt.timedelta(days=draw(st.integers(-10, 300)))
    return docs, pays, custs, orders, t


def write(folder: Path, docs, pays, custs, orders) -> Path:
    def csv(name, rows, cols):
        lines = [",".join(cols)] + [",".join("" if r[c] is None else str(r[c]) for c in cols) for r in rows]
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")

    folder.mkdir(parents=True)
    csv("invoices", docs, ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "currency", "paid_date", "disputed"])
    if pays:
        csv("payments", pays, ["payment_id", "invoice_id", "payment_date", "amount"])
    csv("customers", custs, ["customer_id", "segment", "credit_limit"])
    if orders:
        csv("orders", orders, ["order_id", "customer_id", "order_date", "amount"])
    (folder / "fx.csv").write_text("currency,rate_to_base\n" + "".join(f"{c},{r}\n" for c, r in RATES.items() if c != "USD"))
    return folder


def oracle_open(doc, pays, t: dt.date) -> float:
    """open(i, T) of ledger-contract.md, literally, in base currency."""
    if doc["invoice_date"] > t:
        return 0.0
    if doc["paid_date"] is not None and doc["paid_date"] <= t:
        return 0.0
    paid = sum(p["amount"] for p in pays if p["invoice_id"] == doc["invoice_id"] and p["payment_date"] <= t)
    return (doc["amount"] - paid) * RATES[doc["currency"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_invariants_and_oracle(case):
    docs, pays, custs, orders, t = case
    tmp = Path(tempfile.mkdtemp())
    try:
        res = ingest([write(tmp / "x", docs, pays, custs, orders)], DataDir(tmp / "d"), Settings())
        assert res.ok, res.report.to_text()
        eng = Engine.open(res.snapshot, Settings())
        h = eng.headline(t, rounded=False)

        # AR and its buckets against the oracle, document by document
        opens = {d["invoice_id"]: oracle_open(d, pays, t) for d in docs}
        ar = sum(opens.values())
        current = sum(v for d in docs if (v := opens[d["invoice_id"]]) and d["due_date"] >= t)
        assert abs(h["ar_total"] - ar) < 1e-6
        assert abs(h["ar_current"] - current) < 1e-6
        disputed = sum(opens[d["invoice_id"]] for d in docs if d["disputed"])
        assert abs(h["disputed_ar"] - disputed) < 1e-6

        # buckets add up to AR; current + overdue = AR
        assert abs(sum(h["aging"].values()) - h["ar_total"]) < 1e-6
        assert abs(h["ar_current"] + h["ar_overdue"] - h["ar_total"]) < 1e-6
        # segments add up to the whole; exposure = AR + orders
        assert abs(sum(s["ar_total"] for s in h["by_segment"]) - h["ar_total"]) < 1e-6
        assert abs(sum(s["open_orders"] for s in h["by_segment"]) - h["open_orders"]) < 1e-6
        assert abs(h["exposure_total"] - h["ar_total"] - h["open_orders"]) < 1e-6
        assert h["open_orders"] == sum(o["amount"] for o in orders if o["order_date"] <= t)
        # undefined is None, never 0 or infinity
        if h["ar_total"] <= 0:
            assert h["dso_countback"] == 0 and h["pct_overdue"] is None and h["concentration_top10"] is None
        if h["on_time_rate"] is not None:
            assert 0 <= h["on_time_rate"] <= 1
        # a selection partitions the figures
        per_seg = [eng.headline(t, Filters(segments=(s,)), rounded=False)["ar_total"] for s in SEGMENTS]
        assert abs(sum(per_seg) - h["ar_total"]) < 1e-6
        # the month-end table agrees with the live query at every month-end of the trend
        for row in eng.trend(t).iter_rows(named=True):
            live = eng.aging_frame(row["date"])
            assert abs(row["ar"] - float(live["ar"].sum())) < 1e-6
        eng.con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
