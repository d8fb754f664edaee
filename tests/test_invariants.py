"""The engine against an independent oracle on random ledgers (hypothesis).

tests/oracle.py reads ledger-contract.md and kpis.md literally, one document at a time, in exact
arithmetic (Fractions): every figure the engine reports - the headline, each selection, the trend
and the drill-down - must be the oracle's. Nothing here compares two numbers the engine built from
the same intermediate: each assertion has the engine on one side and plain Python over the
extract's rows on the other.
"""

import datetime as dt
import math
import tempfile
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.oracle import Ledger, Oracle, bucket_of, close, differences

BASE = dt.date(2026, 1, 1)
SEGMENTS = ["Enterprise", "SMB", "Public Sector"]
CURRENCIES = ["USD", "EUR", "JPY"]
# EUR has an undated rate (it applies until the first dated one) and a dated rate from day 100 on.
FX = [("EUR", "1.1", None), ("EUR", "1.2", BASE + dt.timedelta(days=100)), ("JPY", "0.007", None)]
AMOUNTS = ["-300", "-50.5", "10", "99.99", "250", "1000", "1234.56"]
FOUR_DECIMALS = {"pct_overdue", "utilization", "on_time_rate", "concentration_top10"}  # kpis.md: fractions, 4 decimals


@st.composite
def ledgers(draw):
    n_cust = draw(st.integers(1, 6))
    # customer C{n_cust} is not in the master: added as Unassigned, without a limit
    customer = st.integers(0, n_cust).map(lambda c: f"C{c}")
    docs = []
    for i in range(draw(st.integers(1, 25))):
        inv = BASE + dt.timedelta(days=draw(st.integers(0, 200)))
        paid = draw(st.one_of(st.none(), st.integers(0, 150)))
        docs.append(
            dict(
                invoice_id=f"I{i}",
                customer_id=draw(customer),
                invoice_date=inv,
                due_date=inv + dt.timedelta(days=draw(st.sampled_from([0, 15, 30, 60]))),
                amount=draw(st.sampled_from(AMOUNTS)),
                currency=draw(st.sampled_from(CURRENCIES)),
                paid_date=None if paid is None else inv + dt.timedelta(days=paid),
                disputed=draw(st.booleans()),
            )
        )
    pays = []
    for j in range(draw(st.integers(0, 10))):
        d = draw(st.sampled_from(docs))
        # some dated before their invoice (they count from the invoice date), some after paid_date
        day = d["invoice_date"] + dt.timedelta(days=draw(st.integers(-5, 120)))
        pays.append(dict(payment_id=f"P{j}", invoice_id=d["invoice_id"], payment_date=day, amount=draw(st.sampled_from(["5", "20", "100"]))))
    custs = [
        dict(customer_id=f"C{c}", segment=draw(st.sampled_from(SEGMENTS)), credit_limit=draw(st.one_of(st.none(), st.sampled_from(["0", "100", "5000"]))))
        for c in range(n_cust)
    ]
    orders = [
        dict(
            order_id=f"O{k}",
            customer_id=draw(customer),
            order_date=BASE + dt.timedelta(days=draw(st.integers(0, 250))),
            amount="100",
            currency=draw(st.sampled_from(CURRENCIES)),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    cfg = dict(
        dso_window_days=draw(st.sampled_from([7, 30, 90])),
        payment_window_days=draw(st.sampled_from([30, 90, 365])),
        aging_edges=draw(st.sampled_from([(0, 30, 60, 90, 180), (0, 15, 45), (0, 1)])),
        trend_months=draw(st.sampled_from([1, 3, 12])),
    )
    # T: any day, or a day at an edge - an issue, payment, settlement or order date, a bucket edge,
    # the first day of the DSO window or of the payment window - give or take a day
    p, w = cfg["dso_window_days"], cfg["payment_window_days"]
    events = [d["invoice_date"] for d in docs] + [x["payment_date"] for x in pays] + [o["order_date"] for o in orders]
    events += [d["paid_date"] + dt.timedelta(days=k) for d in docs if d["paid_date"] for k in (0, w - 1)]
    events += [d["invoice_date"] + dt.timedelta(days=p - 1) for d in docs]
    events += [d["due_date"] + dt.timedelta(days=e) for d in docs for e in cfg["aging_edges"]]
    near_edge = st.tuples(st.sampled_from(events), st.integers(-1, 1)).map(lambda e: e[0] + dt.timedelta(days=e[1]))
    t = draw(st.one_of(st.integers(-10, 500).map(lambda n: BASE + dt.timedelta(days=n)), near_edge))
    return docs, pays, custs, orders, t, cfg


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
        csv("orders", orders, ["order_id", "customer_id", "order_date", "amount", "currency"])
    csv("fx", [dict(currency=c, rate_to_base=r, rate_date=d) for c, r, d in FX], ["currency", "rate_to_base", "rate_date"])
    return folder


def exact(docs, pays, custs, orders) -> Ledger:
    """The same rows for the oracle, amounts as exact fractions of their decimal text."""

    def num(rows, *cols):
        return [{**r, **{c: None if r[c] is None else Fraction(r[c]) for c in cols}} for r in rows]

    fx = [dict(currency=c, rate_to_base=Fraction(r), rate_date=d) for c, r, d in FX]
    return Ledger(num(docs, "amount"), num(pays, "amount"), num(custs, "credit_limit"), num(orders, "amount"), fx)


def rounding_problems(rounded: dict, want: dict, path: str = "") -> list[str]:
    """kpis.md: amounts and days to 2 decimals, fractions to 4; within half a unit of the exact value; never -0.0."""
    out = []
    for k, w in want.items():
        g = rounded.get(k)
        if isinstance(w, dict):
            out += rounding_problems(g, w, f"{path}{k}.")
        elif isinstance(w, list):
            by = {r["segment"]: r for r in g}
            for r in w:
                out += rounding_problems(by[r["segment"]], r, f"{path}{k}[{r['segment']}].")
        elif isinstance(w, str) or k in ("customers", "customers_with_limit", "over_limit_customers") or w is None or g is None:
            continue  # compared exactly by differences()
        else:
            digits = 4 if k in FOUR_DECIMALS else 2
            if round(g, digits) != g or abs(g - float(w)) > 0.5 * 10**-digits + 1e-9 or math.copysign(1, g) < 0 and g == 0:
                out.append(f"{path}{k}: {g!r} is not {float(w)!r} rounded to {digits} decimals")
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_engine_matches_the_oracle_on_random_ledgers(case):
    docs, pays, custs, orders, t, cfg = case
    led = exact(docs, pays, custs, orders)
    conf = Settings(**cfg)
    windows = dict(P=cfg["dso_window_days"], W=cfg["payment_window_days"], edges=cfg["aging_edges"])
    with tempfile.TemporaryDirectory() as tmp:
        res = ingest([write(Path(tmp) / "x", docs, pays, custs, orders)], DataDir(Path(tmp) / "d"), conf)
        assert res.ok, res.report.to_text()
        eng = Engine.open(res.snapshot, conf)
        try:
            oracle = Oracle(led, **windows)
            want = oracle.headline(t)

            # every headline figure, exact values and as `o2c kpis --json` rounds them
            h = eng.headline(t, rounded=False)
            skip: set[str] = set()
            assert not differences(h, want, skip=skip), differences(h, want, skip=skip)
            rounded = eng.headline(t)
            assert not differences(rounded, want, skip=skip, abs_=0.0051), differences(rounded, want, skip=skip, abs_=0.0051)
            kept = {k: v for k, v in want.items() if k not in skip}
            assert not rounding_problems(rounded, kept), rounding_problems(rounded, kept)

            # relations the spec states, each against the documents themselves
            opens = {d["invoice_id"]: oracle.open(d, t) for d in led.invoices}
            assert close(sum(h["aging"].values()), sum(opens.values())), "the buckets do not add up to AR"
            overdue = sum(opens[d["invoice_id"]] for d in led.invoices if d["due_date"] < t)
            assert close(h["ar_overdue"], overdue)
            if sum(opens.values()) <= 0:
                assert h["dso_countback"] == 0 and h["pct_overdue"] is None and h["concentration_top10"] is None
            num, den = oracle.cei_terms(*oracle.window(t))
            if den > 0 and den - num >= 0:  # den - num = OverdueAR(T): not negative -> CEI at most 100
                assert h["cei"] <= 100 + 1e-9

            # every selection is the oracle run over just that part of the ledger
            selections = [(Filters(segments=(s,)), Oracle(led, segments={s}, **windows)) for s in [*SEGMENTS, "Unassigned"]]
            selections += [(Filters(currencies=(c,)), Oracle(led, currencies={c}, **windows)) for c in CURRENCIES]
            for f, part in selections:
                got, exp = eng.headline(t, f, rounded=False), part.headline(t)
                assert not differences(got, exp), (f, differences(got, exp))

            # the trend (month-end table built at ingest) at every point
            trend = eng.trend(t).to_dicts()
            expected = oracle.trend(t, months=cfg["trend_months"])
            assert [r["date"] for r in trend] == [r["date"] for r in expected]
            for got, exp in zip(trend, expected):
                assert not differences(got, exp), (got["date"], differences(got, exp))

            # the drill-down lists exactly the open documents, each with its amount, days and bucket
            names = conf.bucket_names
            shown = {r["invoice_id"]: r for r in eng.documents(t).to_dicts()}
            want_docs = oracle.open_documents(t)
            assert shown.keys() == want_docs.keys()
            for i, (amount, dpd, bucket) in want_docs.items():
                r = shown[i]
                assert close(r["open_amount_base"], amount) and r["days_past_due"] == dpd and names[r["bucket"]] == bucket == bucket_of(dpd, cfg["aging_edges"])
        finally:
            eng.con.close()


def test_countback_stops_when_a_month_uses_ar_up_exactly(ledger):
    # By hand (kpis.md, dso_countback): at T = 2026-03-15, AR = B's 200.70 (A was paid in January).
    # Period 0 (1-15 March, 15 days) sold exactly 200.70: remaining >= s -> dso = 15, remaining = 0 -> stop.
    # The engine gets 43 (15 + February's 28 with no sales + a sliver of January): its March sales are a
    # difference of running totals, (100.10 + 200.70) - 100.10, which is 200.69999999999996 in floats.
    eng = ledger(
        {
            "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
A,C1,2026-01-05,2026-02-04,100.10,2026-01-06
B,C1,2026-03-03,2026-04-02,200.70,
"""
        }
    )
    h = eng.headline(dt.date(2026, 3, 15))
    assert h["ar_total"] == 200.70
    assert h["dso_countback"] == 15.0
