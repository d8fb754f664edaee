"""The Data page through AppTest: check an extract, read the report, load, compare, roll back, audit.

(AppTest cannot drive a file upload; the inbox folder is the same code path after
the upload is saved. The real-browser upload journey is in test_browser.py.)
"""

import datetime as dt
import json

import pytest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from pages.tables import plain
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
    # a check loads nothing and keeps nothing, and says so
    assert "this was a check, nothing was loaded or kept" in at.error[0].value
    d = DataDir(data)
    assert len(d.list()) == 1
    assert not d.rejected.exists() or not any(d.rejected.iterdir())
    assert [e["event"] for e in d.read_audit()] == ["load"]  # the first snapshot's, nothing since


def test_the_report_puts_what_to_do_beside_the_severity_and_wraps_it(data):
    at = data_page()
    at.selectbox(key="dp_inbox").set_value("broken").run()
    at.button(key="dp_check").click().run()
    grid = at.dataframe[0].proto
    assert list(grid.column_order)[:2] == ["severity", "message"]
    config = json.loads(grid.columns)
    assert config["message"]["label"] == "What to do" and config["message"]["width"] >= 400
    assert grid.row_height > 64  # Streamlit wraps a cell's text only in rows taller than 4rem


def test_a_refused_load_is_kept_and_logged_like_the_cli(data):
    """Checked fine, then the file changed before Load: the load re-checks, is refused, kept and audited."""
    d = DataDir(data)
    first = d.current_id()
    at = data_page(dp_asof=T)
    at.selectbox(key="dp_inbox").set_value("june").run()
    at.button(key="dp_check").click().run()
    assert "passes every check" in at.success[0].value
    invoices = data / "inbox" / "june" / "invoices.csv"
    broken = invoices.read_text().replace("D6,C3,2026-04-01", "D6,C3,01.04.2026")
    invoices.write_text(broken)
    at.button(key="dp_load").click().run()
    assert not at.exception, at.exception
    assert d.current_id() == first and len(d.list()) == 1  # nothing loaded
    (kept,) = d.rejected.iterdir()
    assert (kept / "source" / "invoices.csv").read_text() == broken
    assert "REFUSED" in (kept / "report.txt").read_text()
    last = d.read_audit()[-1]
    assert (last["event"], last["outcome"], last["rejected"], last["errors"]) == ("refusal", "refused", kept.name, 1)
    assert last["source"].startswith("Data page (")
    shown = at.error[0].value
    assert "The load was refused: 1 error(s)" in shown and f"rejected/{kept.name}" in shown and str(data) not in shown
    assert at.button(key="dp_load").disabled
    report = at.dataframe[0].value
    assert report[report["severity"] == "error"].iloc[0]["value"] == "01.04.2026"


def test_the_page_names_the_data_folder_not_its_path(data):
    at = data_page()
    texts = [e.value for e in (*at.caption, *at.markdown, *at.info, *at.error, *at.success)]
    assert any("Data folder `data`" in t for t in texts)
    assert not any(str(data) in t for t in texts)


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

    # history lists both, the new one current, under headings in words
    at = data_page()
    grid = next(df for df in at.dataframe if "snapshot" in df.value.columns)
    hist = grid.value
    assert list(hist["snapshot"]) == [second, first]
    assert list(hist["current"]) == [True, False]
    labels = {k: v.get("label") for k, v in json.loads(grid.proto.columns).items()}
    assert labels["as_of"] == "As of" and labels["loaded_by"] == "Loaded by" and labels["documents"] == "Documents"

    # compare: AR 865 -> 915, C3 newly overdue with 50, C1's limit 500 -> 800; each figure in its unit
    figures = next(df.value for df in at.dataframe if "figure" in df.value.columns).set_index("figure")
    assert list(figures.loc["AR"]) == ["865.00", "915.00", "+50.00"]
    # overdue 240 of 865 = 27.75 %, then 290 of 915 = 31.69 %: 3.95 points more
    assert list(figures.loc["Share overdue"]) == ["27.7%", "31.7%", "+3.9 pts"]
    # sales (03-03, 05-31) 1,475 then 1,525 (D6): 865/1475*90 = 52.78, 915/1525*90 = 54.00
    assert list(figures.loc["DSO (standard)"]) == ["52.8 days", "54.0 days", "+1.2 days"]
    assert list(figures.loc["Customers over limit"]) == ["1", "1", "+0"]
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

    # the audit log shows the two loads and the rollback, newest first, under headings in words
    at = data_page()
    grid = next(df for df in at.dataframe if "event" in df.value.columns)
    audit = grid.value
    assert list(audit["event"]) == ["rollback", "load", "load"]
    assert audit["source"].iloc[0].startswith("Data page (")
    assert "invoices.csv (" in audit["files"].iloc[1]
    assert audit["details"].iloc[1] == "6 documents, 2 warning(s)"  # P3 and O2 are dated after the as-of date
    labels = {k: v.get("label") for k, v in json.loads(grid.proto.columns).items()}
    assert labels["time"] == "Time (UTC)" and labels["files"] == "Files (SHA-256)"


