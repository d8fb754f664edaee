"""Several files per extract, each with the layout its own headings fit; layouts that map any subset of the
contract's tables; derived columns that can read nothing but the export's own headings.

The figures of the Oracle extract are worked out by hand below, from the contract's rules.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from dashboard.cli import main as o2c
from dashboard.load.ingest import ingest
from dashboard.load.layouts import LayoutError, available, check_derived, detect
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir

TRANSACTIONS = """TRX_NUMBER,TRX_DATE,DUE_DATE,CUSTOMER_NUMBER,CUSTOMER_NAME,CLASS,AMOUNT_DUE_ORIGINAL,INVOICE_CURRENCY_CODE
10001,10-JUL-2026,09-AUG-2026,1001,Acme,INV,"1,200.00",USD
10002,15-JUL-2026,14-AUG-2026,1001,Acme,INV,800.00,EUR
10003,20-JUL-2026,19-AUG-2026,1002,Beta,INV,"2,500.00",USD
10004,25-JUL-2026,25-JUL-2026,1002,Beta,CM,-300.00,USD
10005,01-AUG-2026,31-AUG-2026,1003,Gamma,INV,450.00,USD
"""
# One receipt pays two invoices; one invoice (10003) is paid in two steps.
RECEIPTS = """RECEIPT_NUMBER,RECEIPT_DATE,APPLY_DATE,TRX_NUMBER,AMOUNT_APPLIED
R-1,01-AUG-2026,01-AUG-2026,10001,"1,200.00"
R-2,05-AUG-2026,05-AUG-2026,10003,"1,000.00"
R-2,05-AUG-2026,05-AUG-2026,10002,300.00
R-3,20-AUG-2026,20-AUG-2026,10003,500.00
"""
FX = "currency,rate_to_base,rate_date\nEUR,1.10,2026-01-01\n"
CUSTOMERS = "customer_id,name,segment,credit_limit\n1001,Acme,SMB,5000\n1002,Beta,Enterprise,2000\n1003,Gamma,SMB,\n"


def extract(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "extract"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def load(tmp_path: Path, files: dict[str, str], **kw):
    return ingest([extract(tmp_path, files)], DataDir(tmp_path / "data"), Settings(), **kw)


ORACLE = {"AR Transaction Register.csv": TRANSACTIONS, "Applied Receipts Register.csv": RECEIPTS, "fx.csv": FX, "customers.csv": CUSTOMERS}


def test_an_oracle_extract_of_two_files_beside_contract_files_loads_with_hand_worked_ar(tmp_path):
    res = load(tmp_path, ORACLE, as_of=dt.date(2026, 8, 15))
    assert res.ok, res.report.to_text()
    assert res.report.facts["layouts"] == {
        "AR Transaction Register.csv": "oracle-receivables-transactions",
        "Applied Receipts Register.csv": "oracle-receivables-receipts",
        "customers.csv": "generic",
        "fx.csv": "generic",
    }
    assert res.snapshot.manifest["rows"] | {} == {"invoices": 5, "payments": 4, "customers": 3, "orders": 0, "fx": 2}
    h = Engine.open(res.snapshot, Settings()).headline()
    # open at 08-15, in USD:
    #   10001  1,200.00 USD, paid 1,200.00 on 08-01                      ->     0.00
    #   10002    800.00 EUR, paid 300.00 on 08-05: 500 EUR x 1.10, due 08-14 -> 550.00 overdue
    #   10003  2,500.00 USD, paid 1,000.00 on 08-05 (R-3 is dated 08-20)  -> 1,500.00 due 08-19
    #   10004   -300.00 USD credit memo, due 07-25                       ->  -300.00 overdue
    #   10005    450.00 USD, due 08-31                                    ->   450.00
    assert h["ar_total"] == 2200.00
    assert h["ar_overdue"] == 250.00
    pays = pl.read_parquet(res.snapshot.path / "tables" / "payments.parquet").sort("payment_id")
    assert pays["payment_id"].to_list() == ["R-1/10001/01-AUG-2026", "R-2/10002/05-AUG-2026", "R-2/10003/05-AUG-2026", "R-3/10003/20-AUG-2026"]
    assert pays["payment_date"].to_list()[-1] == dt.date(2026, 8, 20)


def test_the_receipts_file_needs_the_transactions_beside_it(tmp_path):
    res = load(tmp_path, {"Applied Receipts Register.csv": RECEIPTS})
    assert not res.ok
    assert [e.rule for e in res.report.errors] == ["missing table"]


def test_a_receipt_that_names_an_unknown_transaction_is_named_with_the_exports_heading(tmp_path):
    files = dict(ORACLE) | {"Applied Receipts Register.csv": RECEIPTS + "R-4,21-AUG-2026,21-AUG-2026,99999,10.00\n"}
    res = load(tmp_path, files)
    (err,) = res.report.errors
    assert (err.file, err.row, err.heading, err.column, err.value, err.rule) == (
        "Applied Receipts Register.csv",
        6,
        "TRX_NUMBER",
        "invoice_id",
        "99999",
        "unknown invoice",
    )


def test_detection_is_per_file_by_its_own_headings():
    trx = TRANSACTIONS.splitlines()[0].split(",")
    rec = RECEIPTS.splitlines()[0].split(",")
    assert detect(trx, "a.csv").name == "oracle-receivables-transactions"
    assert detect(rec, "b.csv").name == "oracle-receivables-receipts"
    lays = available()
    assert lays["oracle-receivables-receipts"].holds(rec) == ["payments"] and lays["oracle-receivables-receipts"].holds(trx) == []
    with pytest.raises(LayoutError) as exc:  # what a receipts layout misses, among the others
        detect(["RECEIPT_NUMBER", "TRX_NUMBER"], "c.csv")
    assert "oracle-receivables-receipts: missing payment_id (computed from: APPLY_DATE)" in str(exc.value)


PAYMENTS_ONLY = """name = "bank-receipts"
description = "Our bank's receipts file: payments only"
date_formats = ["%d.%m.%Y"]
number_formats = ["de"]

