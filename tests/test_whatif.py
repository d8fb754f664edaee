"""What-if scenarios (whatif.md) on a ledger worked out by hand, the CLI, and a zero-scenario property."""

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.cli import main
from dashboard.whatif import model as S
from tests.fixtures import WHATIF_LEDGER as LEDGER
from tests.fixtures import WHATIF_WIDE as WIDE
from tests.fixtures import write_csvs

T = dt.date(2026, 3, 31)
# Window P = 90: 2026-01-01 .. 2026-03-31.
# Baseline by hand:
#  C1: window sales 1800 -> 20/day; terms (30*900 + 30*900)/1800 = 30; late: A1 paid 10 days late -> 10; dtp 40.
#  C2: window sales 4500 -> 50/day; terms 45; no paid document of its own -> its segment's mean:
#      Enterprise has D1 (C4) paid 20 days late -> 20; dtp 65.
#  C3, C4: no sales in the window -> contribute nothing.
#  dso_standard(T) = AR 5800 (900 + 4500 + 400) / sales 6300 * 90 = 82.857142...
#  Limits: C1 headroom 1000 - 900 = 100: O1 (300) and O2 (500 running) blocked; exposure 1400 > 1000 over.
#          C3 headroom 500 - 400 = 100: O3 150 blocked; exposure 550 > 500 over.
#  -> blocked 650 in 3 orders, 2 customers over limit.
SCENARIO = {
    "name": "hand-worked",
    "levers": [
        {"kind": "terms", "days": 15, "segment": "SMB"},
        {"kind": "collections", "reduction": 0.5},
        {"kind": "discount", "rate": 0.02, "within_days": 10, "uptake": 0.5, "segment": "Enterprise"},
        {"kind": "limits", "pct": 0.5, "segment": "SMB"},
        {"kind": "limits", "value": 2000, "customer_ids": ["C1"]},
    ],
    "cost_of_capital": 0.08,
}
# Scenario by hand:
#  C1: terms 45, late 10 * 0.5 = 5 -> dtp 50: delta AR 20 * (50 - 40) = +200.
#  C2: terms 45, late 20 * 0.5 = 10 -> dtp1 55; discount: 0.5 * min(10, 55) + 0.5 * 55 = 32.5:
#      delta AR 50 * (32.5 - 65) = -1625; discount cost 0.02 * 0.5 * 50 * 365 = 182.5.
#  delta_ar = -1425; projected DSO = 82.857142 - 1425 / 70 = 62.5; cash released 1425;
#  financing 1425 * 0.08 = 114; net 114 - 182.5 = -68.5.
#  Limits compound in order: C1 1000 * 1.5 = 1500, then set to 2000 (headroom 1100: nothing blocked);
#  C3 500 * 1.5 = 750 (headroom 350: O3 released). Nobody over limit.


@pytest.fixture
def eng(ledger):
    return ledger(LEDGER)


def test_hand_worked_scenario(eng):
    b = S.baseline(eng, T)
    r = S.run(b, S.parse_scenario(SCENARIO))
    s = r.summary
    assert s["baseline"] == {"dso_standard": 82.86, "blocked_orders_value": 650.0, "blocked_orders_count": 3, "over_limit_customers": 2}
    assert s["scenario"] == {"dso_standard": 62.5, "blocked_orders_value": 0.0, "blocked_orders_count": 0, "over_limit_customers": 0}
    assert (s["delta_ar"], s["projected_dso"], s["cash_released"]) == (-1425.0, 62.5, 1425.0)
    assert (s["discount_cost_per_year"], s["financing_effect_per_year"], s["net_effect_per_year"]) == (182.5, 114.0, -68.5)
    # annualised cost of the discount: 0.02 / 0.98 * 365 / (45 - 10) = 21.28 %
    assert round(s["discounts"][0]["annualised_rate"], 4) == 0.2128
    seg = {x["segment"]: x for x in s["by_segment"]}
    assert seg["SMB"]["delta_ar"] == 200.0 and seg["SMB"]["delta_dso"] == 10.0
    assert seg["Enterprise"]["delta_ar"] == -1625.0 and seg["Enterprise"]["delta_dso"] == -32.5
    assert seg["SMB"]["blocked_orders_count"] == {"baseline": 3, "scenario": 0}
    # bridge, days of DSO: terms C1 +15 days * 20 / 70; collections (C1 -5 * 20, C2 -10 * 50) / 70; discount -22.5 * 50 / 70
    assert [round(d, 4) for _, d in r.bridge] == [round(300 / 70, 4), round(-600 / 70, 4), round(-1125 / 70, 4)]
    assert sorted(zip(r.changes["customer_id"], r.changes["status"])) == [("C1", "back within limit"), ("C3", "back within limit")]


