"""Risk scorecard, at-risk list and backtest (risk.md), on a ledger worked out by hand,
with properties (monotone scores) and the demo ledger's measured skill."""

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.cli import main as o2c
from dashboard.risk import scorecard as risk
from dashboard.settings import FACTORS, RiskSettings, Settings
from tests.fixtures import RISK_LEDGER as LEDGER
from tests.fixtures import RISK_T as T

# By hand at T = 2026-03-31 (T-90 = 2025-12-31, T-365 = 2025-03-31), default settings:
#  C1 paid: A0 10 days late (prior window), A1 20 days late (last 90 days): 16000 / 1000;
#     open: A2 300 at 65 days past due, A3 200 not yet due (0): 19500 / 500.
#     lateness = 35500 / 1500 = 23.667 days -> 23.667 / 60 = 39.444 points
#     trend = 20 - 10 = 10 days -> 33.333 points;  severity = 300 / 500 = 0.6 -> 100 points (full at 0.5)
#     utilisation = (500 + 100) / 1000 = 0.6 -> (0.6 - 0.5) / 0.7 = 14.286 points; disputes = 200 / 500 -> 100 points
#     no external score: weights 0.30 + 0.15 + 0.15 + 0.10 + 0.25 = 0.95
#     score = (0.30*39.444 + 0.15*33.333 + 0.15*100 + 0.10*14.286 + 0.25*100) / 0.95 = 61.328 -> class D
#  C2: one open document, not due: thin file; known: lateness 0 (open, not late), severity 0, disputes 0,
#     external 30 -> 70 points; no trend (nothing paid), no limit.
#     score = 0.05 * 70 / (0.30 + 0.15 + 0.25 + 0.05) = 4.667 -> class A


@pytest.fixture
def eng(ledger):
    return ledger(LEDGER, as_of=T)


def test_hand_worked_scores(eng):
    s = {r["customer_id"]: r for r in risk.scores(eng, T).iter_rows(named=True)}
    c1, c2 = s["C1"], s["C2"]
    assert c1["lateness"] == pytest.approx(35500 / 1500)
    assert c1["trend"] == pytest.approx(10.0)
    assert (c1["severity"], c1["utilisation"], c1["disputes"], c1["external"]) == (pytest.approx(0.6), pytest.approx(0.6), pytest.approx(0.4), None)
    assert c1["score"] == pytest.approx((0.30 * 35500 / 1500 / 60 * 100 + 0.15 * 100 / 3 + 15 + 0.10 * 100 / 7 + 25) / 0.95)
    assert round(c1["score"], 3) == 61.328
    assert (c1["risk_class"], c1["master_risk_class"], c1["thin_file"]) == ("D", "B", False)
    # the score is the sum of the contributions shown on the screen
    assert sum(c1[f"{f}_contribution"] or 0 for f in FACTORS) == pytest.approx(c1["score"])
    assert c2["lateness"] == 0 and c2["trend"] is None and c2["utilisation"] is None
    assert c2["score"] == pytest.approx(3.5 / 0.75)
    assert (c2["risk_class"], c2["thin_file"]) == ("A", True)


def test_at_risk_list_ranks_by_score_times_exposure_with_reasons(eng, tmp_path, capsys):
    a = risk.at_risk(eng, T)
    assert a["customer_id"].to_list() == ["C1", "C2"]  # 61.3 x 600 before 4.7 x 1000
    assert a["reasons"][0].to_list() == ["40% of AR in dispute", "60% of AR more than 60 days past due", "pays 24 days late on average"]
    assert a["reasons"][1].to_list() == ["external score 30"]
    # the command line gives the same list
    data = str(tmp_path / "data")
    assert o2c(["at-risk", "--top", "1", "--json", "--data", data]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {
        "customer_id": "C1",
        "name": "Acme",
        "segment": "SMB",
        "score": 61.33,
        "risk_class": "D",
        "exposure": 600.0,
        "overdue": 300.0,
        "utilization": 0.6,
        "reasons": a["reasons"][0].to_list(),
    }


def test_a_customer_known_only_by_an_open_order_is_listed_last_without_a_score(ledger, tmp_path, capsys):
    """Z9 has an open order and nothing else (no documents, no limit): nothing to score. It is exposure all
    the same, so the list shows it, last, and the command line says so instead of failing."""
    with_z9 = dict(LEDGER, orders=LEDGER["orders"].rstrip() + "\nO2,Z9,2026-03-26,5000\n")
    eng = ledger(with_z9, as_of=T)
    a = risk.at_risk(eng, T)
    assert a["customer_id"].to_list() == ["C1", "C2", "Z9"] and a["score"][2] is None
    data = str(tmp_path / "data")
    assert o2c(["at-risk", "--data", data]) == 0
    assert "3. Z9 [Unassigned] no score (no documents and no credit limit to score), exposure USD 5,000.00" in capsys.readouterr().out
    assert o2c(["at-risk", "--json", "--data", data]) == 0
    assert json.loads(capsys.readouterr().out)[2] | {"reasons": None} == {
        "customer_id": "Z9",
        "name": None,
        "segment": "Unassigned",
        "score": None,
        "risk_class": None,
        "exposure": 5000.0,
        "overdue": 0.0,
        "utilization": None,
        "reasons": None,
    }


def test_auc_by_hand():
    assert risk.auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])) == 0.75  # 3 of 4 pairs ordered
    assert risk.auc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5  # a tie counts half
    assert risk.auc(np.array([0.5, 0.6]), np.array([False, False])) is None