[tables.payments.columns]
payment_id = "Buchungsnummer"
invoice_id = "Rechnung"
payment_date = "Valuta"
amount = "Betrag"
"""


def test_a_payments_only_team_layout_loads_beside_a_contract_invoices_file(tmp_path):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "bank-receipts.toml").write_text(PAYMENTS_ONLY)
    files = {
        "invoices.csv": "invoice_id,customer_id,invoice_date,due_date,amount\nI1,C1,2026-03-01,2026-03-31,1500\nI2,C1,2026-03-05,2026-04-04,200\n",
        "Kontoauszug.csv": "Buchungsnummer;Rechnung;Valuta;Betrag\nB1;I1;10.03.2026;1.000,00\nB2;I1;20.03.2026;250,00\n",
    }
    res = ingest([extract(tmp_path, files)], DataDir(data), Settings(base_currency="EUR"), as_of=dt.date(2026, 4, 30))
    assert res.ok, res.report.to_text()
    assert res.report.facts["layouts"]["Kontoauszug.csv"] == "bank-receipts"
    h = Engine.open(res.snapshot, Settings(base_currency="EUR")).headline()
    assert h["ar_total"] == 450.00  # I1: 1500 - 1000 - 250 = 250 (overdue); I2: 200 (overdue at 04-30)
    assert h["ar_overdue"] == 450.00


OUR_ERP = """name = "our-erp"
[tables.invoices.columns]
invoice_id = "Trx No"
customer_id = "Customer"
invoice_date = "Trx Date"
due_date = "Due"
amount = "Amount"

[tables.payments.columns]
invoice_id = "Trx No"
payment_date = "Applied On"
amount = "Applied"

[tables.payments.derived]
payment_id = "Receipt || '/' || \\"Trx No\\""
"""
OUR_FILES = {
    "erp_open_items.csv": "Trx No,Trx Date,Due,Customer,Amount\nT1,2026-03-01,2026-03-31,C1,100.00\nT2,2026-03-10,2026-04-09,C2,50.00\n",
    "erp_receipts.csv": "Receipt,Applied On,Trx No,Applied\nR1,2026-03-20,T1,60.00\n",
}


def test_one_layout_can_describe_two_files_each_taking_the_tables_it_holds(tmp_path):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "our-erp.toml").write_text(OUR_ERP)
    res = load(tmp_path, OUR_FILES | {"fx.csv": FX}, as_of=dt.date(2026, 4, 5))
    assert res.ok, res.report.to_text()
    assert res.report.facts["layouts"] == {"erp_open_items.csv": "our-erp", "erp_receipts.csv": "our-erp", "fx.csv": "generic"}
    h = Engine.open(res.snapshot, Settings()).headline()
    assert (h["ar_total"], h["ar_overdue"]) == (90.00, 40.00)  # T1: 100 - 60, due 03-31; T2: 50, due 04-09

    # --layout names the layout of every file: a contract file beside it is not of it, and says so
    res = ingest([extract(tmp_path / "b", OUR_FILES | {"fx.csv": FX})], DataDir(tmp_path / "d2"), Settings(), layout=str(data / "layouts" / "our-erp.toml"))
    (err,) = res.report.errors
    assert err.file == "fx.csv" and "the layout 'our-erp' reads invoices or payments from a file like this one" in err.message


# ----------------------------------------------------------------------------- derived columns


NETSUITE = """name = "netsuite"
date_formats = ["%d/%m/%Y"]
number_formats = ["en"]
skip_rows_without = "invoice_id"

[tables.invoices.columns]
invoice_id = "Document Number"
customer_id = "Customer"
invoice_date = "Date"
due_date = "Due Date"
amount = "Open Balance"

