"""The what-if studio page driven with AppTest: saved scenarios the sliders cannot show, typed values,
computed risk classes, headings in words. Numbers: the hand-worked ledger of test_whatif.py."""

import datetime as dt
import json

import pytest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import WHATIF_LEDGER as LEDGER
from tests.fixtures import WHATIF_WIDE as WIDE
from tests.fixtures import app_page, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")
PAGE = "pages/whatif.py"


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "w", LEDGER)], DataDir(d), Settings(), as_of=dt.date(2026, 3, 31)).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    (d / "scenarios").mkdir()
    return d


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def clean(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def headings(at) -> list[str]:
    """Every column heading the page's tables show (their column labels)."""
    out = []
    for df in at.dataframe:
        cols = json.loads(df.proto.columns or "{}")
        out += [c.get("label") or k for k, c in cols.items() if not c.get("hidden")] or list(df.value.columns)
    return out


def load(at, name: str):
    at.selectbox(key="wi_pick").set_value(name).run()
    at.button(key="wi_load").click().run()
    clean(at)
    return at


def test_a_saved_scenario_beyond_the_sliders_loads_exactly(data):
    """Discount 7 % (slider to 5 %), within 120 days, terms +90 (slider to 60), limits -100 % and a second limits lever:
    whatif.md allows all of it; the page used to stop with a Streamlit range error."""
    (data / "scenarios" / "wide.json").write_text(json.dumps(WIDE))
    at = app_page(PAGE)
    clean(at)
    assert metric(at, "DSO (scenario)") == "82.9 days"
    at = load(at, "Wide")
    # by hand in test_whatif.WIDE: projected DSO 164.5, 150 blocked in 1 order, 1 customer over limit
    assert metric(at, "DSO (scenario)") == "164.5 days"
    assert metric(at, "Blocked orders (count)") == "1" and metric(at, "Customers over limit") == "1"
    assert metric(at, "Net effect per year") == "-USD 994"  # -993.75
    shown = {x.label: x.value for x in at.number_input}
    assert shown["Change in terms (days)"] == 90 and shown["Discount (%)"] == 7.0 and shown["If paid within (days)"] == 120
    assert shown["Share of sales taking it (%)"] == 30.0
    assert at.toggle(key="wi_terms_typed").value and at.toggle(key="wi_disc_typed").value
    assert at.slider(key="wi_lim_pct").value == -100
    text = "\n".join(m.value for m in at.markdown)
    assert "Discount (%) 7 is not on the slider (0 to 5 in steps of 0.25), so this card's values are typed in." in text
    assert "Lever 4 (Credit limits set to USD 5,000.00, for customers C1) is applied as saved but cannot be changed here" in text
    # saved again unchanged, it is the same file the CLI runs
    at.button(key="wi_save").click().run()
    clean(at)
    assert json.loads((data / "scenarios" / "Wide.json").read_text())["levers"] == [
        {"kind": "terms", "days": 90},
        {"kind": "discount", "rate": 0.07, "within_days": 120, "uptake": 0.3},
        {"kind": "limits", "pct": -1.0},
        {"kind": "limits", "customer_ids": "C1", "value": 5000.0},
    ]
    # compared, it shows the same numbers, headed in words
    at.multiselect(key="wi_compare").select("Wide").run()
    clean(at)
    assert at.dataframe[-1].value["projected_dso"].tolist() == [164.5]
    assert "Projected DSO (days)" in headings(at) and "Net effect per year (USD)" in headings(at)
    assert not [h for h in headings(at) if "_" in h], headings(at)


def test_a_limit_set_to_a_value_for_a_computed_risk_class(data):
    # computed classes at T (test_whatif.MASTER_CLASSES): C1 A, C2 A, C3 D, C4 B. C3's limit 2000: O3 released;
    # C1's O1 and O2 stay blocked (500 in 2 orders), C1 over (1400 > 1000).
    sc = {"name": "Lift D", "levers": [{"kind": "limits", "value": 2000, "computed_risk_class": "D"}]}
    (data / "scenarios" / "lift.json").write_text(json.dumps(sc))
    at = load(app_page(PAGE), "Lift D")
    assert at.radio(key="wi_lim_mode").value == "Set to an amount"
    assert {x.label: x.value for x in at.number_input}["New limit (USD)"] == 2000.0
    assert at.multiselect(key="wi_lim_computed_risk_class").value == ["D"]
    assert "Applies to risk class (computed from the risk score) D" in [c.value for c in at.caption]
    assert metric(at, "Blocked orders") == "USD 500" and metric(at, "Blocked orders (count)") == "2"
    assert metric(at, "Customers over limit") == "1"


def test_typed_values_and_back_to_the_sliders(data):
    at = app_page(PAGE)
    at.toggle(key="wi_disc_typed").set_value(True).run()
    clean(at)
    at.number_input(key="wi_disc_rate_n").set_value(7.5).run()
    at.number_input(key="wi_disc_uptake_n").set_value(30.0).run()
    clean(at)
    # within 10 days, 30 % uptake: C1 dtp 40 -> 0.3 * 10 + 0.7 * 40 = 31: -180; C2 65 -> 48.5: -825; -1005 / 70 = -14.36
    assert metric(at, "DSO (scenario)") == "68.5 days"
    assert metric(at, "Net effect per year") == "-USD 494"  # 1005 x 0.08 - 0.075 x 0.3 x 70 x 365 = 80.4 - 574.88
    at.toggle(key="wi_disc_typed").set_value(False).run()
    clean(at)
    assert at.slider(key="wi_disc_rate").value == 5.0  # the slider's end, and said so
    assert any("Discount (%) 7.5 is not on the slider: set to 5." in t.value for t in at.toast)
    assert metric(at, "DSO (scenario)") == "68.5 days"  # the rate costs money, it does not move DSO
    assert metric(at, "Net effect per year") == "-USD 303"  # 80.4 - 0.05 x 0.3 x 70 x 365 = 80.4 - 383.25


def test_a_broken_saved_file_is_named_not_fatal(data):
    (data / "scenarios" / "hand-edited.json").write_text(json.dumps({"levers": [{"kind": "discount", "rate": 1.5, "within_days": 10, "uptake": 0.3}]}))
    at = app_page(PAGE)
    clean(at)
    assert any("hand-edited.json: lever 1 (discount): 'rate' Input should be less than 1 (got 1.5)" in w.value for w in at.warning)
    assert not [h for h in headings(at) if "_" in h], headings(at)
