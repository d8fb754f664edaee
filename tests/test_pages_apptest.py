"""Every page driven through the entrypoint with Streamlit's AppTest, as a user clicks."""

import datetime as dt
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED, REPO, metric, no_errors, shown_text, write_csvs

APP = str(REPO / "app.py")
pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", MIXED)], DataDir(d), Settings(), as_of=dt.date(2026, 5, 31)).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


def test_overview_shows_the_hand_worked_figures(data):
    at = AppTest.from_file(APP, default_timeout=60).run()
    no_errors(at)
    assert at.title[0].value == "Executive overview"
    # Ledger B of test_kpis_handworked, at its as-of date 2026-05-31.
    assert metric(at, "AR total") == "USD 865"
    assert metric(at, "Overdue") == "27.7%"
    assert metric(at, "DSO (standard)") == "52.8 days"
    assert metric(at, "DSO (countback)") == "29.0 days"
    assert metric(at, "Collection effectiveness") == "79.1%"
    assert metric(at, "Customers over limit") == "1"
    # each tile explains itself
    assert all(m.help for m in at.metric)


def test_overview_names_each_figure_as_its_tile_and_explains_it_in_words(data):
    at = AppTest.from_file(APP, default_timeout=60).run()
    no_errors(at)
    panel = at.table[0].value
    assert list(panel.columns) == ["Figure", "How it is computed"]
    figures = dict(zip(panel["Figure"], panel["How it is computed"]))
    tiles = {m.label: m.help for m in at.metric}
    # every tile is in the panel under its own name, with the same explanation as its (?)
    assert all(figures[label] == help_ for label, help_ in tiles.items())
    assert "Top-10 share of AR" in tiles and "Top-10 concentration" not in tiles
    assert figures["DSO (standard)"].startswith("Days sales outstanding: AR / sales of the last 90 days x 90.")
    assert not any(re.search(r"\b[a-z]+_[a-z0-9_]+\b", k + v) for k, v in figures.items())  # no code names (ar_total, ...)


@pytest.mark.parametrize("path", [None, "pages/aging.py", "pages/exposure.py", "pages/at_risk.py", "pages/customer.py"])
def test_no_page_sends_a_user_to_the_spec_files(data, path):
    from tests.fixtures import app_page

    at = app_page(path, customer_id="C1")
    texts = [shown_text(at)] + [str(m.help) for m in at.metric] + [i.value for i in at.info] + [str(e.proto) for e in at.expander]
    assert not re.search(r"\.md\b|shared/spec", "\n".join(texts))


def app_with(**state) -> AppTest:
    """A fresh session whose sidebar already holds this selection.

    AppTest (1.67) drops the entrypoint's sidebar widgets from its element tree
    on a rerun under st.navigation, so each selection is a new session here;
    the real-browser journey (test_browser.py) changes them live.
    """
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def test_overview_follows_the_sidebar(data):
    at = app_with(f_segments=["SMB"])
    no_errors(at)
    assert metric(at, "AR total") == "USD 300"  # C1 only: 500 - 200
    assert at.multiselect(key="sb_segments").value == ["SMB"]
    at = app_with(f_segments=["SMB"], as_of=dt.date(2026, 4, 30))
    no_errors(at)
    # At 04-30 for SMB: D4 300 - P5 100 = 200 open (D1, D3 not issued yet)
    assert metric(at, "AR total") == "USD 200"


def test_aging_page_drills_down_to_documents(data):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/aging.py").run()
    no_errors(at)
    assert at.title[0].value == "Aging"
    docs = at.dataframe[-1].value
    assert sorted(docs["invoice_id"]) == ["D1", "D2", "D3", "D5"]
    at.selectbox(key="aging_bucket").set_value("1-30").run()
    no_errors(at)
    docs = at.dataframe[-1].value
    assert sorted(docs["invoice_id"]) == ["D2", "D3"]
    assert round(float(docs["open_amount_base"].sum()), 2) == 240.0
    at.radio(key="aging_dim").set_value("region").run()
    no_errors(at)


def test_first_start_without_data_creates_the_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=180).run()
    no_errors(at)
    assert DataDir(tmp_path / "empty").current_id() is not None
    assert metric(at, "AR total").startswith("USD ")


def test_a_broken_settings_file_is_explained(data):
    (data / "settings.toml").write_text('aging_edges = [0, 60, 30]\nbase_curency = "EUR"\n')
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    msg = at.error[0].value
    assert "aging_edges" in msg and "strictly increasing" in msg and "base_curency" in msg


@pytest.fixture
def whatif_data(tmp_path, monkeypatch):
    from tests.fixtures import WHATIF_LEDGER as LEDGER

    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "w", LEDGER)], DataDir(d), Settings(), as_of=dt.date(2026, 3, 31)).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


def test_whatif_sliders_move_dso_and_blocked_orders(whatif_data):
    """The hand-worked ledger of test_whatif: baseline DSO 82.86, 3 orders blocked for 650."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/whatif.py").run()
    no_errors(at)
    assert metric(at, "DSO (scenario)") == "82.9 days"
    assert metric(at, "Blocked orders (count)") == "3"
    at.slider(key="wi_coll_pct").set_value(100).run()  # lateness to 0: C1 -10 days x 20, C2 -20 x 50 -> -1200 / 70
    no_errors(at)
    assert metric(at, "DSO (scenario)") == "65.7 days"  # 82.857 - 17.143
    at.slider(key="wi_lim_pct").set_value(100).run()  # limits x2: C1 2000, C3 1000: nothing blocked
    no_errors(at)
    assert metric(at, "Blocked orders (count)") == "0"
    assert metric(at, "Customers over limit") == "0"
    # save, reset, load back
    at.text_input(key="wi_name").input("Cut lateness").run()
    at.button(key="wi_save").click().run()
    assert (whatif_data / "scenarios" / "Cut_lateness.json").exists()
    at.slider(key="wi_coll_pct").set_value(0).run()
    assert metric(at, "DSO (scenario)") != "65.7 days"
    at.button(key="wi_load").click().run()
    no_errors(at)
    assert metric(at, "DSO (scenario)") == "65.7 days"
    at.multiselect(key="wi_compare").select("Cut lateness").run()
    no_errors(at)
    assert at.dataframe[-1].value["projected_dso"].tolist() == [65.71]
