"""The Cash-in forecast and Provisions pages through the entrypoint with AppTest, each at two dates, on the
ledgers worked out by hand in test_forecast.py and test_provisions.py."""

import datetime as dt
import json
import re

import pytest

from dashboard.load.ingest import ingest
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import FORECAST_LEDGER, PROVISIONS_LEDGER, app_page, metric, no_errors, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def folder(tmp_path, monkeypatch, tables: dict[str, str], settings: str, as_of: dt.date):
    d = tmp_path / "data"
    d.mkdir(parents=True)
    (d / "settings.toml").write_text(settings)
    res = ingest([write_csvs(tmp_path / "x", tables)], DataDir(d), load_settings(d), as_of=as_of)
    assert res.ok, res.report.to_text()
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


def headings(df) -> list[str]:
    cfg = json.loads(df.proto.columns) if df.proto.columns else {}
    order = list(df.proto.column_order) or list(df.value.columns)
    return [cfg.get(c, {}).get("label") or c for c in order if not cfg.get(c, {}).get("hidden")]


def words_only(at) -> None:
    """Every table heading is words (no snake_case, none left to the raw name)."""
    for df in at.dataframe:
        for h in headings(df):
            assert not SNAKE.search(h), f"heading {h!r}"


def test_forecast_page_shows_the_hand_worked_weeks(tmp_path, monkeypatch):
    folder(tmp_path, monkeypatch, FORECAST_LEDGER, "[forecast]\nmin_history = 3\nsegment_min_history = 2\n", dt.date(2026, 3, 31))
    at = app_page("pages/forecast.py")
    no_errors(at)
    assert at.title[0].value == "Cash-in forecast"
    # test_forecast: weeks 1-13 sum to 1740, later 50, doubtful 500 (O4), credit notes -150 (O5)
    assert (metric(at, "Next 13 weeks"), metric(at, "Later"), metric(at, "Doubtful"), metric(at, "Credit notes")) == (
        "USD 1.7k",
        "USD 50",
        "USD 500",
        "-USD 150",
    )
    weeks = at.dataframe[0].value
    assert weeks["amount"].round(2).tolist()[:5] == [383.33, 72.5, 22.5, 383.33, 250.0]
    by_segment = at.dataframe[1].value.set_index("segment")
    assert by_segment.loc["Enterprise", "later"] == 50 and by_segment.loc["SMB", "doubtful"] == 500
    words_only(at)
    # the track record says which method did best, in words, and shows the three side by side
    said = [m.value for m in (*at.success, *at.warning)]
    assert said and said[0].startswith("Best on this ledger over 6 month-ends")
    assert at.dataframe[2].value["method"].tolist() == [
        "The forecast (each customer's own settlement history)",
        "Pays on the due date",
        "Due date + the customer's mean delay",
    ]
    assert len(at.get("plotly_chart")) == 3


def test_forecast_page_at_an_earlier_date(tmp_path, monkeypatch):
    folder(tmp_path, monkeypatch, FORECAST_LEDGER, "[forecast]\nmin_history = 3\nsegment_min_history = 2\n", dt.date(2026, 3, 31))
    at = app_page("pages/forecast.py", as_of=dt.date(2024, 8, 31))
    no_errors(at)
    # 2024-08-31: only H8 (100, invoiced 2024-06-25) is open and nothing had been settled yet: no pool, all doubtful;
    # no month-end of the ledger (from June 2024) has 13 weeks of hindsight yet: no backtest, and the page says so
    assert (metric(at, "Next 13 weeks"), metric(at, "Doubtful"), metric(at, "Backtest WAPE")) == ("USD 0", "USD 100", "n/a")
    assert any("No backtest yet" in i.value for i in at.info)


