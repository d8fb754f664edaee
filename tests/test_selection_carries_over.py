"""Opening a customer from any chart or list keeps the sidebar's as-of date and filters.

Streamlit drops the value of a widget a script run does not draw, and a run started by
st.switch_page (what a click on a row or a bar does) starts the next page with no widget values:
the date the user had picked went back to the snapshot's, and the customer page contradicted what
was clicked. Here the date and segment are picked in the sidebar widgets, as a user does, then a
page is opened and a customer clicked on it.

A browser journey should check the same (tests/test_browser.py): pick a date in the sidebar, click
an at-risk row (or the overview's top bar), and read "as of <that date>" on the customer page and
the same date in the sidebar's date field.
"""

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED, REPO, no_errors, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")
PICKED = dt.date(2026, 5, 20)


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", MIXED)], DataDir(d), Settings(), as_of=dt.date(2026, 5, 31)).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


def picked_in_the_sidebar() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.date_input(key="sb_as_of").set_value(PICKED)
    at.multiselect(key="sb_segments").select("Enterprise")
    at.run()
    no_errors(at)
    assert at.caption[0].value.startswith("As of 20 May 2026")
    return at


def on_the_customer_page(at: AppTest, customer_id: str) -> None:
    no_errors(at)
    assert at.title[0].value == "Customer"
    assert at.subheader[0].value.startswith(customer_id)
    assert at.markdown[0].value.endswith("as of 20 May 2026")
    assert at.session_state["as_of"] == PICKED
    assert at.session_state["f_segments"] == ["Enterprise"]


# Enterprise at 2026-05-20 is C2 alone: D2 (440, 10 days past due), D5 (125, issued that day), order O3 (120), limit 0.
@pytest.mark.parametrize(
    "path, key, selection",
    [
        ("pages/at_risk.py", "ar_table", {"selection": {"rows": [0], "columns": []}}),
        ("pages/exposure.py", "exp_watch", {"selection": {"rows": [0], "columns": []}}),
        ("pages/aging.py", "aging_docs", {"selection": {"rows": [0], "columns": []}}),
    ],
)
def test_a_click_in_a_list_opens_the_customer_at_the_picked_date(data, path, key, selection):
    at = picked_in_the_sidebar()
    at.switch_page(path).run()
    no_errors(at)
    assert f"{PICKED:%d %B %Y}" in at.caption[0].value  # the page itself kept the date
    at.session_state[key] = selection
    at.run()
    on_the_customer_page(at, "C2")


def test_a_click_on_the_overview_bar_opens_the_customer_at_the_picked_date(data):
    at = picked_in_the_sidebar()
    at.session_state["ov_top"] = {"selection": {"pick": [{"customer_id": "C2"}]}}
    at.run()
    on_the_customer_page(at, "C2")
    # and back on the overview, the date and filter are still the picked ones
    at.switch_page("pages/overview.py").run()
    no_errors(at)
    assert at.caption[0].value.startswith("As of 20 May 2026")
