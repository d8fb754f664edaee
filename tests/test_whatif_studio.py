"""The what-if studio's core: widgets <-> scenario, tables in words, exports, the DSO bridge chart.

Numbers are those of the hand-worked ledger of test_whatif.py (LEDGER), worked out below from whatif.md.
"""

import datetime as dt
import io
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.present import charts
from dashboard.whatif import export, saved, tables
from dashboard.whatif import model as S
from dashboard.whatif import widgets as W
from tests.fixtures import WHATIF_LEDGER as LEDGER
from tests.fixtures import WHATIF_WIDE as WIDE
from tests.fixtures import load

T = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return S.baseline(load(tmp_path_factory.mktemp("studio"), LEDGER), T)


# ----------------------------------------------------------------------------- widget ranges come from the spec


def test_widget_ranges_are_the_spec_bounds():
    # the pydantic models of model.py are the one place the bounds are written
    assert W.spec_bounds("discount", "rate") == W.Bounds(0.0, 1.0, hi_open=True)
    assert W.spec_bounds("limits", "pct") == W.Bounds(-1.0, 1.0)
    assert W.spec_bounds("terms", "days") == W.Bounds(None, None)
    # typed inputs take the spec's whole range, in the widget's units (an open bound one hundredth of a % inside)
    assert W.DISC_RATE.typed_range() == (0.0, 99.99)
    assert W.COLL_PCT.typed_range() == (0.0, 100.0) and W.DISC_UPTAKE.typed_range() == (0.0, 100.0)
    assert W.LIM_PCT.typed_range() == (-100.0, 100.0)
    assert W.TERMS_DAYS.typed_range() == (None, None) and W.DISC_DAYS.typed_range() == (0.0, None) and W.LIM_VALUE.typed_range() == (0.0, None)
    # sliders cover the spec's range, or a usual part of it inside the spec's bounds
    assert W.COLL_PCT.slider_range() == (0.0, 100.0) and W.LIM_PCT.slider_range() == (-100.0, 100.0)
    for kind in W.KINDS:
        for c in W.CONTROLS[kind]:
            if c.slider:
                lo, hi = c.slider_range()
                tlo, thi = c.typed_range()
                assert (tlo is None or lo >= tlo) and (thi is None or hi <= thi), c.key


def test_default_widgets_are_the_baseline(base):
    sc = W.scenario_from_widgets(W.defaults())
    assert sc.levers == [] and sc.name == "My scenario" and sc.cost_of_capital is None


def test_widget_values_become_levers(base):
    state = W.defaults() | {
        "wi_coll_pct": 50,
        "wi_coll_segment": ["SMB"],
        "wi_disc_rate": 1.25,
        "wi_disc_uptake": 40,
        "wi_disc_customer_ids": " C2 , ,C9",
        "wi_disc_computed_risk_class": ["A"],
        "wi_lim_mode": W.LIMIT_MODES[1],
        "wi_lim_value": 2000.0,
        "wi_lim_pct": 35,  # not used: the card sets an amount
        "wi_terms_typed": True,
        "wi_terms_days": 10,  # not used: the card's values are typed
        "wi_terms_days_n": 90,
    }
    sc = W.scenario_from_widgets(state)
    assert [lv.model_dump(exclude_none=True) for lv in sc.levers] == [
        {"kind": "terms", "days": 90},
        {"kind": "collections", "reduction": 0.5, "segment": ["SMB"]},
        {"kind": "discount", "rate": 0.0125, "within_days": 10, "uptake": 0.4, "computed_risk_class": ["A"], "customer_ids": ["C2", "C9"]},
        {"kind": "limits", "value": 2000.0},
    ]
    # collections 50 % for SMB: C1 late 10 -> 5: 20 * -5 = -100; terms +90 for all: C1 +1800, C2 +4500;
    # discount 1.25 % within 10 days, 40 % uptake for C2 (computed class A): dtp1 155 -> 0.4 * 10 + 0.6 * 155 = 97:
    # 50 * (97 - 155) = -2900. delta_ar = -100 + 1800 + 4500 - 2900 = 3300; cost 0.0125 * 0.4 * 50 * 365 = 91.25
    s = S.run(base, sc).summary
    assert (s["delta_ar"], s["discount_cost_per_year"]) == (3300.0, 91.25)
    assert s["scenario"]["blocked_orders_count"] == 0  # C1 2000 (headroom 1100), C3 2000 (headroom 1600)