def test_provisions_page_shows_the_hand_worked_matrix(tmp_path, monkeypatch):
    folder(tmp_path, monkeypatch, PROVISIONS_LEDGER, "[provisions]\nlookback_months = 3\n", dt.date(2026, 6, 30))
    at = app_page("pages/provisions.py")
    no_errors(at)
    assert at.title[0].value == "Provisions (IFRS 9)"
    # test_provisions: allowance 2032.5 of 2699 (75.3 %), 2299 at 2026-05-31
    assert (metric(at, "Gross receivables"), metric(at, "Allowance"), metric(at, "Coverage"), metric(at, "Prior month-end allowance")) == (
        "USD 2.7k",
        "USD 2.0k",
        "75.3%",
        "USD 2.3k",
    )
    matrix = at.dataframe[0].value
    assert matrix["bucket"].tolist() == ["Not due", "1-30", "31-60", "61-90", "91-180", "181+"]
    assert matrix["allowance"].tolist() == pytest.approx([0, 200, 0, 832.5, 1000, 0])
    assert matrix["borrowed_from"].tolist()[3] == "31-60"
    assert any("61-90 takes 31-60's rate" in w.value for w in at.warning)
    disclosure = at.dataframe[1]
    assert headings(disclosure) == ["Bucket", "Gross (USD)", "Rate applied", "Allowance (USD)"]
    assert disclosure.value["bucket"].tolist()[-1] == "Total" and disclosure.value["allowance"].tolist()[-1] == 2032.5
    words_only(at)


def test_provisions_page_at_the_prior_month_end(tmp_path, monkeypatch):
    folder(tmp_path, monkeypatch, PROVISIONS_LEDGER, "[provisions]\nlookback_months = 3\n", dt.date(2026, 6, 30))
    at = app_page("pages/provisions.py", as_of=dt.date(2026, 5, 31))
    no_errors(at)
    assert metric(at, "Allowance") == "USD 2.3k"  # 2299 by hand (test_provisions' movement)
    assert at.dataframe[0].value["allowance"].sum() == pytest.approx(2299)


def test_an_overlay_on_an_unknown_bucket_is_explained_on_the_page(tmp_path, monkeypatch):
    folder(tmp_path, monkeypatch, PROVISIONS_LEDGER, '[provisions]\noverlay = { "1-30" = 1.2 }\n', dt.date(2026, 6, 30))
    at = app_page("pages/provisions.py")
    assert not at.exception
    shown = re.sub(r"\\(.)", r"\1", at.error[0].value)  # as it reads on screen (the text is escaped so markdown shows as written)
    assert "setting 'provisions.overlay' names bucket(s) 1-30; the buckets are not_due, 1_30, 31_60" in shown


def shown(text: str) -> str:
    """A message as it reads on screen (text from users is escaped so markdown shows as written)."""
    return re.sub(r"\\(.)", r"\1", text)


def test_provisions_overlay_draft_then_approve_on_the_page(tmp_path, monkeypatch):
    # local mode: one operator drafts and approves (recorded as self-approved). test_provisions_overlay works it out by
    # hand: x 1.1 on 1-30 takes its allowance from 200 to 220 and the total from 2032.5 to 2052.5.
    folder(tmp_path, monkeypatch, PROVISIONS_LEDGER, "[provisions]\nlookback_months = 3\n", dt.date(2026, 6, 30))
    at = app_page("pages/provisions.py")
    no_errors(at)
    assert any("No overlay drafted yet" in c.value for c in at.caption)
    at.number_input(key="pv_f_1_30").set_value(1.1)
    at.text_input(key="pv_reason").input("retail customers slow down")
    next(b for b in at.button if b.label == "Save the draft").click().run()
    no_errors(at)
    assert any(shown(s.value).startswith("Overlay drafted (audit entry") for s in at.success)
    assert at.dataframe[0].value["allowance"].tolist()[1] == pytest.approx(200)  # a draft applies nothing
    listed = at.dataframe[-1].value
    assert (listed["status"].tolist(), listed["multipliers"].tolist(), [str(x)[:10] for x in listed["drafted_on"]]) == (
        ["draft"],
        ["1-30 x 1.10"],
        ["2026-06-30"],
    )
    at.selectbox(key="pv_pick").set_value(1).run()
    at.button(key="pv_approve").click().run()
    no_errors(at)
    assert any(shown(s.value).startswith("Overlay 1 approved (audit entry") for s in at.success)
    assert metric(at, "Allowance") == "USD 2.1k"
    assert at.dataframe[0].value["allowance"].tolist() == pytest.approx([0, 220, 0, 832.5, 1000, 0])
    assert at.dataframe[0].value["overlay"].tolist()[1] == 1.1
    assert any("Overlay approved in the workbench: overlay 1" in shown(i.value) and "self-approved (local mode)" in shown(i.value) for i in at.info)
    listed = at.dataframe[-1].value
    assert (listed["status"].tolist(), listed["approval"].tolist()) == (["approved"], ["self-approved (local mode)"])
    words_only(at)
