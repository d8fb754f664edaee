"""Silent misreads an ERP export used to load as if nothing were wrong, each refused or read right now.

Numbers and dates are read with the one format their values allow (or refused, with how to declare it);
values outside the documented bounds are refused row by row; every message is in the analyst's words,
names the export's own heading beside the contract's column, and never shows a library's text. Expected
figures are worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from dashboard.cli import main as o2c
from dashboard.load.ingest import ingest
from dashboard.load.report import Report
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir

EUR = Settings(base_currency="EUR")
# Words of a library that must never reach an analyst (polars, DuckDB, Python).
JARGON = ("strict_cast", "cannot cast", "invalid utf8", "ColumnNotFoundError", "polars", "Polars", "Exception", "Error:", "Traceback", "dtype")


def load(tmp_path: Path, files: dict[str, str | bytes], settings: Settings | None = None, **kw):
    folder = tmp_path / "extract"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return ingest([folder], DataDir(tmp_path / "data"), settings or Settings(), **kw)


def plain(report: Report) -> str:
    """The report as the analyst reads it, checked for a library's words."""
    text = report.to_text()
    assert not [w for w in JARGON if w in text], text
    return text


def team_layout(tmp_path: Path, builtin: str, **lines: str) -> None:
    """What the README tells an analyst to do to declare a format: copy the built-in layout into the data
    folder's layouts/ under the same name and change one line."""
    from dashboard.load.layouts import BUILTIN_DIR

    text = (BUILTIN_DIR / f"{builtin}.toml").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        out.append(f"{key} = {lines.pop(key)}" if key in lines else line)
    (tmp_path / "data" / "layouts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "data" / "layouts" / f"{builtin}.toml").write_text("\n".join(out) + "\n", encoding="utf-8")


def headline(res, settings: Settings | None = None, at: dt.date | None = None) -> dict:
    assert res.ok, res.report.to_text()
    return Engine.open(res.snapshot, settings or Settings()).headline(at)


def amounts(res) -> dict[str, float]:
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    return dict(docs.select("invoice_id", "amount").iter_rows())


# ----------------------------------------------------------------------------- numbers


# SAP FBL5N with an English user's settings: the layout lists de first, and de used to read all three
# (1,234.56 -> 1.23456, 950.00 -> 95000, 125.50- -> -12550). None of them is German: the last separator
# is followed by two digits, so it is a decimal point.
SAP_EN = """Account,Document Number,Document Type,Document Date,Net due date,Amount in doc. curr.,Document currency,Clearing date
1000,1800000001,RV,03/01/2026,03/31/2026,"1,234.56",USD,
1000,1800000002,RV,03/15/2026,04/14/2026,950.00,USD,04/10/2026
1000,1800000003,RV,03/20/2026,03/20/2026,125.50-,USD,
"""


def test_an_english_sap_export_is_read_as_english_though_the_layout_lists_german_first(tmp_path):
    res = load(tmp_path, {"FBL5N.csv": SAP_EN}, as_of=dt.date(2026, 4, 30))
    assert amounts(res) == {"1800000001": 1234.56, "1800000002": 950.00, "1800000003": -125.50}
    h = headline(res)
    # open at 04-30: 1234.56 (due 03-31) and -125.50 (due 03-20), both overdue; 1800000002 cleared 04-10
    assert h["ar_total"] == 1109.06
    assert h["ar_overdue"] == 1109.06


BC_HEADER = "Entry No.,Customer No.,Document No.,Document Type,Document Date,Due Date,Amount,Currency Code\n"


def test_a_german_1_500_that_nothing_decides_is_refused_with_how_to_declare_the_format(tmp_path):
    # Business Central lists en first: '1.500' used to load as 1.5. It is 1.5 in en and 1500 in de, and
    # '250' reads the same in both: nothing in the column rules either out.
    bc = BC_HEADER + "1,C1,D1,Invoice,2026-03-01,2026-03-31,1.500,\n2,C1,D2,Invoice,2026-03-05,2026-04-04,250,\n"
    res = load(tmp_path, {"CustLedgerEntries.csv": bc})
    assert not res.ok
    (err,) = res.report.errors
    assert (err.rule, err.row, err.column, err.heading, err.value) == ("number format unclear", 2, "amount", "Amount", "1.500")
    assert "'1.500' is 1.5 as en (1,234.56) and 1500 as de (1.234,56)" in err.message
    assert 'number_formats = ["en"]' in err.message and 'number_formats = ["en"] for en (1,234.56) or ["de"]' in err.message
    assert "copy business-central.toml" in err.message  # how, for a built-in layout
    plain(res.report)

    # Declared as the message says (a copy of the layout in the data folder): 1500, as the analyst meant it.
    team_layout(tmp_path, "business-central", number_formats='["de"]')
    res = load(tmp_path, {"CustLedgerEntries.csv": bc})
    assert amounts(res) == {"D1": 1500.0, "D2": 250.0}


def test_a_value_only_one_reader_reads_decides_the_column(tmp_path):
    # '250,00' is not English (a comma followed by two digits is a decimal comma): the column is German.
    bc = BC_HEADER + '1,C1,D1,Invoice,2026-03-01,2026-03-31,1.500,\n2,C1,D2,Invoice,2026-03-05,2026-04-04,"250,00",\n'
    res = load(tmp_path, {"CustLedgerEntries.csv": bc})
    assert amounts(res) == {"D1": 1500.0, "D2": 250.0}


def test_a_column_that_mixes_number_formats_is_refused_naming_both_values(tmp_path):
    bc = BC_HEADER + '1,C1,D1,Invoice,2026-03-01,2026-03-31,"1,234.56",\n2,C1,D2,Invoice,2026-03-05,2026-04-04,"1.234,56",\n'
    res = load(tmp_path, {"CustLedgerEntries.csv": bc})
    (err,) = res.report.errors
    assert err.rule == "number format unclear" and err.heading == "Amount"
    assert "mixes number formats" in err.message and "'1,234.56' (row 2)" in err.message and "'1.234,56' (row 3)" in err.message
    plain(res.report)


def test_a_value_the_declared_format_cannot_read_is_named_with_the_layouts_own_hint(tmp_path):
    # A layout that reads $1,234.56 is told so: not "use a plain decimal such as 1234.56".
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "aging.toml").write_text(
        'name = "aging"\ndate_formats = ["%d/%m/%Y"]\nnumber_formats = ["en"]\nskip_rows_without = "invoice_id"\n'
        '[tables.invoices.columns]\ninvoice_id = "Document Number"\ncustomer_id = "Customer"\ninvoice_date = "Date"\n'
        'due_date = "Due Date"\namount = "Open Balance"\n'
    )
    aging = 'Customer,Date,Document Number,Due Date,Open Balance\nAcme,15/03/2026,INV-1,14/04/2026,"$4,250.00"\nAcme,16/03/2026,INV-2,15/04/2026,"$1.250,00"\n'
    res = load(tmp_path, {"aging.csv": aging})
    (err,) = res.report.errors
    assert (err.rule, err.row, err.heading, err.column, err.value) == ("not a decimal", 3, "Open Balance", "amount", "$1.250,00")
    assert "as this export writes them (e.g. $1,234.56" in err.message and "plain decimal" not in err.message
    assert "column 'Open Balance' (amount)" in err.line()


