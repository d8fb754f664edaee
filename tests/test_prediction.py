"""Late-payment prediction (prediction.md): hand-worked baseline and AUC, leakage, a weak model not shown,
the demo (model used), the IBM sample, and the At-risk and Customer pages' sections."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from dashboard.cli import main
from dashboard.load.demo import make_demo
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.prediction import features, model, skill
from dashboard.prediction.features import FEATURES, NEVER
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import SHARED, app_page, no_errors, until_trained, write_csvs

# ------------------------------------------------------------------------------------------------ by hand


def test_auc_by_hand():
    # late scores 0.9, 0.4; on time 0.4, 0.1. Pairs (late, on time): (0.9, 0.4) 1, (0.9, 0.1) 1, (0.4, 0.4) tie 1/2,
    # (0.4, 0.1) 1 -> 3.5 / 4 = 0.875
    assert skill.auc(np.array([0.9, 0.4, 0.4, 0.1]), np.array([True, True, False, False])) == pytest.approx(0.875)
    assert skill.auc(np.array([0.2, 0.3]), np.array([True, True])) is None  # one class: no AUC


def test_baseline_shrinks_the_prior_late_rate_toward_the_overall_rate():
    # One customer, days since 1970: documents issued on 100, 110, 120 and settled on 150 (due 140: late),
    # 160 (due 170: on time), 170 (due 165: late); a fourth issued on 200 (after all three settled).
    inv = np.array([100, 110, 120, 200])
    due = np.array([140, 170, 165, 230])
    settle = np.array([150, 160, 170, NEVER])
    h = features.build_features(np.zeros(4, dtype=np.int64), inv, due, settle, np.array([100.0, 200.0, 300.0, 400.0]))
    assert h["prior_count"].tolist() == [0, 0, 0, 3]
    assert h["prior_late_rate"][3] == pytest.approx(2 / 3)
    assert h["prior_mean_days_late"][3] == pytest.approx((10 + 0 + 5) / 3)
    # last 90 days before day 200: settled on 110..199 -> all three
    assert h["recent_count"][3] == 3
    # AR at day 120 (the third's invoice date): the first two, issued before and not settled before -> 300; overdue
    # (due before 120): none -> 0. At day 200: nothing open of the customer -> no share.
    assert h["share_overdue"][2] == 0.0 and np.isnan(h["share_overdue"][3])
    X = np.full((4, len(FEATURES)), np.nan)
    for k in ("prior_count", "prior_late_rate"):
        X[:, FEATURES.index(k)] = h[k]
    docs = features.Documents(np.arange(4), np.zeros(4, dtype=np.int64), inv, due, settle, X, {})
    # overall 0.5: the fourth (2 of 3 late) -> (2 + 5 x 0.5) / (3 + 5) = 4.5 / 8 = 0.5625; the others (none) -> 0.5
    assert model.baseline(docs, np.arange(4), 0.5).tolist() == pytest.approx([0.5, 0.5, 0.5, 0.5625])


def test_share_of_ar_overdue_at_the_invoice_date_by_hand():
    # Customer 0: X issued 10 due 20 settled 40 (100), Y issued 12 due 50 settled 60 (300), Z issued 30 (50, open).
    # At day 30 (Z's date): X and Y open (issued before 30, not settled before 30) = 400, X overdue (due 20 < 30) = 100
    # -> 0.25. Customer 1's document (issued 5, due 6, open, 1000) is not customer 0's.
    h = features.build_features(
        np.array([0, 0, 0, 1]), np.array([10, 12, 30, 5]), np.array([20, 50, 60, 6]), np.array([40, 60, NEVER, NEVER]), np.array([100.0, 300, 50, 1000])
    )
    assert h["share_overdue"][2] == pytest.approx(0.25)


# ------------------------------------------------------------------------------------------------ leakage


@pytest.mark.parametrize("high", [5, 1 << 20, 1 << 45, 1 << 62])
def test_sort_order_is_a_stable_argsort(high):
    # the packed sort (key and row in one int64) where they fit, numpy's stable argsort where they do not
    # (1 << 45 and above with 3,000 rows): the same order, ties in the rows' order
    keys = np.random.default_rng(high % 97).integers(0, high, 3000)
    np.testing.assert_array_equal(features.sort_order(keys), np.argsort(keys, kind="stable"))
    assert features.sort_order(keys[:0]).tolist() == []


def _generated(seed: int, n: int = 4000, customers: int = 40):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, customers, n)
    inv = rng.integers(1000, 1700, n)
    due = inv + rng.choice([15, 30, 60], n)
    settle = np.where(rng.random(n) < 0.9, due + rng.integers(-20, 40, n), NEVER)
    settle = np.where(settle < NEVER, np.maximum(settle, inv), settle)
    return c, inv, due, settle, rng.lognormal(7, 1, n)


@pytest.mark.parametrize("cutoff", [1100, 1300, 1500, 1650])
def test_no_feature_uses_anything_dated_after_the_invoice_date(cutoff):
    # Move every settlement dated after the cutoff somewhere else after it (or leave it open): an invoice issued on
    # or before the cutoff could not know about those, so none of its features may change.
    c, inv, due, settle, amt = _generated(cutoff)
    before = features.build_features(c, inv, due, settle, amt)
    rng = np.random.default_rng(1)
    later = settle > cutoff
    moved = settle.copy()
    moved[later] = np.where(rng.random(later.sum()) < 0.3, NEVER, cutoff + 1 + rng.integers(0, 300, later.sum()))
    after = features.build_features(c, inv, due, moved, amt)
    known = inv <= cutoff
    assert (settle != moved).sum() > 100  # the perturbation is real
    for name in before:
        np.testing.assert_array_equal(before[name][known], after[name][known], err_msg=name)


def test_the_leakage_test_would_catch_a_leaky_feature():
    # The same check on a feature that counts a document's own settlement (days late of the invoice itself) fails.
    c, inv, due, settle, amt = _generated(7)
    moved = np.where(settle > 1300, settle + 17, settle)
    known = inv <= 1300
    leaky = lambda s: np.maximum(np.minimum(s, 5000) - due, 0)  # noqa: E731
    assert not np.array_equal(leaky(settle)[known], leaky(moved)[known])


# ------------------------------------------------------------------------------------------------ ledgers


def _history_only_ledger(folder, seed: int = 3) -> dict[str, str]:
    """60 customers over two years, each late with its own fixed probability (0.1 or 0.85), nothing else
    driving lateness: one amount, one term, one currency, one segment and region. Only the customer matters."""
    rng = np.random.default_rng(seed)
    n, nc = 6000, 60
    p = np.where(np.arange(nc) % 2 == 0, 0.1, 0.85)
    cust = rng.integers(0, nc, n)
    start = dt.date(2024, 7, 1).toordinal()
    inv = start + rng.integers(0, 700, n)
    due = inv + 30
    late = rng.random(n) < p[cust]
    paid = np.where(late, due + rng.integers(1, 30, n), due - rng.integers(0, 20, n))
    asof = start + 730
    d = lambda x: dt.date.fromordinal(int(x)).isoformat()  # noqa: E731
    lines = ["invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed"]
    lines += [f"I{i:05d},C{cust[i]:03d},{d(inv[i])},{d(due[i])},1000,{d(paid[i]) if paid[i] <= asof else ''},no" for i in range(n)]
    customers = ["customer_id,name,segment,credit_limit,risk_class,external_score"] + [f"C{k:03d},Cust {k},SMB,,," for k in range(nc)]
    return {"invoices": "\n".join(lines), "customers": "\n".join(customers)}


HISTORY_T = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def history_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    data = DataDir(root / "data")
    res = ingest([write_csvs(root / "x", _history_only_ledger(root))], data, Settings(), as_of=HISTORY_T)
    assert res.ok, res.report.to_text()
    return data


def test_a_model_that_does_not_beat_the_customers_history_is_not_shown(history_data):
    eng = Engine.open(history_data.current(), Settings())
    p = model.predict(eng, HISTORY_T)
    s = p.skill
    assert s.test_rows > 1000 and s.baseline_auc is not None and s.baseline_auc > 0.75
    assert s.diff_ci is not None and s.diff_ci[0] <= 0
    assert s.used == "baseline"
    assert "does not beat" in s.sentence()
    # shown: the baseline's probabilities (1 for what is already past due), not the model's
    not_due = features.documents(eng).due_day[p.rows] >= (HISTORY_T - dt.date(1970, 1, 1)).days
    np.testing.assert_allclose(p.p_late[not_due], p.p_baseline[not_due])
    assert not np.allclose(p.p_late[not_due], p.p_model[not_due])  # the model's own are not what is shown
    assert (p.p_late[~not_due] == 1).all() and (~not_due).any() and not_due.any()


def test_cli_predict_json_keys(history_data, capsys):
    assert main(["--data", str(history_data.root), "predict", "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["as_of", "model", "invoices"]
    assert list(out["model"]) == ["auc", "baseline_auc", "diff_ci", "test_rows", "event_rate", "used"]
    assert out["model"]["used"] == "baseline" and len(out["model"]["diff_ci"]) == 2
    assert len(out["invoices"]) == 3
    assert list(out["invoices"][0]) == ["invoice_id", "customer_id", "open", "due_date", "p_late", "top_factors"]
    ranks = [i["p_late"] * i["open"] for i in out["invoices"]]
    assert ranks == sorted(ranks, reverse=True)
    assert main(["--data", str(history_data.root), "predict", "--top", "0"]) == 2


@pytest.mark.usefixtures("fresh_caches")
def test_pages_say_the_baseline_is_shown(history_data, monkeypatch):
    monkeypatch.setenv("O2C_DATA", str(history_data.root))
    at = app_page("pages/at_risk.py")
    no_errors(at)
    # the first visit draws the page at once and says the model is being trained, then fills the section in
    assert any("late-payment model is being trained" in i.value for i in at.info)
    assert any(h.value == "At-risk customers" for h in at.title)
    at = until_trained(at)
    assert any(s.value == "Late-payment prediction" for s in at.subheader)
    assert any("does not beat the customer's history" in w.value for w in at.info)
    ranked = next(df.value for df in at.dataframe if "p_late" in df.value.columns)
    assert len(ranked) > 0 and ranked["p_late"].between(0, 1).all()
    at = until_trained(app_page("pages/customer.py", customer_id="C001"))
    no_errors(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "**Late-payment prediction**" in text and "predicted to be paid late" in text
    assert any("p_late" in df.value.columns for df in at.dataframe)


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    res = make_demo(DataDir(tmp_path_factory.mktemp("demo") / "data"), invoices=20_000, seed=5)
    assert res.ok
    return Engine.open(res.snapshot, Settings())


def test_demo_model_is_used(demo_engine):
    p = model.predict(demo_engine)
    s = p.skill
    assert s.used == "model", s
    assert s.auc is not None and s.baseline_auc is not None and s.auc > s.baseline_auc
    assert s.diff_ci is not None and s.diff_ci[0] > 0
    docs = features.documents(demo_engine)
    f = model.top_factors(docs, p, np.arange(10))
    assert all(len(x) >= 1 for x in f)
    # the ranking is p_late x open, descending
    r = p.p_late * p.open
    assert (np.diff(r) <= 1e-9).all()
    # per customer, the share predicted late lies in [0, 1] and the open ARs add up to the ranked invoices'
    shares = model.customer_shares(p, docs)
    assert sum(a for a, _ in shares.values()) == pytest.approx(p.open.sum())
    assert all(0 <= s <= 1 for _, s in shares.values())


def test_demo_features_match_the_array_build(demo_engine):
    # the engine's features are the array function's on the snapshot's documents (one definition)
    docs = features.documents(demo_engine)
    h = features.build_features(docs.customer_key, docs.invoice_day, docs.due_day, docs.settle_day, docs.X[:, FEATURES.index("amount")])
    for k, v in h.items():
        np.testing.assert_array_equal(docs.X[:, FEATURES.index(k)], v)


def test_open_invoices_from_the_held_spans_are_the_sqls(demo_engine):
    # The dashboard's engine holds the spans in memory and scores the invoices open in them; a CLI engine over
    # the files runs prediction/open_at.sql. The same invoices and open amounts, so the same ranking, at dates
    # across the ledger (a credit note with an open amount > 0 is not an invoice to score in either).
    held = Engine.open(demo_engine.snapshot, Settings(), in_memory=True)
    assert held.positions.held and not demo_engine.positions.held
    docs = features.documents(demo_engine)
    sk = model.backtest(docs, demo_engine.as_of)
    final = model.train(docs, demo_engine.as_of)
    for t in (demo_engine.as_of, demo_engine.as_of - dt.timedelta(days=45), demo_engine.as_of - dt.timedelta(days=400)):
        a_rows, a_open = model.open_invoices(held, docs, t)
        b_rows, b_open = model.open_invoices(demo_engine, docs, t)
        assert len(b_rows) > 100
        a, b = np.argsort(a_rows), np.argsort(b_rows)
        np.testing.assert_array_equal(a_rows[a], b_rows[b])
        np.testing.assert_array_equal(a_open[a], b_open[b])
        pa_, pb = model.score(docs, t, sk, final, a_rows, a_open), model.score(docs, t, sk, final, b_rows, b_open)
        np.testing.assert_array_equal(pa_.rows, pb.rows)
        np.testing.assert_array_equal(pa_.p_late, pb.p_late)


# ------------------------------------------------------------------------------------------------ the IBM sample

IBM = SHARED / "datasets" / "ibm_ar_late_payments" / "WA_Fn-UseC_-Accounts-Receivable.csv"


@pytest.mark.skipif(not IBM.exists(), reason="the public IBM sample is not on this machine")
def test_ibm_sample_at_2013_09_30(tmp_path):
    data = DataDir(tmp_path / "data")
    res = ingest([IBM], data, Settings())
    assert res.ok, res.report.to_text()
    eng = Engine.open(res.snapshot, Settings())
    s = model.predict(eng, dt.date(2013, 9, 30)).skill
    assert s.baseline_auc is not None and s.auc is not None
    assert s.baseline_auc == pytest.approx(0.87, abs=0.015)  # computed outside the product: about 0.87
    # whichever wins is shown, and said
    assert s.used == ("model" if s.diff_ci is not None and s.diff_ci[0] > 0 else "baseline")
    assert ("beats" in s.sentence()) == (s.used == "model")
    print(s)  # the figures for the README


def test_a_selection_picks_the_listed_invoices(demo_engine):
    from dashboard.metrics.kpis import Filters
    from dashboard.prediction import report

    every = report.ranked(demo_engine)
    smb = report.ranked(demo_engine, f=Filters(segments=("SMB",)))
    seg = demo_engine.con.sql("select c.customer_id, c.segment from customers c").pl()
    assert 0 < smb.height < every.height
    assert set(smb.join(seg, on="customer_id")["segment"]) == {"SMB"}
    # the same invoices, in the same order, as the whole list's SMB ones
    assert smb["invoice_id"].to_list() == every.join(seg, on="customer_id", maintain_order="left").filter(pl.col("segment") == "SMB")["invoice_id"].to_list()


TINY = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
A1,C1,2026-01-01,2026-01-31,100,2026-02-10,no
A2,C1,2026-01-05,2026-02-04,100,2026-02-01,no
A3,C1,2026-01-10,2026-02-09,100,2026-02-20,no
B1,C2,2026-01-02,2026-02-01,100,2026-01-25,no
A4,C1,2026-03-01,2026-03-31,1000,,no
B2,C2,2026-03-01,2026-03-31,500,,no
""",
    "customers": """
customer_id,name,segment,credit_limit,risk_class,external_score
C1,Acme,SMB,,,
C2,Beta,SMB,,,
""",
}


