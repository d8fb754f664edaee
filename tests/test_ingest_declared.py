"""Formats declared for one load when a file's values cannot decide them (declare.py, the Data page's choice).

A check refused for an ambiguous number format or date order lists what to ask; the answers, given to
`ingest(declared=...)`, hold for that load only, are recorded with it in the audit trail (SQLite and
PostgreSQL), and can be kept in the layout used. Expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path

import polars as pl
import pytest

from dashboard.load.declare import Declaration, Declared, questions, save_to_layout
from dashboard.load.ingest import ingest
from dashboard.load.layouts import BUILTIN_DIR, LayoutError
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import AccessDenied, User
from tests.fixtures import STORE_BACKENDS, workbench_url

BC_HEADER = "Entry No.,Customer No.,Document No.,Document Type,Document Date,Due Date,Amount,Currency Code\n"
# A UK Business Central export whose every day is 12 or less: 03/02/2026 is 3 February or 2 March.
UK = BC_HEADER + "1,C1,D1,Invoice,03/02/2026,05/03/2026,150.00,\n2,C1,D2,Invoice,05/02/2026,07/03/2026,250.00,\n"

# An SAP FBL5N export of an English user in yen (no decimals): '845,000' is 845,000 yen as en and 845.000 as de,
# and no value rules either out (every one has at most one comma and three digits after it). The dates decide
# themselves (03/15/2026 is month first). Open at 2026-04-30: 845,000 + 572,906 - 12,000 = 1,405,906 JPY
# (1800000003 was cleared 04/10), at 0.01 USD a yen: AR 14,059.06 USD, all of it overdue but the credit note's.
FBL5N_JPY = """Account,Document Number,Document Type,Document Date,Net due date,Amount in doc. curr.,Document currency,Clearing date
1000,1800000001,RV,03/15/2026,04/14/2026,"845,000",JPY,
1000,1800000002,RV,03/16/2026,04/15/2026,"572,906",JPY,
1000,1800000003,RV,03/20/2026,04/19/2026,"125,500",JPY,04/10/2026
1000,1800000004,DG,03/25/2026,05/24/2026,"12,000-",JPY,
"""
FX = "currency,rate_to_base\nJPY,0.01\n"
ANALYST = User("alice", "credit_analyst")


def extract(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "extract"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(params=STORE_BACKENDS)
def trail(request, tmp_path, monkeypatch):
    """The audit trail on SQLite (in the data folder) or on its own PostgreSQL schema."""
    if request.param == "sqlite":
        monkeypatch.delenv("O2C_DB_URL", raising=False)
        yield request.param
        return
    for url in workbench_url("postgresql", tmp_path):
        monkeypatch.setenv("O2C_DB_URL", url)
        yield request.param


def entries(data: DataDir, action: str) -> list[dict]:
    with data.trail().begin() as conn:
        return [e for e in audit.events(conn) if e["action"] == action]


def test_a_uk_file_whose_days_are_all_12_or_less_loads_day_first_once_declared(tmp_path):
    data = DataDir(tmp_path / "data")
    folder = extract(tmp_path, {"CustLedgerEntries.csv": UK})
    res = ingest([folder], data, Settings(), dry_run=True)
    (q,) = questions(res.report)
    assert (q.file, q.kind, q.heading, q.headings, q.layout) == ("CustLedgerEntries.csv", "date", None, ("Document Date", "Due Date"), "business-central")
    assert q.prompt == "In which order does CustLedgerEntries.csv write its dates ('Document Date', 'Due Date')?"
    # two of the file's own values, with what each order makes of them
    labels = {o.value: o.label for o in q.options}
    assert labels == {
        "MDY": "month first (MM/DD/YYYY): '03/02/2026' is 2 March 2026, '05/02/2026' is 2 May 2026",
        "DMY": "day first (DD/MM/YYYY): '03/02/2026' is 3 February 2026, '05/02/2026' is 5 February 2026",
    }
    declared = Declared((q.declare("DMY"),))
    assert declared.items[0] == Declaration("CustLedgerEntries.csv", "date", None, "DMY", "MDY", "business-central")
    res = ingest([folder], data, Settings(), as_of=dt.date(2026, 3, 6), declared=declared)
    assert res.ok, res.report.to_text()
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    assert docs.select("invoice_date", "due_date").rows() == [(dt.date(2026, 2, 3), dt.date(2026, 3, 5)), (dt.date(2026, 2, 5), dt.date(2026, 3, 7))]
    h = Engine.open(res.snapshot, Settings()).headline(None)
    assert (h["ar_total"], h["ar_overdue"]) == (400.00, 150.00)  # D1 was due 5 March; D2 is due 7 March
    assert res.snapshot.manifest["declared_formats"] == declared.to_json()

    # for that load only: the next one asks again
    again = ingest([folder], data, Settings(), dry_run=True)
    assert [e.rule for e in again.report.errors] == ["date order unclear"]


def test_an_english_fbl5n_export_in_yen_loads_14_059_06_with_point_decimal_declared(tmp_path):
    data = DataDir(tmp_path / "data")
    folder = extract(tmp_path, {"FBL5N.csv": FBL5N_JPY, "fx.csv": FX})
    res = ingest([folder], data, Settings(), dry_run=True)
    assert [(e.rule, e.heading, e.value) for e in res.report.errors] == [("number format unclear", "Amount in doc. curr.", "845,000")]
    (q,) = questions(res.report)
    assert (q.kind, q.heading, q.layout) == ("number", "Amount in doc. curr.", "sap-fbl5n")
    assert q.prompt == "How does FBL5N.csv write the numbers of 'Amount in doc. curr.'?"
    labels = {o.value: o.label for o in q.options}
    assert labels == {
        "de": "1.234,56 (comma decimal): '845,000' is 845, '572,906' is 572.906",
        "en": "1,234.56 (point decimal): '845,000' is 845000, '572,906' is 572906",
    }
    res = ingest([folder], data, Settings(), as_of=dt.date(2026, 4, 30), declared=Declared((q.declare("en"),)))
    assert res.ok, res.report.to_text()
    h = Engine.open(res.snapshot, Settings()).headline(None)
    assert h["ar_total"] == pytest.approx(14_059.06, abs=0.005)
    # overdue at 04-30: 845,000 (due 04-14) + 572,906 (due 04-15) yen; the credit note is due 05-24
    assert h["ar_overdue"] == pytest.approx(14_179.06, abs=0.005)


def test_a_value_the_declared_format_cannot_read_is_refused_on_its_row(tmp_path):
    bad = FBL5N_JPY.replace('"125,500"', '"125.500,00"')  # German, in a file declared English
    folder = extract(tmp_path, {"FBL5N.csv": bad, "fx.csv": FX})
    declared = Declared((Declaration("FBL5N.csv", "number", "Amount in doc. curr.", "en", "de", "sap-fbl5n"),))
    res = ingest([folder], DataDir(tmp_path / "data"), Settings(), dry_run=True, declared=declared)
    (err,) = res.report.errors
    assert (err.rule, err.row, err.heading, err.value) == ("not a decimal", 4, "Amount in doc. curr.", "125.500,00")
    assert "e.g. 1,234.56" in err.message


def test_declared_formats_are_recorded_with_the_load_in_the_audit_trail(tmp_path, trail):
    data = DataDir(tmp_path / "data")
    folder = extract(tmp_path, {"CustLedgerEntries.csv": UK})
    declared = Declared((Declaration("CustLedgerEntries.csv", "date", None, "DMY", "MDY", "business-central"),))
    res = ingest([folder], data, Settings(), as_of=dt.date(2026, 3, 6), declared=declared, user=ANALYST)
    assert res.ok
    (started,) = entries(data, "load.started")
    (loaded,) = entries(data, "snapshot.load")
    assert started["details"]["declared_formats"] == loaded["details"]["declared_formats"] == declared.to_json()
    assert loaded["user"] == "alice"
    # a refused load records them too, and a load without a declaration has no such key
    broken = extract(tmp_path, {"CustLedgerEntries.csv": UK.replace("150.00", "15x")})
    assert not ingest([broken], data, Settings(), declared=declared, user=ANALYST).ok
    (refused,) = entries(data, "snapshot.refusal")
    assert refused["details"]["declared_formats"] == declared.to_json()
    plain = extract(tmp_path / "p", {"invoices.csv": "invoice_id,customer_id,invoice_date,due_date,amount\nI1,C1,2026-01-10,2026-02-09,5\n"})
    assert ingest([plain], data, Settings(), user=ANALYST).ok
    assert "declared_formats" not in entries(data, "snapshot.load")[0]["details"]  # newest first


def test_a_declaration_kept_in_a_built_in_layout_copies_it_into_the_data_folder(tmp_path, trail):
    data = DataDir(tmp_path / "data")
    folder = extract(tmp_path, {"CustLedgerEntries.csv": UK})
    (q,) = questions(ingest([folder], data, Settings(), dry_run=True).report)
    (path,) = save_to_layout(data, Declared((q.declare("DMY"),)), ANALYST)
    assert path == data.root / "layouts" / "business-central.toml"
    text = path.read_text(encoding="utf-8")
    # the month-first format goes, the rest of the file (its comments) stays
    assert 'date_formats = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]' in text
    assert text.startswith("# Microsoft Dynamics 365 Business Central")
    assert tomllib.loads(text)["tables"] == tomllib.loads((BUILTIN_DIR / "business-central.toml").read_text(encoding="utf-8"))["tables"]
    (saved,) = entries(data, "layout.saved")
    assert (saved["user"], saved["object_id"]) == ("alice", "business-central")
    assert saved["details"]["file"] == "layouts/business-central.toml" and saved["details"]["copied_from_builtin"]
    assert saved["details"]["was"]["date_formats"] == ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y"]
    # the next export of that system loads without asking
    res = ingest([folder], data, Settings(), as_of=dt.date(2026, 3, 6))
    assert res.ok, res.report.to_text()
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    assert docs["invoice_date"].to_list() == [dt.date(2026, 2, 3), dt.date(2026, 2, 5)]


def test_a_number_declaration_kept_in_a_team_layout_changes_only_its_line(tmp_path, trail):
    data = DataDir(tmp_path / "data")
    (data.root / "layouts").mkdir(parents=True)
    team = data.root / "layouts" / "fbl5n-team.toml"
    original = (BUILTIN_DIR / "sap-fbl5n.toml").read_text(encoding="utf-8").replace('name = "sap-fbl5n"', 'name = "sap-fbl5n"  # ours')
    team.write_text(original, encoding="utf-8")
    folder = extract(tmp_path, {"FBL5N.csv": FBL5N_JPY, "fx.csv": FX})
    (q,) = questions(ingest([folder], data, Settings(), dry_run=True).report)
    assert save_to_layout(data, Declared((q.declare("en"),)), ANALYST) == [team]
    assert team.read_text(encoding="utf-8") == original.replace('number_formats = ["de", "en"]', 'number_formats = ["en"]')
    res = ingest([folder], data, Settings(), as_of=dt.date(2026, 4, 30))
    assert Engine.open(res.snapshot, Settings()).headline(None)["ar_total"] == pytest.approx(14_059.06, abs=0.005)


def test_keeping_a_declaration_needs_the_loaders_role_and_changes_nothing_when_refused(tmp_path, trail):
    data = DataDir(tmp_path / "data")
    d = Declaration("x.csv", "date", None, "DMY", "MDY", "business-central")
    with pytest.raises(AccessDenied, match="viewer may not change a layout"):
        save_to_layout(data, Declared((d,)), User("viewer", "viewer"))
    assert not (data.root / "layouts").exists()
    # two columns of one layout declared in different formats: a layout has one list; nothing is written
    n = [Declaration("a.csv", "number", "Amount", "en", "de", "sap-fbl5n"), Declaration("b.csv", "number", "Amount", "de", "en", "sap-fbl5n")]
    with pytest.raises(LayoutError, match="one list of number formats"):
        save_to_layout(data, Declared(tuple(n)), ANALYST)
    assert not (data.root / "layouts" / "sap-fbl5n.toml").exists()
    assert entries(data, "layout.saved") == []


def test_declared_round_trips_and_merges():
    a = Declaration("x.csv", "number", "Amount", "en", "de", "bc")
    b = Declaration("x.csv", "date", None, "DMY", "MDY", "bc")
    d = Declared((a,)).merged(Declared((b, Declaration("x.csv", "number", "Amount", "de", "en", "bc"))))
    assert d.numbers("x.csv") == {"Amount": "de"} and d.order("x.csv") == "DMY" and d.order("y.csv") is None
    assert Declared.from_json(d.to_json()) == d
    assert d.words() == "'Amount' in x.csv read as 1.234,56 (comma decimal); the dates of x.csv read day first"
    assert not Declared() and os.sep  # an empty declaration is false


@pytest.mark.browser
def test_an_analyst_uploads_an_ambiguous_export_declares_its_format_and_loads_it_in_a_browser(tmp_path):
    """Debian's chromium against `o2c serve`: drop the yen FBL5N export and its fx file on the Data page, read why
    it is refused, pick "point decimal", check again, load; the overview's AR is then 14,059.06 USD."""
    from playwright.sync_api import expect

    from tests.fixtures import MIXED, app_idle, chromium_page, need_chromium, serving, write_csvs

    need_chromium()
    data = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", MIXED)], data, Settings(), as_of=dt.date(2026, 5, 31)).ok
    files = extract(tmp_path / "upload", {"FBL5N.csv": FBL5N_JPY, "fx.csv": FX})
    with serving(data.root, tmp_path / "serve.log") as url, chromium_page(height=1800) as page:
        page.goto(url)
        page.get_by_role("link", name="Executive overview", exact=True).wait_for(timeout=60_000)
        page.get_by_role("link", name="Data", exact=True).click()
        page.get_by_text("Extract files").wait_for(timeout=30_000)
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([str(files / "FBL5N.csv"), str(files / "fx.csv")])
        expect(page.locator("[data-testid=stFileChip]")).to_have_count(2, timeout=30_000)
        app_idle(page)  # as of its latest date, 2026-04-10: 1800000003 is cleared that day, AR 1,405,906 yen as at 04-30
        page.get_by_role("button", name="Check", exact=True).click()
        page.get_by_text("The extract cannot be loaded: 1 error(s)").wait_for(timeout=60_000)
        expect(page.get_by_text("How does FBL5N.csv write the numbers of 'Amount in doc. curr.'?")).to_be_visible(timeout=30_000)
        again = page.get_by_role("button", name="Check again with these formats")
        expect(again).to_be_disabled()
        page.screenshot(path=str(tmp_path / "declare_asked.png"), full_page=True)
        page.get_by_text("1,234.56 (point decimal): '845,000' is 845000, '572,906' is 572906").click()
        app_idle(page)
        expect(again).to_be_enabled(timeout=30_000)
        again.click()
        page.get_by_text("The extract passes every check").wait_for(timeout=60_000)
        expect(page.get_by_text("Formats declared for this load: 'Amount in doc. curr.' in FBL5N.csv read as 1,234.56 (point decimal).")).to_be_visible()
        page.screenshot(path=str(tmp_path / "declare_checked.png"), full_page=True)
        page.get_by_role("button", name="Load", exact=True).click()
        page.get_by_text("is now current").wait_for(timeout=60_000)
        page.get_by_role("link", name="Executive overview", exact=True).click()
        page.get_by_text("As of 10 April 2026").wait_for(timeout=60_000)
        expect(page.locator("body")).not_to_contain_text("Traceback")
        page.screenshot(path=str(tmp_path / "declare_loaded.png"), full_page=True)
        for name in ("declare_asked.png", "declare_checked.png", "declare_loaded.png"):  # for a person to look at
            (Path("/tmp") / f"o2c-{name}").write_bytes((tmp_path / name).read_bytes())
    snap = data.current()
    assert snap.manifest["declared_formats"][0]["format"] == "en"
    assert Engine.open(snap, Settings()).headline(None)["ar_total"] == pytest.approx(14_059.06, abs=0.005)