# ----------------------------------------------------------------------------- dates


UK = BC_HEADER + "1,C1,D1,Invoice,03/02/2026,05/03/2026,150.00,\n2,C1,D2,Invoice,05/02/2026,07/03/2026,250.00,\n"


def test_a_uk_export_whose_days_are_all_12_or_less_is_refused_not_read_month_first(tmp_path):
    res = load(tmp_path, {"CustLedgerEntries.csv": UK})
    (err,) = res.report.errors
    assert (err.rule, err.heading, err.column, err.row, err.value) == ("date order unclear", "Document Date", "invoice_date", 2, "03/02/2026")
    # the column and two example values, each with its two readings, and how to declare the order
    assert "'Document Date' has '03/02/2026' (row 2: 2 March 2026 or 3 February 2026) and '05/02/2026' (row 3" in err.message
    assert 'date_formats = ["%m/%d/%Y"] for month first (MM/DD/YYYY) or ["%d/%m/%Y"] for day first (DD/MM/YYYY)' in err.message
    plain(res.report)

    team_layout(tmp_path, "business-central", date_formats='["%d/%m/%Y"]')
    res = load(tmp_path, {"CustLedgerEntries.csv": UK}, as_of=dt.date(2026, 3, 6))
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    assert docs["invoice_date"].to_list() == [dt.date(2026, 2, 3), dt.date(2026, 2, 5)]
    h = headline(res)
    assert h["ar_overdue"] == 150.00  # D1 was due 5 March; D2 is due 7 March


def test_one_day_above_12_in_any_column_decides_the_order_of_the_whole_file(tmp_path):
    # Due Date 25/03/2026 can only be day first: Document Date 03/02/2026 is then 3 February, not 2 March.
    uk = BC_HEADER + "1,C1,D1,Invoice,03/02/2026,25/03/2026,150.00,\n"
    res = load(tmp_path, {"CustLedgerEntries.csv": uk})
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    assert docs.select("invoice_date", "due_date").row(0) == (dt.date(2026, 2, 3), dt.date(2026, 3, 25))