def test_wide_scenario_by_hand(eng):
    s = S.run(S.baseline(eng, T), S.parse_scenario(WIDE)).summary
    assert (s["delta_ar"], s["projected_dso"], s["discount_cost_per_year"]) == (5715.0, 164.5, 536.55)
    assert (s["cash_released"], s["financing_effect_per_year"], s["net_effect_per_year"]) == (-5715.0, -457.2, -993.75)
    assert s["scenario"] == {"dso_standard": 164.5, "blocked_orders_value": 150.0, "blocked_orders_count": 1, "over_limit_customers": 1}


def test_each_lever_alone(eng):
    b = S.baseline(eng, T)

    def delta(*levers):
        return S.run(b, S.parse_scenario({"levers": list(levers)})).summary

    # terms -40 days for everyone: C1 max(0, -10 + 10) = 0 -> -800; C2 max(0, 5 + 20) = 25 -> -2000
    assert delta({"kind": "terms", "days": -40})["delta_ar"] == -2800.0
    # collections 100%: C1 late 10 -> 0: -200; C2 20 -> 0: -1000
    assert delta({"kind": "collections", "reduction": 1})["delta_ar"] == -1200.0
    # two collections levers multiply: (1 - 0.5) * (1 - 0.5) = 0.25 -> C1 -7.5 * 20, C2 -15 * 50
    assert delta({"kind": "collections", "reduction": 0.5}, {"kind": "collections", "reduction": 0.5})["delta_ar"] == -900.0
    # discount 100% uptake within 0 days: everybody pays at once: -800 - 3250; cost 0.01 * 70 * 365
    d = delta({"kind": "discount", "rate": 0.01, "within_days": 0, "uptake": 1})
    assert (d["delta_ar"], d["discount_cost_per_year"]) == (-4050.0, 255.5)
    # limits -100% for SMB: limits become 0: every SMB order is blocked, both over
    d = delta({"kind": "limits", "pct": -1, "segment": "SMB"})
    assert d["scenario"]["blocked_orders_value"] == 650.0 and d["scenario"]["over_limit_customers"] == 2
    # customers with no limit stay without one
    d = delta({"kind": "limits", "value": 0, "segment": "Enterprise"})
    assert d["scenario"]["over_limit_customers"] == 2 and d["delta_ar"] == 0.0


