"""The Data page through AppTest: check an extract, read the report, load, compare, roll back, audit.

(AppTest cannot drive a file upload; the inbox folder is the same code path after
the upload is saved. The real-browser upload journey is in test_browser.py.)
"""

import datetime as dt

import pytest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED, app_page, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")
T = dt.date(2026, 5, 31)


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", MIXED)], DataDir(d), Settings(), as_of=T).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    # The next month's extract in the inbox: C1's limit raised to 800, a new overdue document for C3.
    nxt = dict(MIXED)
    nxt["invoices"] = MIXED["invoices"].rstrip() + "\nD6,C3,2026-04-01,2026-05-01,50,USD,,\n"
    nxt["customers"] = MIXED["customers"].replace("C1,Acme,SMB,500", "C1,Acme,SMB,800")
    write_csvs(d / "inbox" / "june", nxt)
    bad = dict(MIXED)
    bad["invoices"] = MIXED["invoices"].replace("D5,C2,2026-05-20", "D5,C2,20.05.2026")
    write_csvs(d / "inbox" / "broken", bad)
    return d


def data_page(**state):
    return app_page("pages/data.py", **state)


def test_a_refused_extract_shows_the_report_and_cannot_be_loaded(data):
    at = data_page()
    at.selectbox(key="dp_inbox").set_value("broken").run()
    at.button(key="dp_check").click().run()
    assert not at.exception, at.exception
    assert "cannot be loaded: 1 error" in at.error[0].value
    report = at.dataframe[0].value
    row = report[report["severity"] == "error"].iloc[0]
    # invoices.csv: header is line 1, D5 is the 5th document -> line 6
    assert (row["file"], row["row"], row["column"], row["value"], row["rule"]) == ("invoices.csv", "6", "invoice_date", "20.05.2026", "not a date")
    assert at.button(key="dp_load").disabled
    # a check loads nothing and keeps nothing
    d = DataDir(data)
    assert len(d.list()) == 1
    assert not d.rejected.exists() or not any(d.rejected.iterdir())


def test_check_load_compare_roll_back_and_audit(data):
    d = DataDir(data)
    first = d.current_id()
    at = data_page(dp_asof=T)
    at.selectbox(key="dp_inbox").set_value("june").run()
    at.button(key="dp_check").click().run()
    assert not at.exception, at.exception
    assert "passes every check" in at.success[0].value
    assert len(d.list()) == 1  # checked, not loaded yet
    at.button(key="dp_load").click().run()
    assert not at.exception, at.exception
    second = d.current_id()
    assert second != first and len(d.list()) == 2

    # history lists both, the new one current
    at = data_page()
    hist = next(df.value for df in at.dataframe if "snapshot" in df.value.columns)
    assert list(hist["snapshot"]) == [second, first]
    assert list(hist["current"]) == [True, False]

    # compare: AR 865 -> 915, C3 newly overdue with 50, C1's limit 500 -> 800
    figures = next(df.value for df in at.dataframe if "figure" in df.value.columns)
    ar = figures[figures["figure"] == "AR"].iloc[0]
    assert (round(ar["before"], 2), round(ar["after"], 2), round(ar["change"], 2)) == (865.0, 915.0, 50.0)
    new_overdue = next(df.value for df in at.dataframe if "overdue_now" in df.value.columns)
    assert new_overdue[["customer_id", "overdue_now"]].values.tolist() == [["C3", 50.0]]
    limits = next(df.value for df in at.dataframe if "limit_now" in df.value.columns)
    assert limits[["customer_id", "limit_before", "limit_now"]].values.tolist() == [["C1", 500.0, 800.0]]

    # roll back to the first snapshot
    at.selectbox(key="dp_rollback_id").set_value(first).run()
    at.button(key="dp_rollback").click().run()
    assert not at.exception, at.exception
    assert d.current_id() == first
    assert any("is current again" in m.value for m in at.success)

    # the audit log shows the two loads and the rollback, newest first
    at = data_page()
    audit = next(df.value for df in at.dataframe if "event" in df.value.columns)
    assert list(audit["event"]) == ["rollback", "load", "load"]
    assert "invoices.csv (" in audit["files"].iloc[1]


@pytest.mark.parametrize(
    "given,kept",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\evil.csv", "evil.csv"),
        (".hidden.csv", "hidden.csv"),
        ("invoices 2026;rm -rf.csv", "invoices 2026_rm -rf.csv"),
        ("", "upload"),
        ("..", "upload"),
        ("Fälligkeit.csv", "F_lligkeit.csv"),
    ],
)
def test_an_uploaded_file_name_is_never_a_path(given, kept):
    from dashboard.load.ingest import safe_file_name

    assert safe_file_name(given) == kept
