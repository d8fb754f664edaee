"""Layouts as data: detection from the header, ERP quirks, a team's own layout file, Excel input.

Expected figures are worked out by hand (small exports) or with the standard
library's csv module straight from the spec (the IBM sample), never with the
engine's own code.
"""

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from dashboard.cli import main as o2c
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import SAP_DE, SHARED

IBM = SHARED / "datasets" / "ibm_ar_late_payments" / "WA_Fn-UseC_-Accounts-Receivable.csv"
EUR = Settings(base_currency="EUR")


def load(tmp_path: Path, paths: list[Path], settings: Settings | None = None, **kw):
    return ingest(paths, DataDir(tmp_path / "data"), settings or Settings(), **kw)


# ----------------------------------------------------------------------------- IBM sample


def ibm_oracle(t: dt.date) -> dict:
    """AR, overdue AR and standard DSO at t from the raw file (settled invoices: open until SettledDate)."""
    us = lambda s: dt.datetime.strptime(s, "%m/%d/%Y").date()  # noqa: E731
    ar = overdue = sales = 0.0
    with open(IBM, newline="") as fh:
        for r in csv.DictReader(fh):
            inv, due, paid, amt = us(r["InvoiceDate"]), us(r["DueDate"]), us(r["SettledDate"]), float(r["InvoiceAmount"])
            if t - dt.timedelta(days=89) <= inv <= t:
                sales += amt
            if inv <= t and paid > t:
                ar += amt
                overdue += amt if (t - due).days > 0 else 0
    return {"ar": ar, "overdue": overdue, "dso": ar / sales * 90}


@pytest.mark.skipif(not IBM.exists(), reason="../shared/datasets is not here")
def test_ibm_sample_loads_with_no_layout_named_and_matches_the_spec(tmp_path):
    res = load(tmp_path, [IBM])
    assert res.ok, res.report.to_text()
    assert res.report.facts["layouts"] == {IBM.name: "ibm-late-payments"}
    eng = Engine.open(res.snapshot, Settings())
    for t in (dt.date(2012, 3, 31), dt.date(2013, 6, 30), dt.date(2013, 11, 15)):
        h, want = eng.headline(t), ibm_oracle(t)
        assert h["ar_total"] == round(want["ar"], 2)
        assert h["ar_overdue"] == round(want["overdue"], 2)
        assert h["dso_standard"] == round(want["dso"], 2)
    # customers come from the same file: one per customerID, with its country code
    with open(IBM, newline="") as fh:
        ids = {r["customerID"] for r in csv.DictReader(fh)}
    assert res.snapshot.manifest["rows"]["customers"] == len(ids)


# ----------------------------------------------------------------------------- SAP FBL5N, German


def test_sap_german_export_with_decimal_comma_trailing_minus_and_total_rows(tmp_path):
    f = tmp_path / "FBL5N_export.txt"
    f.write_bytes(SAP_DE.encode("cp1252"))  # Windows-1252, as SAP GUI writes a local file
    res = load(tmp_path, [f], EUR, as_of=dt.date(2026, 4, 30))
    assert res.ok, res.report.to_text()
    assert res.report.facts["layouts"] == {f.name: "sap-fbl5n"}
    skipped = [w for w in res.report.warnings if w.rule == "rows skipped"]
    assert len(skipped) == 1 and "3 row(s)" in skipped[0].message
    h = Engine.open(res.snapshot, EUR).headline()
    # open at 04-30: 1234.50 (due 03-31), -100.20 (credit, due 03-20), 500.00 (not due); 1800000002 cleared 04-10
    assert h["ar_total"] == 1634.30
    assert h["ar_overdue"] == 1134.30


def test_a_bad_value_in_an_erp_export_names_the_analysts_row_and_value(tmp_path):
    f = tmp_path / "FBL5N_export.txt"
    f.write_bytes(SAP_DE.replace("15.03.2026", "32.03.2026").encode("cp1252"))
    res = load(tmp_path, [f], EUR)
    assert not res.ok
    (err,) = res.report.errors
    assert (err.file, err.row, err.column, err.value, err.rule) == (f.name, 3, "invoice_date", "32.03.2026", "not a date")
    assert "not a valid date (this export writes DD.MM.YYYY)" in err.message and "write it as" not in err.message  # its own format, not the generic advice


# ----------------------------------------------------------------------------- detection


AGING = """Customer,Transaction Type,Date,Document Number,Due Date,Open Balance
Acme Corp,Invoice,15/03/2026,INV-1001,14/04/2026,"$4,250.00"
Acme Corp,Credit Memo,20/03/2026,CM-17,20/03/2026,($250.00)
Beta Ltd,Invoice,01/04/2026,INV-1002,01/05/2026,"$1,000.00"
Total,,,,,"$5,000.00"
"""

# The README's worked example, byte for byte (test_the_readme_shows_this_layout keeps them the same).
NETSUITE_LAYOUT = """name = "netsuite-ar-aging"
description = "NetSuite A/R Aging Detail (open items only)"
date_formats = ["%d/%m/%Y"]
number_formats = ["en"]
skip_rows_without = "invoice_id"

[tables.invoices.columns]
invoice_id = "Document Number"
customer_id = "Customer"
invoice_date = "Date"
due_date = "Due Date"
amount = "Open Balance"

[tables.invoices.constants]
currency = "USD"

[tables.invoices.derived]
document_type = "CASE WHEN \\"Transaction Type\\" = 'Credit Memo' THEN 'credit_note' ELSE 'invoice' END"
"""