def test_dates_written_in_two_orders_are_refused(tmp_path):
    both = BC_HEADER + "1,C1,D1,Invoice,13/02/2026,03/15/2026,150.00,\n"
    res = load(tmp_path, {"CustLedgerEntries.csv": both})
    (err,) = res.report.errors
    assert err.rule == "date order unclear" and "written in two orders" in err.message
    assert "'13/02/2026' in 'Document Date'" in err.message and "'03/15/2026' in 'Due Date'" in err.message


# ----------------------------------------------------------------------------- bounds

INV = "invoice_id,customer_id,invoice_date,due_date,amount,paid_date\n"
OUT_OF_BOUNDS = [
    ("amount 1e308", {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,1e308,\nI2,C1,2026-01-10,2026-02-09,1e308,"}, 2, "amount", "1e308"),
    ("amount 1e26", {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,1e26,"}, 2, "amount", "1e26"),
    ("amount -1e13", {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,-10000000000000,"}, 2, "amount", "-10000000000000"),
    ("amount inf", {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,inf,"}, 2, "amount", "inf"),
    ("paid in 9999", {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,10,9999-12-31"}, 2, "paid_date", "9999-12-31"),
    ("issued in 1899", {"invoices.csv": INV + "I1,C1,1899-12-31,2026-02-09,10,"}, 2, "invoice_date", "1899-12-31"),
    (
        "terms of 1e29 days",
        {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,10,", "customers.csv": "customer_id,payment_terms_days\nC1,1e29"},
        2,
        "payment_terms_days",
        "1e29",
    ),
    (
        "terms of 3651 days",
        {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,10,", "customers.csv": "customer_id,payment_terms_days\nC1,3651"},
        2,
        "payment_terms_days",
        "3651",
    ),
    (
        "a credit limit of 1e15",
        {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,10,", "customers.csv": "customer_id,credit_limit\nC1,1e15"},
        2,
        "credit_limit",
        "1e15",
    ),
    (
        "an fx rate of 1e300",
        {"invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,10,", "fx.csv": "currency,rate_to_base\nEUR,1e300"},
        2,
        "rate_to_base",
        "1e300",
    ),
]


@pytest.mark.parametrize("case,files,row,column,value", OUT_OF_BOUNDS, ids=[c[0] for c in OUT_OF_BOUNDS])
def test_implausible_values_are_refused_with_row_and_value(tmp_path, case, files, row, column, value):
    res = load(tmp_path, files)
    assert not res.ok
    hits = [e for e in res.report.errors if e.rule == "out of range" and e.column == column]
    assert hits, res.report.to_text()
    assert (hits[0].row, hits[0].value) == (row, value)
    assert {e.rule for e in res.report.errors} == {"out of range"}  # nothing else: it was not read as a number, then judged
    plain(res.report)


def test_implausible_values_in_parquet_are_refused_too(tmp_path):
    pl.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C1", "C1", "C1"],
            "invoice_date": [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(9999, 1, 1)],
            "due_date": [dt.date(2026, 2, 1)] * 3,
            "amount": [1e308, float("inf"), 5.0],
        }
    ).write_parquet(tmp_path / "invoices.parquet")
    res = ingest([tmp_path / "invoices.parquet"], DataDir(tmp_path / "data"), Settings())
    got = sorted((e.row, e.column, e.rule) for e in res.report.errors)
    assert got == [(1, "amount", "out of range"), (2, "amount", "out of range"), (3, "invoice_date", "out of range")]


def test_a_ledger_at_the_bounds_loads_and_no_json_has_nan_or_infinity(tmp_path, capsys):
    def no_constants(s: str) -> None:
        raise AssertionError(f"{s} in the JSON")

    invoices = (
        INV + "I1,C1,1900-01-01,1900-01-31,9999999999999.99,\nI2,C2,2026-01-10,2100-12-31,-9999999999999.99,\nI3,C2,2026-01-10,2026-02-09,0.01,2100-12-31"
    )
    customers = "customer_id,payment_terms_days,credit_limit\nC1,3650,9999999999999\nC2,-3650,"
    extract = tmp_path / "x"
    extract.mkdir()
    (extract / "invoices.csv").write_text(invoices)
    (extract / "customers.csv").write_text(customers)
    data = str(tmp_path / "d")
    assert o2c(["ingest", str(extract), "--data", data, "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=no_constants)
    for at in ("2026-03-31", "2100-12-31", "1900-01-15"):
        assert o2c(["kpis", "--json", "--data", data, "--as-of", at]) == 0
        json.loads(capsys.readouterr().out, parse_constant=no_constants)


# ----------------------------------------------------------------------------- messages


ORACLE_TRX = "TRX_NUMBER,TRX_DATE,DUE_DATE,CUSTOMER_NUMBER,CLASS,AMOUNT_DUE_ORIGINAL,INVOICE_CURRENCY_CODE\n"


def test_a_message_names_the_exports_heading_and_value_with_the_contract_column_beside(tmp_path):
    trx = ORACLE_TRX + "10001,10-JUL-2026,09-AUG-2026,1001,INV,100.00,USD\n10002,10-JULY-2026,09-AUG-2026,1001,INV,100.00,USD\n"
    res = load(tmp_path, {"transactions.csv": trx})
    (err,) = res.report.errors
    assert (err.heading, err.column, err.value, err.row) == ("TRX_DATE", "invoice_date", "10-JULY-2026", 3)
    assert err.message == "'TRX_DATE' is not a valid date (this export writes DD-MON-YYYY)"
    assert "transactions.csv, row 3, column 'TRX_DATE' (invoice_date) (value: '10-JULY-2026')" in err.line()
    assert res.report.frame().row(0, named=True)["column"] == "TRX_DATE (invoice_date)"  # the Data page's report table


def test_a_10000_column_header_is_summarised(tmp_path):
    header = ",".join(f"col_{i}" for i in range(10_000))
    res = load(tmp_path, {"invoices.csv": header + "\n" + ",".join("x" for _ in range(10_000)) + "\n"})
    (err,) = res.report.errors
    assert err.rule == "missing column" and "... and 9,980 more (10,000 in all)" in err.message
    assert len(err.message) < 1000

    (tmp_path / "other.csv").write_text(header + "\n")
    with pytest.raises(Exception) as exc:  # detection: no layout fits, and the found columns are summed up too
        from dashboard.load.layouts import detect

        detect(header.split(","), "other.csv", tmp_path / "data")
    assert "... and 9,980 more (10,000 in all)" in str(exc.value) and len(str(exc.value)) < 5000


def test_a_huge_value_is_cut_to_80_characters(tmp_path):
    big = "9" * 20_000_000  # 20 MB in one cell (the mechanism is the same for 200 MB)
    res = load(tmp_path, {"invoices.csv": INV + f"I1,C1,2026-01-10,2026-02-09,{big},\nI2,C1,2026-01-10,2026-02-09,x{big},"})
    assert not res.ok
    for err in res.report.errors:
        assert err.value is not None and len(err.value) == 80 and err.value.endswith("…")
        assert "the value has 20,000,00" in err.message
    assert len(res.report.to_text()) < 2000


def test_parquet_cells_holding_lists_or_bytes_are_named_not_a_library_error(tmp_path):
    pl.DataFrame(
        {
            "invoice_id": ["I1"],
            "customer_id": [b"\xff\xfe"],
            "invoice_date": ["2026-01-01"],
            "due_date": ["2026-02-01"],
            "amount": [[1.0, 2.0]],
        }
    ).write_parquet(tmp_path / "invoices.parquet")
    res = ingest([tmp_path / "invoices.parquet"], DataDir(tmp_path / "data"), Settings())
    text = plain(res.report)
    assert "'amount' holds lists (several values in one cell)" in text and "'customer_id' holds binary data" in text


# ----------------------------------------------------------------------------- currency markers


MARKED = """TRX_NUMBER,TRX_DATE,DUE_DATE,CUSTOMER_NUMBER,CLASS,AMOUNT_DUE_ORIGINAL,INVOICE_CURRENCY_CODE
1,01-MAR-2026,31-MAR-2026,C1,INV,"US$1,000.00",USD
2,01-MAR-2026,31-MAR-2026,C1,INV,"₹1,000.00",INR
3,01-MAR-2026,31-MAR-2026,C1,INV,"CAD 1,000.00",CAD
4,01-MAR-2026,31-MAR-2026,C1,INV,"($250.00)",CAD
"""
RATES = "currency,rate_to_base\nINR,0.012\nCAD,0.7\n"


def test_amounts_with_currency_markers_are_read_as_numbers(tmp_path):
    res = load(tmp_path, {"transactions.csv": MARKED, "fx.csv": RATES}, as_of=dt.date(2026, 3, 15))
    assert amounts(res) == {"1": 1000.0, "2": 1000.0, "3": 1000.0, "4": -250.0}
    # in USD: 1000 + 1000 * 0.012 + 1000 * 0.7 - 250 * 0.7 = 1000 + 12 + 700 - 175
    assert headline(res)["ar_total"] == 1537.00


def test_a_decimal_comma_amount_with_a_trailing_code_is_read(tmp_path):
    sap = "Konto;Belegnummer;Belegdatum;Nettofälligkeit;Betrag in Belegwährung;Belegwährung\n1000;1;01.03.2026;31.03.2026;1.000,00 EUR;EUR\n1000;2;01.03.2026;31.03.2026;250,50- EUR;EUR\n"
    res = load(tmp_path, {"FBL5N.txt": sap}, EUR)
    assert amounts(res) == {"1": 1000.0, "2": -250.5}


def test_a_marker_that_contradicts_the_rows_currency_is_refused(tmp_path):
    bad = MARKED.replace('"CAD 1,000.00",CAD', '"CAD 1,000.00",USD').replace('"($250.00)",CAD', '"(€250.00)",CAD')
    res = load(tmp_path, {"transactions.csv": bad, "fx.csv": RATES})
    got = sorted((e.row, e.heading, e.value, e.rule) for e in res.report.errors)
    assert got == [(4, "AMOUNT_DUE_ORIGINAL", "CAD 1,000.00", "currency contradicts"), (5, "AMOUNT_DUE_ORIGINAL", "(€250.00)", "currency contradicts")]
    words = {e.row: e.message for e in res.report.errors}
    assert words[4] == "the amount is written in CAD but the row's currency is USD: correct the one that is wrong"
    assert words[5].startswith("the amount is written in € (EUR) but the row's currency is CAD")


def test_a_marker_is_checked_against_the_base_currency_when_the_row_has_none(tmp_path):
    bc = BC_HEADER + '1,C1,D1,Invoice,2026-03-01,2026-03-31,"€1,500.00",\n2,C1,D2,Invoice,2026-03-05,2026-04-04,"$250.00",\n'
    res = load(tmp_path, {"CustLedgerEntries.csv": bc})  # base USD: $ is fine, € is not
    (err,) = res.report.errors
    assert (err.row, err.value, err.rule) == (2, "€1,500.00", "currency contradicts") and "the row's currency is USD" in err.message


# ----------------------------------------------------------------------------- errors in layers


def test_every_independent_problem_of_a_file_is_reported_in_one_pass(tmp_path):
    # an ERP file whose date order is unclear and with a bad amount, a customer master without its id column
    # and with a bad limit, a payment with a bad date: all five at once, before any check across tables
    files = {
        "CustLedgerEntries.csv": UK.replace("250.00", "12x"),
        "customers.csv": "name,credit_limit\nAcme,abc\n",
        "payments.csv": "payment_id,invoice_id,payment_date,amount\nP1,D1,2026-02-30,5\n",
    }
    res = load(tmp_path, files)
    got = sorted((e.file, e.rule) for e in res.report.errors)
    assert got == [
        ("CustLedgerEntries.csv", "date order unclear"),
        ("CustLedgerEntries.csv", "not a decimal"),
        ("customers.csv", "missing column"),
        ("customers.csv", "not a decimal"),
        ("payments.csv", "not a date"),
    ], res.report.to_text()


def test_cross_table_checks_wait_until_every_value_parses(tmp_path):
    # the payment names an unknown invoice, but the invoices do not parse yet: only the value is reported
    files = {
        "invoices.csv": INV + "I1,C1,2026-01-10,2026-02-09,abc,",
        "payments.csv": "payment_id,invoice_id,payment_date,amount\nP1,I9,2026-01-20,5",
    }
    res = load(tmp_path, files)
    assert [e.rule for e in res.report.errors] == ["not a decimal"]


def test_one_bad_cell_that_feeds_two_tables_is_one_error(tmp_path):
    # a team layout taking invoices and open orders from one file: the same 'Amount' and 'Date' cells feed both
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "both.toml").write_text(
        'name = "both"\n'
        '[tables.invoices.columns]\ninvoice_id = "Doc"\ncustomer_id = "Cust"\ninvoice_date = "Date"\ndue_date = "Due"\namount = "Amount"\n'
        '[tables.orders.columns]\norder_id = "Doc"\ncustomer_id = "Cust"\norder_date = "Date"\namount = "Amount"\n'
    )
    res = load(tmp_path, {"export.csv": "Doc,Cust,Date,Due,Amount\nD1,C1,2026-01-10,2026-02-09,12x\nD2,C1,2026-01-32,2026-02-09,5\n"})
    assert res.report.error_count == 2, res.report.to_text()
    assert sorted((e.row, e.heading) for e in res.report.errors) == [(2, "Amount"), (3, "Date")]
