"""Workbooks with genuine Excel date cells (number format dd.mm.yyyy), as a finance user saves them: each date
cell loads as its date, whatever else its column holds, and nothing but our own messages reaches the terminal."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import xlsxwriter

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO

HEADINGS = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "currency", "paid_date"]


def workbook(path: Path, rows: list[list]) -> Path:
    """invoices.xlsx with `rows` under the contract's headings; datetimes are written as true date cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    day = wb.add_format({"num_format": "dd.mm.yyyy"})
    ws.write_row(0, 0, HEADINGS)
    for i, row in enumerate(rows, 1):
        for j, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(i, j, v, day)
            elif v is not None:
                ws.write(i, j, v)
    wb.close()
    return path


def loaded(tmp_path: Path, rows: list[list]):
    res = ingest([workbook(tmp_path / "x" / "invoices.xlsx", rows)], DataDir(tmp_path / "d"), Settings())
    assert res.ok, res.report.to_text()
    return res, pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet").sort("invoice_id")


D = dt.datetime


def test_date_cells_in_a_column_that_also_holds_typed_text_load_as_their_dates(tmp_path):
    # I1's dates are date cells; I2's invoice_date was typed as text: the column is read as text, where a date
    # cell arrives as "2026-01-15 00:00:00". It was refused ("is not a date"); it is 15 January 2026.
    rows = [
        ["I1", "C1", D(2026, 1, 15), D(2026, 2, 14), 100.0, "USD", None],
        ["I2", "C1", "2026-01-20", D(2026, 2, 19), 50.0, "USD", D(2026, 2, 1)],
    ]
    res, inv = loaded(tmp_path, rows)
    assert inv["invoice_date"].to_list() == [dt.date(2026, 1, 15), dt.date(2026, 1, 20)]
    assert inv["due_date"].to_list() == [dt.date(2026, 2, 14), dt.date(2026, 2, 19)]
    assert not [i for i in res.report.issues if i.rule == "time of day ignored"]


def test_a_date_cell_with_a_time_of_day_loads_as_its_date_with_a_warning_naming_the_cell(tmp_path):
    rows = [
        ["I1", "C1", D(2026, 1, 15), D(2026, 2, 14), 100.0, "USD", None],
        ["I2", "C1", D(2026, 1, 20, 14, 30), D(2026, 2, 19), 50.0, "USD", None],  # an ERP timestamp
        ["I3", "C1", "2026-01-21", D(2026, 2, 20, 9, 0), 25.0, "USD", None],  # typed text: invoice_date is read as text
    ]
    res, inv = loaded(tmp_path, rows)
    assert inv["invoice_date"].to_list() == [dt.date(2026, 1, 15), dt.date(2026, 1, 20), dt.date(2026, 1, 21)]
    assert inv["due_date"].to_list() == [dt.date(2026, 2, 14), dt.date(2026, 2, 19), dt.date(2026, 2, 20)]
    timed = {(i.column, i.row, i.value) for i in res.report.issues if i.rule == "time of day ignored" and i.severity == "warning"}
    # Row 3 of the sheet (I2) has 14:30 in invoice_date, a column read as text; row 4 (I3) has 09:00 in due_date, a datetime column.
    assert timed == {("invoice_date", 3, "2026-01-20 14:30:00"), ("due_date", 4, "2026-02-20 09:00:00")}


def test_a_text_date_below_the_first_hundred_rows_of_a_date_column_is_read_not_emptied(tmp_path):
    # 150 date cells, then row 152 of the sheet typed as text: the reader used to type the column from its
    # first 100 rows and turn that cell into an empty one ("'invoice_date' is empty").
    rows = [[f"I{i:03}", "C1", D(2026, 1, 15), D(2026, 2, 14), 10.0, "USD", None] for i in range(150)]
    rows.append(["I150", "C1", "2026-01-16", D(2026, 2, 14), 10.0, "USD", None])
    _, inv = loaded(tmp_path, rows)
    assert inv.filter(pl.col("invoice_id") == "I150")["invoice_date"].to_list() == [dt.date(2026, 1, 16)]
    assert inv["invoice_date"].null_count() == 0