def test_an_unknown_export_says_which_columns_it_expected_and_found_then_loads_with_a_layout_file(tmp_path, capsys):
    f = tmp_path / "AR Aging Detail.csv"
    f.write_text(AGING)
    data = tmp_path / "data"
    assert o2c(["ingest", str(f), "--data", str(data), "--as-of", "2026-04-30"]) == 1
    err = capsys.readouterr().err
    assert "no layout fits its header" in err
    assert "Found columns: Customer, Transaction Type, Date, Document Number, Due Date, Open Balance" in err
    assert "sap-fbl5n: missing invoice_id (one of: Document Number" not in err  # it has "Document Number"
    assert "sap-fbl5n: missing customer_id" not in err and "sap-fbl5n: missing" in err
    assert "ibm-late-payments: missing invoice_id (one of: invoiceNumber)" in err
    assert DataDir(data).current_id() is None  # nothing loaded

    # The analyst writes the layout file into the data folder, as the README shows, and loads again.
    (data / "layouts").mkdir()
    (data / "layouts" / "netsuite-ar-aging.toml").write_text(NETSUITE_LAYOUT)
    assert o2c(["ingest", str(f), "--data", str(data), "--as-of", "2026-04-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"]["invoices"] == 3
    h = Engine.open(DataDir(data).current(), Settings()).headline()
    assert h["ar_total"] == 5000.00  # 4250 - 250 + 1000; the Total row is skipped
    assert h["ar_overdue"] == 4000.00  # INV-1001 and CM-17 are past due at 04-30
    docs = DataDir(data).current().path / "tables" / "invoices.parquet"
    import polars as pl

    assert dict(pl.read_parquet(docs).select("invoice_id", "document_type").iter_rows()) == {
        "INV-1001": "invoice",
        "CM-17": "credit_note",
        "INV-1002": "invoice",
    }


def test_two_layouts_fitting_one_header_is_a_question_not_a_guess(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "ours.toml").write_text(NETSUITE_LAYOUT.replace("netsuite-ar-aging", "ours"))
    (data / "layouts" / "theirs.toml").write_text(NETSUITE_LAYOUT.replace("netsuite-ar-aging", "theirs"))
    f = tmp_path / "aging.csv"
    f.write_text(AGING)
    assert o2c(["ingest", str(f), "--data", str(data)]) == 1
    assert "fits several layouts (ours, theirs); choose one with --layout" in capsys.readouterr().err
    assert o2c(["ingest", str(f), "--data", str(data), "--layout", "theirs", "--as-of", "2026-04-30"]) == 0
    assert o2c(["ingest", str(f), "--data", str(data), "--layout", "nosuch"]) == 2
    assert "unknown layout 'nosuch'" in capsys.readouterr().err


def test_a_broken_layout_file_is_explained(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "bad.toml").write_text(NETSUITE_LAYOUT.replace('amount = "Open Balance"', 'amount_due = "Open Balance"'))
    f = tmp_path / "aging.csv"
    f.write_text(AGING)
    assert o2c(["ingest", str(f), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "'amount_due' in [tables.invoices] is not a column of the invoices table" in err


# ----------------------------------------------------------------------------- Excel


def test_excel_input_reads_cached_values_and_never_evaluates_a_formula(tmp_path):
    import xlsxwriter

    f = tmp_path / "invoices.xlsx"
    wb = xlsxwriter.Workbook(f)
    ws, dfmt = wb.add_worksheet(), wb.add_format({"num_format": "dd.mm.yyyy"})
    for c, h in enumerate(["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "currency"]):
        ws.write(0, c, h)
    ws.write_row(1, 0, ["D1", "C1"])
    ws.write_datetime(1, 2, dt.datetime(2026, 3, 1), dfmt)
    ws.write_datetime(1, 3, dt.datetime(2026, 3, 31), dfmt)
    ws.write_number(1, 4, 700)
    ws.write(1, 5, "USD")
    ws.write_row(2, 0, ["D2", "C2"])
    ws.write_datetime(2, 2, dt.datetime(2026, 4, 1), dfmt)
    ws.write_datetime(2, 3, dt.datetime(2026, 5, 1), dfmt)
    # a formula whose cached value (50) differs from what it would compute (300): we must see 50
    ws.write_formula(2, 4, "=100*3", None, 50)
    ws.write(2, 5, "USD")
    wb.close()
    res = load(tmp_path, [f], as_of=dt.date(2026, 4, 30))
    assert res.ok, res.report.to_text()
    h = Engine.open(res.snapshot, Settings()).headline()
    assert h["ar_total"] == 750.0
    assert h["ar_overdue"] == 700.0


def test_excel_errors_name_the_spreadsheet_row(tmp_path):
    import xlsxwriter

    f = tmp_path / "invoices.xlsx"
    wb = xlsxwriter.Workbook(f)
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"])
    ws.write_row(1, 0, ["D1", "C1", "2026-03-01", "2026-03-31", 10])
    ws.write_row(2, 0, ["D2", "C1", "2026-03-01", "2026-03-31", "ten"])
    wb.close()
    res = load(tmp_path, [f])
    (err,) = res.report.errors
    assert (err.row, err.column, err.value) == (3, "amount", "ten")


def test_the_readme_shows_this_layout():
    from tests.fixtures import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert NETSUITE_LAYOUT in readme
    assert AGING in readme