@pytest.mark.parametrize(
    "given,kept",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\evil.csv", "evil.csv"),
        (".hidden.csv", "hidden.csv"),
        ("invoices 2026;rm -rf.csv", "invoices 2026_rm -rf.csv"),
        ("", "upload"),
        ("..", "upload"),
        ("Fälligkeit.csv", "Fälligkeit.csv"),  # a letter with an accent is a letter (was "F_lligkeit.csv")
        ("invoices [1] é ü #&'.csv", "invoices [1] é ü #&'.csv"),  # as the CLI keeps it
        ("Fa\u0308lligkeit.csv", "Fälligkeit.csv"),  # macOS's decomposed ä, as one letter
        ("a\nb\x00c\u202efdp.csv", "a_b_c_fdp.csv"),  # line break, NUL, right-to-left override
        ('x<y>:"|?*.csv', "x_y______.csv"),  # refused by Windows
        ("...csv. ", "csv"),
    ],
)
def test_an_uploaded_file_name_is_never_a_path(given, kept):
    from dashboard.load.read import safe_file_name

    assert safe_file_name(given) == kept


# A UK Business Central export whose every day is 12 or less: nothing in it tells 03/02/2026 (3 February) from
# 2 March; and the same layout's amounts as '1.500' (1.5 or 1,500) in a second export.
UK_BC = (
    "Entry No.,Customer No.,Document No.,Document Type,Document Date,Due Date,Amount,Currency Code\n"
    "1,C1,D1,Invoice,03/02/2026,05/03/2026,150.00,\n2,C1,D2,Invoice,05/02/2026,07/03/2026,250.00,\n"
)


def test_an_ambiguous_date_order_is_declared_on_the_page_checked_again_and_loaded(data):
    (data / "inbox" / "uk").mkdir()
    (data / "inbox" / "uk" / "CustLedgerEntries.csv").write_text(UK_BC)
    d = DataDir(data)
    at = data_page(dp_asof=dt.date(2026, 3, 6))
    at.selectbox(key="dp_inbox").set_value("uk").run()
    at.button(key="dp_check").click().run()
    assert "cannot be loaded: 1 error" in at.error[0].value
    radio = at.radio(key="dp_declare_date|CustLedgerEntries.csv|")
    assert radio.label == plain("In which order does CustLedgerEntries.csv write its dates ('Document Date', 'Due Date')?")  # as text, not markdown
    assert radio.value is None  # nothing chosen for the analyst
    shown = list(radio.options)  # as drawn
    assert plain("day first (DD/MM/YYYY): '03/02/2026' is 3 February 2026, '05/02/2026' is 5 February 2026") in shown
    assert plain("month first (MM/DD/YYYY): '03/02/2026' is 2 March 2026, '05/02/2026' is 2 May 2026") in shown
    assert at.button(key="dp_declare_check").disabled  # until every question is answered

    radio.set_value("DMY").run()
    at.button(key="dp_declare_check").click().run()
    assert not at.exception, at.exception
    assert "passes every check" in at.success[0].value
    assert any(plain("Formats declared for this load: the dates of CustLedgerEntries.csv read day first") in c.value for c in at.caption)
    assert not (data / "layouts").exists()  # not kept in the layout: for this load only
    assert len(d.list()) == 1  # a check loads nothing

    at.button(key="dp_load").click().run()
    assert not at.exception, at.exception
    snap = d.current()
    assert snap.manifest["rows"]["invoices"] == 2 and snap.manifest["declared_formats"][0]["format"] == "DMY"
    last = d.read_audit()[-1]
    assert last["event"] == "load" and last["declared_formats"][0]["format"] == "DMY"
    at = data_page()
    audit = next(df for df in at.dataframe if "event" in df.value.columns).value
    # the warning: C1 is not in a customer master (the extract has none)
    assert audit["details"].iloc[0] == "2 documents, 1 warning(s); formats declared: the dates of CustLedgerEntries.csv read day first"