# ----------------------------------------------------------------------------- a saved scenario back into the widgets


def test_a_scenario_the_sliders_cannot_show_is_typed_in_and_kept_exact(base):
    sc = S.parse_scenario(WIDE)
    loaded = W.widgets_from_scenario(sc, "USD")
    st_ = loaded.state
    assert st_["wi_terms_typed"] and st_["wi_terms_days_n"] == 90
    assert st_["wi_disc_typed"] and (st_["wi_disc_rate_n"], st_["wi_disc_days"], st_["wi_disc_uptake_n"]) == (7.0, 120, 30.0)
    assert not st_["wi_lim_typed"] and st_["wi_lim_pct"] == -100 and st_["wi_lim_mode"] == W.LIMIT_MODES[0]
    assert not st_["wi_coll_typed"] and st_["wi_coll_pct"] == 0
    # the sliders stand where they can (so switching back to them is possible)
    assert (st_["wi_terms_days"], st_["wi_disc_rate"]) == (60, 5.0)
    assert st_[W.EXTRA_KEY] == [{"kind": "limits", "customer_ids": "C1", "value": 5000.0}]  # as saved
    assert loaded.notes == [
        "Payment terms: Change in terms (days) 90 is not on the slider (-30 to 60 in steps of 1), so this card's values are typed in.",
        "Early-payment discount: Discount (%) 7 is not on the slider (0 to 5 in steps of 0.25), so this card's values are typed in.",
        "Lever 4 (Credit limits set to USD 5,000.00, for customers C1) is applied as saved but cannot be changed here: the studio shows one lever of each kind.",
    ]
    back = W.scenario_from_widgets(st_)
    s = S.run(base, back).summary
    assert s == S.run(base, sc).summary
    assert (s["delta_ar"], s["projected_dso"], s["discount_cost_per_year"], s["net_effect_per_year"]) == (5715.0, 164.5, 536.55, -993.75)
    assert s["scenario"] == {"dso_standard": 164.5, "blocked_orders_value": 150.0, "blocked_orders_count": 1, "over_limit_customers": 1}


def test_levers_the_widgets_cannot_hold_are_kept_in_their_order():
    sc = S.parse_scenario(
        {
            "levers": [
                {"kind": "collections", "reduction": 0.123456},  # more decimals than an input takes
                {"kind": "collections", "reduction": 0.5},  # after a kept one: kept too, so the kind keeps its order
                {"kind": "terms", "days": 0},  # changes nothing
                {"kind": "limits", "pct": 0.1, "customer_ids": ["A,B"]},  # an id a comma-separated field cannot hold
                {"kind": "discount", "rate": 0.02, "within_days": 10, "uptake": 0},  # a card at rest
            ],
            "cost_of_capital": 0.05,
        }
    )
    loaded = W.widgets_from_scenario(sc, "EUR")
    assert [e["kind"] for e in loaded.state[W.EXTRA_KEY]] == ["collections", "collections", "limits", "discount"]
    assert loaded.state["wi_coll_pct"] == 0 and loaded.state[W.COST_KEY] == 0.05
    assert loaded.notes[2] == "Lever 3 (Payment terms +0 days, for all customers) changes nothing and is left out."
    assert (
        "Lever 2 (Collections: days late cut by 50%, for all customers) is applied as saved but cannot be changed here: the studio shows one lever"
        in loaded.notes[1]
    )
    back = W.scenario_from_widgets(loaded.state)
    assert back.cost_of_capital == 0.05
    assert [lv.model_dump(exclude_none=True) for lv in back.levers] == [lv.model_dump(exclude_none=True) for lv in sc.levers if lv.kind != "terms"]


def test_switching_a_card_to_typed_values_and_back():
    state = W.defaults() | {"wi_disc_typed": True, "wi_disc_rate": 2.5, "wi_disc_uptake": 35}
    updates, notes = W.switch_typed(state, "discount")
    assert updates == {"wi_disc_rate_n": 2.5, "wi_disc_uptake_n": 35.0} and notes == []
    # back to the sliders: 7.3 % is beyond the slider's 5 %, 33.3 % of uptake between its steps of 5
    state = state | {"wi_disc_typed": False, "wi_disc_rate_n": 7.3, "wi_disc_uptake_n": 33.3}
    updates, notes = W.switch_typed(state, "discount")
    assert updates == {"wi_disc_rate": 5.0, "wi_disc_uptake": 35}
    assert notes == ["Discount (%) 7.3 is not on the slider: set to 5.", "Share of sales taking it (%) 33.3 is not on the slider: set to 35."]


