"""What the pages used to compute themselves, now core functions: the aging table and drill-down
totals, the score breakdown, the figures' names and explanations. Hand-worked ledgers of
test_kpis_handworked (MIXED) and test_risk (LEDGER)."""

import datetime as dt
import re

import pytest

from dashboard.metrics import aging
from dashboard.metrics.kpis import FORMULAS, Filters, formulas
from dashboard.risk import scorecard as risk
from dashboard.settings import Settings
from tests.fixtures import MIXED
from tests.fixtures import RISK_LEDGER as LEDGER
from tests.fixtures import RISK_T as T

NAMES = Settings().bucket_names


def test_aging_table_adds_up_by_row_and_column(ledger):
    eng = ledger(MIXED)
    ag = eng.aging(dt.date(2026, 5, 31))
    t = aging.table(ag, "segment", NAMES)
    assert t.columns == ["segment", *NAMES, "total"]
    rows = {r["segment"]: r for r in t.iter_rows(named=True)}
    # Enterprise: D5 125 not due, D2 440 in 1-30; SMB: D1 500 not due, credit note D3 -200 in 1-30
    assert rows["Enterprise"] == {
        "segment": "Enterprise",
        "not_due": 125.0,
        "1_30": 440.0,
        "31_60": 0.0,
        "61_90": 0.0,
        "91_180": 0.0,
        "181_plus": 0.0,
        "total": 565.0,
    }
    assert (rows["SMB"]["not_due"], rows["SMB"]["1_30"], rows["SMB"]["total"]) == (500.0, -200.0, 300.0)
    assert t["segment"].to_list() == ["Enterprise", "SMB", "All"]  # sorted, the sums last
    assert (rows["All"]["not_due"], rows["All"]["1_30"], rows["All"]["total"]) == (625.0, 240.0, 865.0)  # = AR
    by_region = aging.table(ag, "region", NAMES)
    assert by_region["region"].to_list() == ["Unassigned", "All"] and by_region["total"].to_list() == [865.0, 865.0]
    # drill-down totals: what the list below the table counts
    assert aging.behind(ag, "segment") == (4, 865.0)
    assert aging.behind(ag, "segment", ["SMB"], bucket=1) == (1, -200.0)
    assert aging.behind(ag, "segment", ["Enterprise", "SMB"], bucket=0) == (2, 625.0)
    with pytest.raises(ValueError):
        aging.table(ag, "currency", NAMES)


def test_aging_table_with_nothing_open(ledger):
    eng = ledger(MIXED)
    t = aging.table(eng.aging(dt.date(2026, 1, 1)), "segment", NAMES)  # before the first document
    assert t.to_dicts() == [{"segment": "All", **{n: 0.0 for n in NAMES}, "total": 0.0}]


def test_narrowed_selection():
    f = Filters(segments=("SMB", "Enterprise"), regions=("EU",), currencies=("EUR",))
    assert f.narrowed("segment", ["SMB"]) == Filters(("SMB",), ("EU",), ("EUR",))
    assert f.narrowed("region", ("US", "EU")) == Filters(("SMB", "Enterprise"), ("US", "EU"), ("EUR",))
    assert f.narrowed("segment", []) is f
    with pytest.raises(ValueError):
        f.narrowed("currency", ["USD"])


def test_score_breakdown_adds_up(ledger):
    eng = ledger(LEDGER, as_of=T)
    s = {r["customer_id"]: r for r in risk.scores(eng, T).iter_rows(named=True)}
    rs = eng.settings.risk
    # C1 (test_risk, by hand): lateness 23.667 days, trend +10 days, severity 60 %, utilisation 60 %,
    # disputes 40 %, no external score -> left out; weights 0.95; score 61.328
    b = {r["factor"]: r for r in risk.breakdown(s["C1"], rs).iter_rows(named=True)}
    assert b["Days late (paid in 365 days, and open items so far)"]["value"] == "23.7 days"
    assert b["Worsening: days late, last 90 days vs the 275 before"]["value"] == "+10.0 days"
    assert b["Exposure / credit limit"] | {} == {
        "factor": "Exposure / credit limit",
        "value": "60.0%",
        "points": pytest.approx(100 * 0.1 / 0.7),
        "weight": 0.10,
        "contribution": pytest.approx(0.10 * 100 * 0.1 / 0.7 / 0.95),
    }
    ext = b["External score (higher = safer)"]
    assert (ext["value"], ext["points"], ext["weight"], ext["contribution"]) == ("– (none in the master)", None, None, None)
    assert b["Score"]["weight"] == pytest.approx(0.95) and b["Score"]["contribution"] == pytest.approx(61.328, abs=0.001)
    parts = [r["contribution"] for k, r in b.items() if k != "Score" and r["contribution"] is not None]
    assert sum(parts) == pytest.approx(b["Score"]["contribution"])
    # C2: only external 30 (70 points) adds anything: 0.05 x 70 / (0.30 + 0.15 + 0.25 + 0.05) = 4.667
    b2 = {r["factor"]: r for r in risk.breakdown(s["C2"], rs).iter_rows(named=True)}
    assert b2["Score"]["contribution"] == pytest.approx(4.667, abs=0.001) and b2["Score"]["weight"] == pytest.approx(0.75)
    assert b2["Exposure / credit limit"]["value"] == "– (no limit)" and b2["Exposure / credit limit"]["weight"] is None
    assert b2["Worsening: days late, last 90 days vs the 275 before"]["value"] == "– (too little history)"


def test_every_figure_has_a_name_and_an_explanation_in_words():
    f = formulas(Settings(dso_window_days=60, payment_window_days=180))
    assert f["dso_standard"].label == "DSO (standard)"
    assert f["dso_standard"].text == "Days sales outstanding: AR / sales of the last 60 days x 60. How many days of sales are still unpaid."
    assert "settled in the last 180 days" in f["adp"].text
    assert f["concentration_top10"].label == "Top-10 share of AR"
    labels = [x.label for x in FORMULAS.values()]
    assert len(set(labels)) == len(labels)
    for key, x in f.items():
        # no code names, no spec files, no unfilled placeholders
        assert not re.search(r"\b[a-z]+_[a-z0-9_]+\b|\.md\b|\{", x.label + " " + x.text), (key, x)