[tables.invoices.derived]
document_type = "DERIVED"
"""
AGING = 'Customer,Transaction Type,Date,Document Number,Due Date,Open Balance\nAcme Corp,Invoice,15/03/2026,INV-1001,14/04/2026,"$4,250.00"\n'


@pytest.mark.parametrize(
    "expr,words",
    [
        ("(SELECT * FROM read_csv('/etc/passwd'))", "uses a subquery"),
        ("read_text('/etc/passwd')", "calls read_text()"),
        ("getenv('HOME')", "calls getenv()"),
        ("\\\"Transaction Type\\\" FROM read_csv('/etc/passwd')", "must be one expression"),
        ("'x'; COPY (SELECT 1) TO '/tmp/x'", "must be one expression"),
        ('sum(\\"Open Balance\\") OVER ()', "uses a window function"),
        ('main.upper(\\"Customer\\")', "calls main.upper()"),
    ],
)
def test_a_derived_expression_that_reads_anything_but_the_export_is_a_set_up_error(tmp_path, capsys, expr, words):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "netsuite.toml").write_text(NETSUITE.replace("DERIVED", expr))
    f = tmp_path / "aging.csv"
    f.write_text(AGING)
    assert o2c(["ingest", str(f), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "layout 'netsuite'" in err and "[tables.invoices.derived] document_type" in err and words in err, err
    assert "root:" not in err  # /etc/passwd's first line never reaches the report


def test_a_derived_expression_of_headings_and_scalar_functions_loads(tmp_path):
    expr = "CASE WHEN upper(trim(\\\"Transaction Type\\\")) LIKE 'CREDIT%' THEN 'credit_note' ELSE lower(coalesce(\\\"Transaction Type\\\", 'invoice')) END"
    assert check_derived(expr.replace('\\"', '"'), "x") == ("Transaction Type",)
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "netsuite.toml").write_text(NETSUITE.replace("DERIVED", expr))
    f = tmp_path / "aging.csv"
    f.write_text(AGING + "Acme Corp,Credit Memo,20/03/2026,CM-17,20/03/2026,($250.00)\n")
    res = ingest([f], DataDir(data), Settings(), as_of=dt.date(2026, 4, 30))
    assert res.ok, res.report.to_text()
    docs = pl.read_parquet(res.snapshot.path / "tables" / "invoices.parquet")
    assert dict(docs.select("invoice_id", "document_type").iter_rows()) == {"INV-1001": "invoice", "CM-17": "credit_note"}


def test_a_derived_expression_that_fails_on_a_file_says_so_in_words(tmp_path):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    expr = r"CAST(replace(replace(\"Open Balance\", '$', ''), ',', '') AS DOUBLE)"  # a CAST, where TRY_CAST was meant (TOML-escaped)
    lay = NETSUITE.replace('document_type = "DERIVED"', f'amount = "{expr}"').replace('amount = "Open Balance"\n', "")
    (data / "layouts" / "netsuite.toml").write_text(lay)
    f = tmp_path / "aging.csv"
    f.write_text(AGING + "Beta,Invoice,01/04/2026,INV-1002,01/05/2026,n/a\n")
    res = ingest([f], DataDir(data), Settings())
    (err,) = res.report.errors
    assert err.rule == "layout cannot compute" and err.column == "amount" and "the value 'n/a' cannot be converted" in err.message
    assert "TRY_CAST" in err.message and "Conversion Error" not in err.message


def test_a_derived_column_whose_heading_the_file_lacks_is_absent_like_a_mapped_one(tmp_path):
    data = tmp_path / "data"
    (data / "layouts").mkdir(parents=True)
    (data / "layouts" / "netsuite.toml").write_text(NETSUITE.replace("DERIVED", "CASE WHEN \\\"Kind\\\" = 'CM' THEN 'credit_note' END"))
    f = tmp_path / "aging.csv"
    f.write_text(AGING)
    res = ingest([f], DataDir(data), Settings())
    assert res.ok, res.report.to_text()  # no ColumnNotFoundError: document_type is simply not given


def test_the_cli_prints_json_without_nan(tmp_path, capsys):
    folder = extract(tmp_path, ORACLE)
    assert o2c(["ingest", str(folder), "--data", str(tmp_path / "d"), "--as-of", "2026-08-15", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["rows"]["payments"] == 4 and "NaN" not in out


def test_a_receipts_currency_marker_is_checked_against_the_invoice_it_pays(tmp_path):
    # 10002 is an EUR invoice: 'EUR 300.00' fits it; 10003 is in USD: 'EUR 1,000.00' cannot be paid to it
    receipts = RECEIPTS.replace('10003,"1,000.00"', '10003,"EUR 1,000.00"').replace("10002,300.00", "10002,EUR 300.00")
    res = load(tmp_path, ORACLE | {"Applied Receipts Register.csv": receipts})
    (err,) = res.report.errors
    assert (err.file, err.row, err.heading, err.value, err.rule) == (
        "Applied Receipts Register.csv",
        3,
        "AMOUNT_APPLIED",
        "EUR 1,000.00",
        "currency contradicts",
    )
    assert err.message == "the amount is written in EUR but the invoice it pays is in USD: correct the one that is wrong"