LEVERS = st.one_of(
    st.builds(lambda d: {"kind": "terms", "days": d}, st.integers(-120, 200)),
    st.builds(lambda r: {"kind": "collections", "reduction": r}, st.sampled_from([0.0, 0.05, 0.25, 0.333, 0.5, 1.0]) | st.floats(0, 1)),
    st.builds(
        lambda r, k, u: {"kind": "discount", "rate": r, "within_days": k, "uptake": u},
        st.sampled_from([0.0, 0.0125, 0.02, 0.07, 0.5]) | st.floats(0, 0.999),
        st.integers(0, 200),
        st.sampled_from([0.0, 0.3, 0.45, 1.0]) | st.floats(0, 1),
    ),
    st.builds(lambda p: {"kind": "limits", "pct": p}, st.sampled_from([-1.0, -0.2, 0.0, 0.35, 1.0]) | st.floats(-1, 1)),
    st.builds(lambda v: {"kind": "limits", "value": v}, st.sampled_from([0.0, 1500.0, 5000.0]) | st.floats(0, 1e6)),
)
SELECTIONS = st.fixed_dictionaries(
    {},
    optional={
        "segment": st.sampled_from(["SMB", ["SMB", "Enterprise"], "Other"]),
        "region": st.sampled_from([["EMEA"], "APAC"]),
        "computed_risk_class": st.sampled_from(["A", ["B", "D"]]),
        "customer_ids": st.sampled_from(["C1", ["C2", "C3"]]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levers=st.lists(st.tuples(LEVERS, SELECTIONS), max_size=6))
@example(levers=[(lv, {}) for lv in WIDE["levers"]])  # limits -100 % in the card, then C1's 5000 kept: the order matters
def test_loading_a_scenario_into_the_widgets_never_changes_its_results(base, levers):
    sc = S.parse_scenario({"name": "any", "levers": [lv | sel for lv, sel in levers]})
    back = W.scenario_from_widgets(W.widgets_from_scenario(sc).state)
    assert S.run(base, back).summary == S.run(base, sc).summary


# ----------------------------------------------------------------------------- tables in words


def test_tables_of_a_scenario_in_words(base):
    res = S.run(base, S.parse_scenario(WIDE))
    seg = tables.segment_frame(res.summary)
    # SMB is C1 (20/day) and C3 (no sales): +1740 -> +87 days; discount 0.07 * 0.3 * 20 * 365 = 153.3.
    # Enterprise is C2 (50/day): +3975 -> +79.5 days; 0.07 * 0.3 * 50 * 365 = 383.25.
    assert seg.rows(named=True) == [
        {
            "segment": "Enterprise",
            "delta_ar": 3975.0,
            "delta_dso": 79.5,
            "cash_released": -3975.0,
            "discount_cost_per_year": 383.25,
            "blocked_value_baseline": 0.0,
            "blocked_value_scenario": 0.0,
            "blocked_count_baseline": 0,
            "blocked_count_scenario": 0,
            "over_limit_baseline": 0,
            "over_limit_scenario": 0,
        },
        {
            "segment": "SMB",
            "delta_ar": 1740.0,
            "delta_dso": 87.0,
            "cash_released": -1740.0,
            "discount_cost_per_year": 153.3,
            "blocked_value_baseline": 650.0,
            "blocked_value_scenario": 150.0,
            "blocked_count_baseline": 3,
            "blocked_count_scenario": 1,
            "over_limit_baseline": 2,
            "over_limit_scenario": 1,
        },
    ]
    words = tables.headings(tables.SEGMENT_COLUMNS, "EUR")
    assert words["delta_ar"] == "Change in AR (EUR)" and words["blocked_value_scenario"] == "Blocked orders, scenario (EUR)"
    # no heading of any table is a snake_case key
    for cols in (tables.SEGMENT_COLUMNS, tables.CHANGES_COLUMNS, tables.COMPARISON_COLUMNS):
        assert not [h for h in tables.headings(cols, "USD").values() if "_" in h]
    # C1 is back within its limit (5000 > 1400); C3 stays over with its order blocked: no change
    ch = tables.changes_frame(res)
    assert ch.select("customer_id", "status", "exposure", "credit_limit_baseline", "credit_limit_scenario", "blocked_value_baseline").rows() == [
        ("C1", "back within limit", 1400.0, 1000.0, 5000.0, 500.0)
    ]
    assert tables.side_by_side(res.summary, "USD").rows()[:2] == [
        ("DSO (standard)", "82.9 days", "164.5 days"),
        ("Blocked orders", "USD 650.00", "USD 150.00"),
    ]


def test_comparison_of_saved_scenarios(base, tmp_path):
    cut = S.parse_scenario({"name": "Cut lateness", "levers": [{"kind": "collections", "reduction": 1}]})
    for sc in (cut, S.parse_scenario(WIDE)):
        saved.save_scenario(tmp_path, sc)
    chosen = {n: saved.load_saved(tmp_path, n) for n in ("Cut lateness", "Wide")}
    rows = tables.compare(base, chosen, 0.08)
    # Cut lateness: C1 -10 days x 20, C2 -20 x 50 = -1200 -> 82.857 - 17.143 = 65.71; net 1200 x 0.08 = 96
    assert rows == [
        {
            "name": "Cut lateness",
            "levers": 1,
            "projected_dso": 65.71,
            "cash_released": 1200.0,
            "net_effect_per_year": 96.0,
            "discount_cost_per_year": 0.0,
            "blocked_orders_value": 650.0,
            "blocked_orders_count": 3,
            "over_limit_customers": 2,
        },
        {
            "name": "Wide",
            "levers": 4,
            "projected_dso": 164.5,
            "cash_released": -5715.0,
            "net_effect_per_year": -993.75,
            "discount_cost_per_year": 536.55,
            "blocked_orders_value": 150.0,
            "blocked_orders_count": 1,
            "over_limit_customers": 1,
        },
    ]
    csv = export.comparison_csv(rows, "USD").decode().splitlines()
    assert csv[0] == (
        "Scenario,Levers,Projected DSO (days),Cash released (USD),Net effect per year (USD),Discount cost per year (USD),"
        "Blocked orders (USD),Blocked orders (count),Customers over limit"
    )
    assert csv[2] == "Wide,4,164.5,-5715.0,-993.75,536.55,150.0,1,1"
    assert export.comparison_file_name() == "scenario_comparison.csv"


def test_discounts_annualised_in_words(base):
    sc = S.parse_scenario(WIDE | {"levers": WIDE["levers"] + [{"kind": "discount", "rate": 0.02, "within_days": 10, "uptake": 0.5, "risk_class": "D"}]})
    # WIDE's discount for everybody: terms (120 x 20 + 135 x 50) / 70 = 130.71; 0.07 / 0.93 x 365 / (130.71 - 120) = 256.42 %.
    # The second selects the master's class D: nobody on LEDGER has one, so no terms and no rate.
    assert tables.discount_lines(sc, S.run(base, sc).summary) == [
        "Discount of 7% within 120 days for all customers: annualised cost 256.42% against sales-weighted terms of 130.7 days.",
        "Discount of 2% within 10 days for risk class (customer master) D: annualised cost n/a (no sales in the selection) "
        "against sales-weighted terms of n/a.",
    ]


def test_levers_and_selections_in_words():
    lv = S.parse_scenario(
        {"levers": [{"kind": "limits", "pct": -0.2, "risk_class": ["D", "E"], "computed_risk_class": "E"}, {"kind": "collections", "reduction": 0.333}]}
    ).levers
    assert tables.lever_in_words(lv[0], "USD") == ("Credit limits -20%, for risk class (customer master) D, E; risk class (computed from the risk score) E")
    assert tables.lever_in_words(lv[1], "USD") == "Collections: days late cut by 33.3%, for all customers"
    assert tables.selection_in_words({}) == "all customers"


# ----------------------------------------------------------------------------- saved files and exports


def test_saved_scenarios_and_file_names(tmp_path):
    p = saved.save_scenario(tmp_path, S.parse_scenario({"name": "../Q3 push: SMB", "levers": [{"kind": "terms", "days": -5}]}))
    assert p == tmp_path / "scenarios" / "Q3_push-_SMB.json"
    assert export.file_name("../Q3 push: SMB", "xlsx") == "Q3_push-_SMB.xlsx"
    (tmp_path / "scenarios" / "broken.json").write_text(json.dumps({"levers": [{"kind": "limits", "pct": 2}]}))
    assert list(saved.list_scenarios(tmp_path)) == ["../Q3 push: SMB"]
    assert saved.unusable_scenarios(tmp_path) == {"broken.json": ["lever 1 (limits): 'pct' Input should be less than or equal to 1 (got 2)"]}
    saved.duplicate_scenario(tmp_path, "../Q3 push: SMB")
    assert sorted(saved.list_scenarios(tmp_path)) == ["../Q3 push: SMB", "../Q3 push: SMB (copy)"]
    saved.delete_scenario(tmp_path, "../Q3 push: SMB")
    assert list(saved.list_scenarios(tmp_path)) == ["../Q3 push: SMB (copy)"]


class _Snap:
    id = "SNAP-1"
    manifest = {"as_of": "2026-03-31", "source_files": [{"name": "invoices.csv", "sha256": "ab"}]}


class _Eng:
    snapshot = _Snap()


def test_excel_export_in_words_and_json_with_the_spec_keys(base):
    sc = S.parse_scenario(WIDE)
    res = S.run(base, sc)
    rec = export.export_record(_Eng(), sc, res)  # type: ignore[arg-type]
    assert rec["results"] == res.summary and rec["snapshot"] == "SNAP-1" and rec["data_sha256"] == S.data_hash(_Eng())  # type: ignore[arg-type]
    assert list(json.loads(json.dumps(rec))["results"]) == [
        "name",
        "as_of",
        "baseline",
        "scenario",
        "delta_ar",
        "projected_dso",
        "cash_released",
        "discount_cost_per_year",
        "financing_effect_per_year",
        "net_effect_per_year",
        "cost_of_capital",
        "exposure_total",
        "exposure_releasable",
        "discounts",
        "by_segment",
    ]
    book = export.export_excel(rec, res, "EUR")
    summary = pl.read_excel(io.BytesIO(book), sheet_name="Summary", engine="calamine", has_header=False)
    cells = {r[0]: r[1:] for r in summary.rows() if r[0]}
    assert cells["Scenario"][0] == "Wide" and cells["Snapshot"][0] == "SNAP-1"
    assert [float(x) for x in cells["DSO, standard (days)"]] == [82.86, 164.5]
    assert [float(x) for x in cells["Blocked orders (EUR)"]] == [650.0, 150.0]
    assert float(cells["Net effect per year (EUR)"][1]) == -993.75 and float(cells["Cash released (EUR)"][1]) == -5715.0
    assert cells["Lever 4"][0] == "Credit limits set to EUR 5,000.00, for customers C1"
    seg = pl.read_excel(io.BytesIO(book), sheet_name="By segment", engine="calamine")
    assert seg.columns[:3] == ["Segment", "Change in AR (EUR)", "Change in DSO (days)"]
    assert seg["Change in AR (EUR)"].to_list() == [3975.0, 1740.0]
    changes = pl.read_excel(io.BytesIO(book), sheet_name="Status changes", engine="calamine")
    assert changes.columns[:6] == ["Customer", "Name", "Segment", "Region", "Risk class (customer master)", "Status change"]
    assert changes["Status change"].to_list() == ["back within limit"]
    assert not [c for c in seg.columns + changes.columns if "_" in c]


# ----------------------------------------------------------------------------- the DSO bridge


def test_dso_bridge_bars_stand_on_zero():
    # baseline 47 days; terms +2, collections -3, discount -1.5 -> 44.5
    fig = charts.dso_bridge(47.0, [("terms", 2.0), ("collections", -3.0), ("discount", -1.5)])
    wf = fig.data[0]
    assert list(wf.x) == ["Baseline DSO", "Terms", "Collections", "Discount", "Scenario DSO"]
    assert list(wf.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(wf.y)[:4] == [47.0, 2.0, -3.0, -1.5]
    assert list(wf.text) == ["47.0", "+2.0", "-3.0", "-1.5", "44.5"]
    lo, hi = fig.layout.yaxis.range
    assert lo == 0 and 49 <= hi <= 60  # the highest level is 49 (47 + 2): the axis starts at 0 and ends a little above