def test_cli_whatif_json_and_invalid_files(tmp_path, capsys):
    data = str(tmp_path / "d")
    # loaded as of the day the scenario asks for: a day after the snapshot's as-of date is refused (cli.py, as_of.py)
    assert main(["ingest", str(write_csvs(tmp_path / "x", LEDGER)), "--data", data, "--as-of", "2026-03-31"]) == 0
    f = tmp_path / "s.json"
    f.write_text(json.dumps(SCENARIO))
    capsys.readouterr()
    assert main(["whatif", "--scenario", str(f), "--json", "--data", data, "--as-of", "2026-03-31"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "baseline",
        "scenario",
        "delta_ar",
        "projected_dso",
        "cash_released",
        "discount_cost_per_year",
        "financing_effect_per_year",
        "net_effect_per_year",
        "by_segment",
    ):
        assert key in out
    assert out["projected_dso"] == 62.5 and len(out["data_sha256"]) == 64
    # the risk score's class (C1 and C2 are A, see MASTER_CLASSES below): terms +10 days -> (20 + 50) * 10
    f.write_text(json.dumps({"levers": [{"kind": "terms", "days": 10, "computed_risk_class": "A"}]}))
    assert main(["whatif", "--scenario", str(f), "--json", "--data", data, "--as-of", "2026-03-31"]) == 0
    assert json.loads(capsys.readouterr().out)["delta_ar"] == 700.0
    for bad, words in [
        ({"levers": [{"kind": "limits", "pct": 1.5}]}, "lever 1 (limits): 'pct'"),
        ({"levers": [{"kind": "terms", "days": 5}, {"kind": "discount", "rate": 0.02, "uptake": 0.3}]}, "lever 2 (discount): 'within_days'"),
        ({"levers": [{"kind": "limitz", "pct": 0.1}]}, "'kind' must be one of terms, collections, discount, limits"),
        ({"levers": [{"kind": "limits", "pct": 0.1, "value": 5}]}, "exactly one of 'pct'"),
        ({"levers": [{"kind": "terms", "dayz": 5}]}, "allowed: days"),
    ]:
        f.write_text(json.dumps(bad))
        assert main(["whatif", "--scenario", str(f), "--json", "--data", data]) == 1
        err = json.loads(capsys.readouterr().err)
        assert any(words in d for d in err["details"]), (words, err)


LEVER = st.one_of(
    st.builds(lambda: {"kind": "terms", "days": 0}),
    st.builds(lambda: {"kind": "collections", "reduction": 0.0}),
    st.builds(lambda: {"kind": "limits", "pct": 0.0}),
    st.builds(lambda u: {"kind": "discount", "rate": 0.0, "within_days": 10, "uptake": u}, st.just(0.0)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levers=st.lists(LEVER, max_size=5), seg=st.sampled_from([None, "SMB", "Enterprise"]), days_back=st.integers(0, 200))
def test_a_zero_scenario_changes_nothing(eng, levers, seg, days_back):
    b = S.baseline(eng, T - dt.timedelta(days=days_back))
    s = S.run(b, S.parse_scenario({"levers": [lv | ({"segment": seg} if seg else {}) for lv in levers]})).summary
    assert s["delta_ar"] == 0 and s["cash_released"] == 0 and s["net_effect_per_year"] == 0
    assert "-0.0" not in json.dumps(s), "a change of nothing is 0.0, never -0.0"
    assert s["projected_dso"] == s["baseline"]["dso_standard"]
    assert {k: v for k, v in s["scenario"].items() if k != "dso_standard"} == {k: v for k, v in s["baseline"].items() if k != "dso_standard"}


# The same ledger with the master's risk classes; the risk score (risk.md, default weights and scales) by hand at T:
#  C1: lateness (10 * 900 + 0 * 900) / 1800 = 5 days -> 8.33 points; severity 0; utilisation 1400 / 1000 = 1.4 -> 100;
#      disputes 0; trend and external unknown: (0.30 * 8.33 + 0.10 * 100) / 0.80 = 15.6 -> A
#  C2: lateness 13 days past due on B1 -> 21.67 points; severity 0; disputes 0; no limit: 0.30 * 21.67 / 0.70 = 9.3 -> A
#  C3: lateness 90 -> 100; severity 400 / 400 -> 100; utilisation 550 / 500 -> 85.7: (30 + 15 + 8.57) / 0.80 = 67.0 -> D
#  C4: lateness 20 -> 33.3 only: 33.3 -> B
MASTER_CLASSES = LEDGER | {
    "customers": """
customer_id,segment,region,credit_limit,risk_class
C1,SMB,EMEA,1000,D
C2,Enterprise,EMEA,,
C3,SMB,APAC,500,A
C4,Enterprise,APAC,,
"""
}


def test_risk_class_selects_by_the_master_and_computed_risk_class_by_the_score(ledger):
    b = S.baseline(ledger(MASTER_CLASSES), T)
    assert b.computed_classes().tolist() == ["A", "A", "D", "B"]

    def limits_to_2000(**sel):
        return S.run(b, S.parse_scenario({"levers": [{"kind": "limits", "value": 2000, **sel}]})).summary["scenario"]

    # master class D is C1: its limit 2000 releases O1 and O2 (headroom 1100); C3's O3 stays blocked, C3 over
    assert limits_to_2000(risk_class="D") == {"dso_standard": 82.86, "blocked_orders_value": 150.0, "blocked_orders_count": 1, "over_limit_customers": 1}
    # computed class D is C3: O3 released (headroom 1600); C1's O1 and O2 stay blocked, C1 over (1400 > 1000)
    assert limits_to_2000(computed_risk_class="D") == {
        "dso_standard": 82.86,
        "blocked_orders_value": 500.0,
        "blocked_orders_count": 2,
        "over_limit_customers": 1,
    }
    # computed class A is C1 and C2 (C2 has no limit and keeps none); the master has no A customer with sales:
    # terms +10 days: computed A -> (20 + 50) * 10 = +700; master A (C3, no sales in the window) -> 0
    terms = {"kind": "terms", "days": 10}
    assert S.run(b, S.parse_scenario({"levers": [terms | {"computed_risk_class": "A"}]})).summary["delta_ar"] == 700.0
    assert S.run(b, S.parse_scenario({"levers": [terms | {"risk_class": "A"}]})).summary["delta_ar"] == 0.0
    # both selections together: master D and computed A is C1 alone: +200
    assert S.run(b, S.parse_scenario({"levers": [terms | {"risk_class": "D", "computed_risk_class": ["A", "B"]}]})).summary["delta_ar"] == 200.0


def test_computed_classes_are_only_scored_when_a_lever_asks_for_them(eng):
    b = S.baseline(eng, T)
    S.run(b, S.parse_scenario({"levers": [{"kind": "terms", "days": 5, "risk_class": "A"}]}))
    assert not b.scored  # the CLI and the bench do not pay for the scorecard
    S.run(b, S.parse_scenario({"levers": [{"kind": "terms", "days": 5, "computed_risk_class": "A"}]}))
    assert b.scored


def test_computed_risk_class_must_be_a_score_class():
    with pytest.raises(S.ScenarioError) as exc:
        S.parse_scenario({"levers": [{"kind": "terms", "days": 5, "computed_risk_class": ["A", "F"]}]})
    assert exc.value.details == ["lever 1 (terms): 'computed_risk_class' must be among A, B, C, D, E (the risk score's classes), not 'F' (got ['A', 'F'])"]