RISKIER = {"lateness": 1, "trend": 1, "severity": 1, "utilisation": 1, "disputes": 1, "external": -1}
factor_value = st.one_of(st.none(), st.floats(-50, 300, allow_nan=False))


@given(
    base=st.fixed_dictionaries({f: factor_value for f in FACTORS}),
    which=st.sampled_from(FACTORS),
    more=st.floats(0, 200),
    weights=st.fixed_dictionaries({f: st.floats(0, 1) for f in FACTORS}).filter(lambda w: sum(w.values()) > 0),
)
def test_more_of_any_risk_factor_never_lowers_the_score(base, which, more, weights):
    """Factor level: with the others equal, a riskier value of one factor never gives a lower score."""
    if base[which] is None:
        return
    rs = RiskSettings(weights=weights)
    worse = dict(base, **{which: base[which] + RISKIER[which] * more})
    frame = pl.DataFrame([base, worse], schema={f: pl.Float64 for f in FACTORS}).with_columns(paid_docs=pl.lit(5), open_docs=pl.lit(0))
    a, b = risk.score_frame(frame, rs)["score"].to_list()
    if a is None:  # every factor it has a value for weighs 0: no score either way
        assert b is None
        return
    assert b >= a - 1e-9


doc = st.tuples(st.integers(0, 330), st.integers(10, 60), st.floats(10, 5000), st.one_of(st.none(), st.integers(0, 40)), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(doc, min_size=1, max_size=8), k=st.integers(1, 30), limit=st.one_of(st.none(), st.floats(100, 20000)))
def test_a_customer_with_more_lateness_never_scores_lower(tmp_path_factory, docs, k, limit):
    """Ledger level: B is A with every due date k days earlier (same invoices, payments, disputes, limit).
    B is k days later on every paid document and every open item, nothing else differs; documents are
    paid on or after their due date, so both lateness windows move by k and the trend stays equal."""
    from tests.fixtures import load

    rows = []
    for i, (age, terms, amount, days_late, disputed) in enumerate(docs):
        inv = T - dt.timedelta(days=age)
        due = inv + dt.timedelta(days=terms)
        paid = due + dt.timedelta(days=days_late) if days_late is not None else None
        if paid is not None and paid > T:
            paid = None  # not paid yet at T
        for cust, shift in (("CA", 0), ("CB", k)):
            # B's documents are issued k days earlier too, so terms stay >= 0; what is paid when stays the same
            inv_c, due_c = inv - dt.timedelta(days=shift), due - dt.timedelta(days=shift)
            rows.append(f"{cust}-{i},{cust},{inv_c},{due_c},{amount:.2f},{paid or ''},{'yes' if disputed else 'no'}")
    lim = "" if limit is None else f"{limit:.2f}"
    ledger = {
        "invoices": "invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed\n" + "\n".join(rows),
        "customers": f"customer_id,segment,credit_limit\nCA,SMB,{lim}\nCB,SMB,{lim}",
    }
    eng = load(tmp_path_factory.mktemp("mono"), ledger, as_of=T)
    s = {r["customer_id"]: r for r in risk.scores(eng, T).iter_rows(named=True)}
    a, b = s["CA"], s["CB"]
    assert (b["lateness"] or 0) >= (a["lateness"] or 0) - 1e-9
    assert b["score"] >= a["score"] - 1e-9, (a, b)
    eng.con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dashboard.load.demo import write_demo_extract
    from dashboard.load.ingest import ingest
    from dashboard.metrics.kpis import Engine
    from dashboard.store.snapshots import DataDir

    x = write_demo_extract(tmp_path_factory.mktemp("demo") / "extract")
    res = ingest([x], DataDir(x.parent / "data"), Settings())
    assert res.ok
    behaviour = pl.read_parquet(x / "customers.parquet").select("customer_id", "demo_behaviour")
    return Engine.open(res.snapshot, Settings()), behaviour


def test_demo_backtest_has_skill_and_classes_order_the_event_rate(demo):
    eng, _ = demo
    b = risk.backtest(eng)
    assert b["auc"] > 0.75
    assert b["events"] >= 20  # enough events for the AUC to mean something
    rates = dict(zip(b["by_class"]["risk_class"], b["by_class"]["event_rate"]))
    assert rates["A"] < rates["B"]


def test_demo_deteriorating_customers_are_near_the_top(demo):
    eng, behaviour = demo
    ranked = risk.at_risk(eng).with_row_index("rank").join(behaviour, on="customer_id")
    n = ranked.height
    det = ranked.filter(pl.col("demo_behaviour") == "deteriorating")
    steady = ranked.filter(pl.col("demo_behaviour") == "steady")
    # ranked by score x exposure, so a small deteriorating account can sit lower; as a group they lead:
    assert det["rank"].median() < 0.25 * n
    assert det["rank"].median() < 0.5 * steady["rank"].median()
    assert (det["rank"] < 50).sum() >= 5
    # and by score alone they are the riskiest group
    by_score = risk.scores(eng).join(behaviour, on="customer_id").group_by("demo_behaviour").agg(pl.col("score").mean())
    means = dict(zip(by_score["demo_behaviour"], by_score["score"]))
    assert means["deteriorating"] == max(means.values())


def test_a_snapshot_written_before_paid_docs_existed_still_scores_the_same(eng):
    """Snapshots from earlier versions lack derived/paid_docs.parquet: it is computed from their own tables."""
    from dashboard.metrics.kpis import Engine

    before = risk.scores(eng, T)
    (eng.snapshot.path / "derived" / "paid_docs.parquet").unlink()
    old = Engine.open(eng.snapshot, Settings())
    assert risk.scores(old, T).equals(before)
