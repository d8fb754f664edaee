"""The what-if studio's core: tables in words, saved scenarios, exports.

Numbers are those of the hand-worked ledger of test_whatif.py (LEDGER), worked out below from whatif.md.
"""

import datetime as dt
import io
import json

import polars as pl
import pytest

from dashboard.whatif import export, saved, tables
from dashboard.whatif import model as S
from tests.fixtures import load
from tests.test_whatif import LEDGER

T = dt.date(2026, 3, 31)

# A scenario whatif.md allows that the studio's sliders cannot show (rate 7 % > 5 %, 120 days, terms +90 > 60), with a
# second limits lever. By hand on LEDGER (C1: 20/day, terms 30, late 10, dtp 40; C2: 50/day, terms 45, late 20, dtp 65):
#  C1: terms 120, dtp1 130; discount: 0.3 * min(120, 130) + 0.7 * 130 = 127 -> delta AR 20 * (127 - 40) = +1740
#  C2: terms 135, dtp1 155; 0.3 * 120 + 0.7 * 155 = 144.5 -> 50 * (144.5 - 65) = +3975
#  delta_ar 5715; projected DSO 82.857 + 5715 / 70 = 164.5; discount cost 0.07 * 0.3 * 70 * 365 = 536.55;
#  financing -5715 * 0.08 = -457.2; net -993.75.
#  Limits -100 %: C1 0, C3 0; then C1 set to 5000: C1's orders released (headroom 4100), C1 back within limit;
#  C3 (limit 0) keeps O3 blocked and stays over: 150 blocked in 1 order, 1 customer over.
WIDE = {
    "name": "Wide",
    "levers": [
        {"kind": "terms", "days": 90},
        {"kind": "discount", "rate": 0.07, "within_days": 120, "uptake": 0.3},
        {"kind": "limits", "pct": -1},
        {"kind": "limits", "value": 5000, "customer_ids": "C1"},
    ],
}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return S.baseline(load(tmp_path_factory.mktemp("studio"), LEDGER), T)


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