def test_the_cli_prints_no_library_line_and_json_errors_stay_one_json_document(tmp_path):
    # paid_date is empty throughout: the Excel reader logs "Could not determine dtype for column 6, falling back
    # to string", which Python printed on stderr. A bad amount makes the extract refused, so stderr must be our JSON alone.
    rows = [["I1", "C1", D(2026, 1, 15), D(2026, 2, 14), "lots", "USD", None]]
    f = workbook(tmp_path / "x" / "invoices.xlsx", rows)
    o2c = Path(sys.executable).parent / "o2c"
    run = subprocess.run([str(o2c), "--data", str(tmp_path / "d"), "ingest", str(f), "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "dtype" not in run.stderr and "falling back" not in run.stderr
    err = json.loads(run.stderr)  # one document, nothing around it
    assert any("'amount'" in d for d in err["details"]), err
    assert run.stdout == ""


# A team layout that declares its export's dates as dd.mm.yyyy, reading a workbook whose date column mixes true
# date cells with dates typed as text.
DECLARED = """name = "de-workbook"
date_formats = ["%d.%m.%Y"]
number_formats = ["de"]
[tables.invoices.columns]
invoice_id = "Beleg"
customer_id = "Kunde"
invoice_date = "Belegdatum"
due_date = "Fällig"
amount = "Betrag"
"""


def declared_workbook(tmp_path: Path, rows: list[list]) -> Path:
    path = tmp_path / "x" / "Posten.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    day = wb.add_format({"num_format": "dd.mm.yyyy"})
    ws.write_row(0, 0, ["Beleg", "Kunde", "Belegdatum", "Fällig", "Betrag"])
    for i, row in enumerate(rows, 1):
        for j, v in enumerate(row):
            ws.write_datetime(i, j, v, day) if isinstance(v, dt.datetime) else ws.write(i, j, v)
    wb.close()
    (tmp_path / "d" / "layouts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "d" / "layouts" / "de-workbook.toml").write_text(DECLARED, encoding="utf-8")
    return path


def test_a_layout_declaring_dd_mm_yyyy_reads_date_cells_and_text_dates_of_one_column(tmp_path):
    rows = [
        ["B1", "K1", D(2026, 1, 15), D(2026, 2, 14), "100,00"],  # date cells
        ["B2", "K1", "03.02.2026", D(2026, 3, 5), "50,00"],  # typed text: 3 February
    ]
    res = ingest([declared_workbook(tmp_path, rows)], DataDir(tmp_path / "d"), Settings())
    assert res.ok, res.report.to_text()
    inv = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet").sort("invoice_id")
    assert inv["invoice_date"].to_list() == [dt.date(2026, 1, 15), dt.date(2026, 2, 3)]
    assert inv["due_date"].to_list() == [dt.date(2026, 2, 14), dt.date(2026, 3, 5)]
    assert not [i for i in res.report.issues if i.rule == "time of day ignored"]


def test_a_text_date_the_declared_format_does_not_read_is_refused_at_its_cell(tmp_path):
    rows = [
        ["B1", "K1", D(2026, 1, 15), D(2026, 2, 14), "100,00"],
        ["B2", "K1", "2026-02-03", D(2026, 3, 5), "50,00"],  # ISO text: not how this export writes dates
        ["B3", "K1", "02/03/2026", D(2026, 3, 5), "50,00"],
    ]
    res = ingest([declared_workbook(tmp_path, rows)], DataDir(tmp_path / "d"), Settings())
    got = sorted((e.rule, e.row, e.heading, e.column, e.value) for e in res.report.errors)
    assert got == [
        ("not a date", 3, "Belegdatum", "invoice_date", "2026-02-03"),
        ("not a date", 4, "Belegdatum", "invoice_date", "02/03/2026"),
    ], res.report.to_text()
    assert all(e.message == "'Belegdatum' is not a valid date (this export writes DD.MM.YYYY)" for e in res.report.errors)