def test_a_declared_number_format_can_be_kept_in_the_layout_from_the_page(data):
    (data / "inbox" / "bc").mkdir()
    bc = UK_BC.replace("03/02/2026,05/03/2026,150.00", "2026-02-03,2026-03-05,1.500").replace("05/02/2026,07/03/2026,250.00", "2026-02-05,2026-03-07,250")
    (data / "inbox" / "bc" / "CustLedgerEntries.csv").write_text(bc)
    at = data_page(dp_asof=dt.date(2026, 3, 6))
    at.selectbox(key="dp_inbox").set_value("bc").run()
    at.button(key="dp_check").click().run()
    radio = at.radio(key="dp_declare_number|CustLedgerEntries.csv|Amount")
    assert list(radio.options) == [
        plain("1,234.56 (point decimal): '1.500' is 1.5"),
        plain("1.234,56 (comma decimal): '1.500' is 1500"),
    ]
    radio.set_value("de").run()
    at.checkbox(key="dp_keep_formats").check().run()
    at.button(key="dp_declare_check").click().run()
    assert not at.exception, at.exception
    assert "passes every check" in at.success[0].value
    assert any("Kept in `layouts/business-central.toml`" in i.value for i in at.info)
    assert 'number_formats = ["de"]' in (data / "layouts" / "business-central.toml").read_text()
    at.button(key="dp_load").click().run()
    assert not at.exception, at.exception
    import polars as pl

    docs = pl.read_parquet(DataDir(data).current().path / "tables" / "invoices.parquet")
    assert docs["amount"].to_list() == [1500.0, 250.0]


def test_formats_that_cannot_be_kept_in_the_layout_are_said_so_and_still_used_for_the_load(data):
    # the data folder's layouts/business-central.toml holds another layout: the built-in one cannot be copied there
    (data / "layouts").mkdir()
    other = 'name = "ours"\n[tables.invoices.columns]\ninvoice_id = "Nr"\ncustomer_id = "K"\ninvoice_date = "D"\ndue_date = "F"\namount = "B"\n'
    (data / "layouts" / "business-central.toml").write_text(other)
    (data / "inbox" / "uk").mkdir()
    (data / "inbox" / "uk" / "CustLedgerEntries.csv").write_text(UK_BC)
    at = data_page(dp_asof=dt.date(2026, 3, 6))
    at.selectbox(key="dp_inbox").set_value("uk").run()
    at.button(key="dp_check").click().run()
    at.radio(key="dp_declare_date|CustLedgerEntries.csv|").set_value("DMY").run()
    at.checkbox(key="dp_keep_formats").check().run()
    at.button(key="dp_declare_check").click().run()
    assert not at.exception, at.exception
    assert any("Not kept in the layout (used for this load only)" in w.value and "holds the layout" in w.value for w in at.warning)
    assert (data / "layouts" / "business-central.toml").read_text() == other
    assert "passes every check" in at.success[0].value