def test_tiny_ledger_shows_the_shrunk_prior_late_rate(tmp_path, capsys):
    # T = 2026-03-15. Settled by T: A1 late (02-10 > 01-31), A2 on time, A3 late, B1 on time -> overall 2 / 4 = 0.5.
    # A4 (C1, issued 03-01): 3 settled before, 2 late -> (2 + 5 x 0.5) / (3 + 5) = 0.5625; x 1000 open = 562.5
    # B2 (C2): 1 settled before, 0 late -> (0 + 2.5) / (1 + 5) = 0.416667; x 500 = 208.33.
    # The backtest's windows all end by T - 90 = 2025-12-15 and nothing was issued in them: no AUC, the baseline
    # is shown.
    data = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", TINY)], data, Settings(), as_of=dt.date(2026, 3, 15)).ok
    assert main(["--data", str(data.root), "predict", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["used"] == "baseline" and out["model"]["auc"] is None and out["model"]["diff_ci"] is None
    got = [(i["invoice_id"], i["p_late"], i["open"]) for i in out["invoices"]]
    assert got == [("A4", 0.5625, 1000.0), ("B2", 0.4167, 500.0)]
    assert out["invoices"][0]["top_factors"] == ["customer's record: 2 of 3 settled late before (overall 50%)"]


def test_nothing_open_yet(tmp_path, capsys):
    # Before the first invoice: nothing to score, nothing to measure; an empty list, not an error.
    data = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", TINY)], data, Settings(), as_of=dt.date(2026, 3, 15)).ok
    assert main(["--data", str(data.root), "--as-of", "2025-12-01", "predict", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["invoices"] == [] and out["model"]["used"] == "baseline" and out["model"]["test_rows"] == 0
    assert main(["--data", str(data.root), "--as-of", "2025-12-01", "predict"]) == 0
    assert "0 open invoices" in capsys.readouterr().out


@pytest.mark.usefixtures("fresh_caches")
def test_at_risk_page_on_the_demo_says_the_model_is_shown(demo_engine, monkeypatch):
    monkeypatch.setenv("O2C_DATA", str(DataDir.of(demo_engine.snapshot).root))
    at = until_trained(app_page("pages/at_risk.py"))
    no_errors(at)
    assert any("The model beats the customer's history" in s.value for s in at.success)
    ranked = next(df.value for df in at.dataframe if "p_late" in df.value.columns)
    assert ranked["top_factors"].str.len().min() > 0  # every listed invoice says why
