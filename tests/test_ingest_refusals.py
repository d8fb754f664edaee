"""Every refusal and warning of ledger-contract.md, through `o2c ingest` as an analyst runs it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, write_csvs

GOOD = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date,disputed
I1,C1,2026-01-10,2026-02-09,1000,USD,2026-02-20,false
I2,C1,2026-03-01,2026-03-31,500,EUR,,true
I3,C2,2026-03-15,2026-04-14,200,USD,,
""",
    "payments": "payment_id,invoice_id,payment_date,amount\nP1,I2,2026-03-20,100",
    "customers": "customer_id,name,segment,credit_limit\nC1,Acme,SMB,500\nC2,Beta,Enterprise,",
    "orders": "order_id,customer_id,order_date,amount,currency\nO1,C1,2026-03-25,50,USD",
    "fx": "currency,rate_to_base,rate_date\nEUR,1.1,2026-01-01",
}


def bad(**changes):
    t = dict(GOOD)
    for k, v in changes.items():
        if v is None:
            t.pop(k)
        else:
            t[k] = v
    return t


# (case, tables, file, row, column, value, words in the rule/message)
REFUSALS = [
    ("missing invoices table", bad(invoices=None), None, None, None, None, "no invoices table"),
    ("missing required column", bad(invoices=GOOD["invoices"].replace("due_date,", "due,")), "invoices.csv", None, None, None, "needs the column(s) due_date"),
    (
        "date does not parse",
        bad(invoices=GOOD["invoices"].replace("I3,C2,2026-03-15", "I3,C2,15/03/2026")),
        "invoices.csv",
        4,
        "invoice_date",
        "15/03/2026",
        "not a date",
    ),
    ("amount does not parse", bad(invoices=GOOD["invoices"].replace(",500,EUR", ",5OO,EUR")), "invoices.csv", 3, "amount", "5OO", "not a number"),
    ("bool does not parse", bad(invoices=GOOD["invoices"].replace(",true", ",maybe")), "invoices.csv", 3, "disputed", "maybe", "yes/no"),
    ("required value missing", bad(invoices=GOOD["invoices"].replace("I3,C2,", "I3,,")), "invoices.csv", 4, "customer_id", None, "empty"),
    ("duplicate invoice id", bad(invoices=GOOD["invoices"].replace("I3,C2", "I2,C2")), "invoices.csv", 3, "invoice_id", "I2", "unique"),
    ("duplicate payment id", bad(payments=GOOD["payments"] + "\nP1,I3,2026-03-21,10"), "payments.csv", 2, "payment_id", "P1", "unique"),
    ("duplicate customer id", bad(customers=GOOD["customers"] + "\nC1,Other,SMB,10"), "customers.csv", 2, "customer_id", "C1", "unique"),
    ("duplicate order id", bad(orders=GOOD["orders"] + "\nO1,C2,2026-03-25,5,USD"), "orders.csv", 2, "order_id", "O1", "unique"),
    (
        "due before invoice",
        bad(invoices=GOOD["invoices"].replace("2026-04-14", "2026-03-14")),
        "invoices.csv",
        4,
        "due_date",
        "2026-03-14",
        "before invoice_date",
    ),
    (
        "paid before invoice",
        bad(invoices=GOOD["invoices"].replace("2026-02-20", "2026-01-09")),
        "invoices.csv",
        2,
        "paid_date",
        "2026-01-09",
        "before invoice_date",
    ),
    ("currency without fx rate", bad(invoices=GOOD["invoices"].replace("200,USD", "200,CHF")), "invoices.csv", 4, "currency", "CHF", "no fx rate"),
    ("fx rate dated after the document", bad(fx="currency,rate_to_base,rate_date\nEUR,1.1,2026-03-05"), "invoices.csv", 3, "currency", "EUR", "no fx rate"),
    ("order currency without fx rate", bad(orders=GOOD["orders"].replace("50,USD", "50,JPY")), "orders.csv", 2, "currency", "JPY", "no fx rate"),
    (
        "payment of an unknown invoice",
        bad(payments=GOOD["payments"] + "\nP2,I9,2026-03-21,10"),
        "payments.csv",
        3,
        "invoice_id",
        "I9",
        "not in the invoices table",
    ),
    ("negative credit limit", bad(customers=GOOD["customers"].replace("SMB,500", "SMB,-500")), "customers.csv", 2, "credit_limit", "-500.0", "negative"),
    # a file the CSV parser cannot read at all: the line where it breaks, as the analyst's editor numbers it
    (
        "unclosed quote",
        bad(invoices=GOOD["invoices"].replace("I3,C2", '"I3,C2')),
        "invoices.csv",
        4,
        None,
        '"I3,C2,2026-03-15,2026-04-14,200,USD,,',
        "unclosed quote",
    ),
    (
        "delimiter in an unquoted value",
        bad(invoices=GOOD["invoices"].replace(",200,USD", ",2,000,USD")),
        "invoices.csv",
        4,
        None,
        "I3,C2,2026-03-15,2026-04-14,2,000,USD,,",
        "9 fields where the header has 8",
    ),
    ("empty invoices table", bad(invoices="invoice_id,customer_id,invoice_date,due_date,amount"), "invoices.csv", None, None, None, "no rows"),
    # a heading repeated exactly (a CSV reader would rename the second one and read the first)
    ("repeated heading", bad(invoices=GOOD["invoices"].replace(",disputed\n", ",amount\n")), "invoices.csv", None, None, None, "amount appear more than once"),
    (
        "repeated heading, other case",
        bad(invoices=GOOD["invoices"].replace(",disputed\n", ",Amount\n")),
        "invoices.csv",
        None,
        None,
        None,
        "amount appear more than once",
    ),
    # currency is text (ISO 4217): a code that is not three letters does not parse, even with a rate for it
    (
        "currency not an ISO code",
        bad(invoices=GOOD["invoices"].replace("200,USD", "200,XX1"), fx=GOOD["fx"] + "\nXX1,2.0,2026-01-01"),
        "invoices.csv",
        4,
        "currency",
        "XX1",
        "not a currency code",
    ),
    ("currency written as a name", bad(invoices=GOOD["invoices"].replace("200,USD", "200,US Dollar")), "invoices.csv", 4, "currency", "US Dollar", "ISO 4217"),
]


@pytest.fixture
def loaded(tmp_path):
    """A data folder whose current snapshot is the good ledger."""
    data = tmp_path / "data"
    assert main(["ingest", str(write_csvs(tmp_path / "good", GOOD)), "--data", str(data)]) == 0
    return data


def kpis_json(data, capsys) -> dict:
    capsys.readouterr()
    assert main(["kpis", "--json", "--data", str(data)]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("case,tables,file,row,column,value,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_with_a_precise_message_current_data_untouched_input_kept(tmp_path, loaded, capsys, case, tables, file, row, column, value, words):
    before_id = DataDir(loaded).current_id()
    before = kpis_json(loaded, capsys)
    extract = write_csvs(tmp_path / "bad", tables)
    originals = {f.name: f.read_bytes() for f in extract.iterdir()}

    assert main(["ingest", str(extract), "--json", "--data", str(loaded)]) == 1
    err = json.loads(capsys.readouterr().err)
    assert "refused" in err["error"] and "unchanged" in err["error"]
    hits = [d for d in err["details"] if words in d and (file is None or file in d)]
    assert hits, f"{case}: no detail mentions {words!r}: {err['details']}"
    line = hits[0]
    if file:
        assert file in line
    if row is not None:
        assert f"row {row}," in line or line.split(":")[0].endswith(f"row {row}") or f"row {row} " in line or f"row {row}," in line
    if column:
        assert f"column '{column}'" in line
    if value:
        assert repr(value) in line

    # current data untouched
    assert DataDir(loaded).current_id() == before_id
    assert kpis_json(loaded, capsys) == before
    # the input kept byte for byte, with its report
    kept = sorted((loaded / "rejected").iterdir())[-1]
    for name, content in originals.items():
        assert (kept / "source" / name).read_bytes() == content
    assert "REFUSED" in (kept / "report.txt").read_text()
    assert json.loads((kept / "report.json").read_text())["ok"] is False
    # and logged
    assert DataDir(loaded).read_audit()[-1]["outcome"] == "refused"


def test_row_numbers_count_like_a_spreadsheet(tmp_path, capsys):
    """Header is line 1, so the 3rd data row is row 4 (what the analyst sees in Excel)."""
    t = bad(invoices=GOOD["invoices"].replace("I3,C2,2026-03-15", "I3,C2,2026-02-30"))
    assert main(["ingest", str(write_csvs(tmp_path / "x", t)), "--data", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "invoices.csv, row 4, column 'invoice_date' (value: '2026-02-30')" in err


def test_many_bad_rows_are_summarised_not_listed(tmp_path, capsys):
    rows = "\n".join(f"X{i},C1,2026-01-{1 + i % 28:02d},2025-12-01,10," for i in range(500))
    t = {"invoices": "invoice_id,customer_id,invoice_date,due_date,amount,paid_date\n" + rows}
    assert main(["ingest", str(write_csvs(tmp_path / "x", t)), "--json", "--data", str(tmp_path / "d")]) == 1
    details = json.loads(capsys.readouterr().err)["details"]
    assert len(details) == 11
    assert "490 more rows break the same rule (500 in all)" in details[-1]


WARNINGS = [
    ("customers not in master", bad(customers=GOOD["customers"].replace("\nC2,Beta,Enterprise,", "")), "customers not in master", "C2"),
    ("overpaid document", bad(payments=GOOD["payments"] + "\nP2,I2,2026-03-21,450"), "overpaid document", "I2"),
    ("zero amount", bad(invoices=GOOD["invoices"].replace(",200,USD", ",0,USD")), "zero amount", "0.0"),
    (
        "negative payment terms",
        bad(customers="customer_id,name,segment,credit_limit,payment_terms_days\nC1,Acme,SMB,500,-30\nC2,Beta,Enterprise,,30"),
        "negative payment terms",
        "-30",
    ),
]


@pytest.mark.parametrize("case,tables,rule,value", WARNINGS, ids=[w[0] for w in WARNINGS])
def test_warnings_load_and_are_reported(tmp_path, capsys, case, tables, rule, value):
    assert main(["ingest", str(write_csvs(tmp_path / "x", tables)), "--json", "--data", str(tmp_path / "d")]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    hit = [i for i in report["issues"] if i["rule"] == rule]
    assert hit and hit[0]["severity"] == "warning" and value in hit[0]["value"]


def test_dates_after_a_given_as_of_are_warned(tmp_path, capsys):
    assert main(["ingest", str(write_csvs(tmp_path / "x", GOOD)), "--as-of", "2026-03-10", "--json", "--data", str(tmp_path / "d")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2026-03-10"
    assert {i["rule"] for i in out["report"]["issues"]} >= {"after as-of date"}


def test_default_as_of_is_latest_invoice_paid_or_payment_date(tmp_path, capsys):
    assert main(["ingest", str(write_csvs(tmp_path / "x", GOOD)), "--json", "--data", str(tmp_path / "d")]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-03-20"  # I3 issued 03-15, P1 paid 03-20


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "nothing-here.csv"), "--data", str(tmp_path / "d")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_snapshots_and_rollback(tmp_path, capsys):
    data = str(tmp_path / "d")
    assert main(["ingest", str(write_csvs(tmp_path / "a", GOOD)), "--data", data]) == 0
    first = DataDir(Path(data)).current_id()
    t = bad(invoices=GOOD["invoices"].replace("200,USD", "900,USD"))
    assert main(["ingest", str(write_csvs(tmp_path / "b", t)), "--data", data]) == 0
    second = DataDir(Path(data)).current_id()
    assert first != second
    capsys.readouterr()
    assert main(["snapshots", "--json", "--data", data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == [first, second] and [s["current"] for s in listed] == [False, True]
    assert main(["rollback", first, "--data", data]) == 0
    assert DataDir(Path(data)).current_id() == first
    assert main(["rollback", "no-such-id", "--json", "--data", data]) == 1
    assert "unknown snapshot" in capsys.readouterr().err
    assert [e["event"] for e in DataDir(Path(data)).read_audit()] == ["load", "load", "rollback"]


def test_a_killed_load_leaves_the_current_data_as_it_was(tmp_path):
    """SIGKILL an ingest at several moments: current stays, nothing half-loaded becomes visible."""
    data = tmp_path / "d"
    assert main(["ingest", str(write_csvs(tmp_path / "a", GOOD)), "--data", str(data)]) == 0
    before = DataDir(data).current_id()
    n = 300_000
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "invoices.csv", "w") as f:
        f.write("invoice_id,customer_id,invoice_date,due_date,amount\n")
        f.writelines(f"B{i},C{i % 97},2026-01-{1 + i % 28:02d},2026-02-{1 + i % 28:02d},{i % 1000 + 1}\n" for i in range(n))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for delay in (0.3, 0.8, 1.5):
        p = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "ingest", str(big), "--data", str(data), "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        cur = DataDir(data).current_id()
        # Either the kill came first (current unchanged) or the load had fully finished.
        if cur != before:
            snap = DataDir(data).get(cur)
            assert snap.manifest["rows"]["invoices"] == n
            before = cur
        for s in DataDir(data).list():
            assert (s.path / "manifest.json").exists() and (s.path / "derived" / "month_end_ar.parquet").exists()
    # A later load cleans what the killed ones left in staging and works.
    assert main(["ingest", str(write_csvs(tmp_path / "c", GOOD)), "--data", str(data)]) == 0
    assert not any((data / ".staging").iterdir())


def test_blank_lines_are_skipped_and_rows_keep_their_numbers(tmp_path, capsys):
    """An export that ends in blank lines loads; a bad row after a blank line is named by its line in the file."""
    data = tmp_path / "data"
    folder = write_csvs(tmp_path / "blank", GOOD)
    (folder / "invoices.csv").write_text(GOOD["invoices"].strip() + "\n\n\n", encoding="utf-8")  # write_csvs would strip them
    assert main(["ingest", str(folder), "--data", str(data)]) == 0
    # line 1 header, 2-4 the good rows, 5 blank, 6 a bad date
    gap = bad(invoices=GOOD["invoices"].rstrip("\n") + "\n\nI4,C2,2026-13-01,2026-04-14,5,USD,,\n")
    capsys.readouterr()
    assert main(["ingest", str(write_csvs(tmp_path / "gap", gap)), "--json", "--data", str(data)]) == 1
    details = json.loads(capsys.readouterr().err)["details"]
    assert any("row 6," in d and "2026-13-01" in d for d in details), details
    assert not any("is empty" in d for d in details), details


def test_the_count_of_errors_counts_rows_not_report_lines(tmp_path, capsys):
    """25 bad amounts: 10 named by row, 15 summed up in one line, and the headline says 25."""
    rows = "\n".join(f"X{i},C1,2026-03-01,2026-03-31,abc,USD,," for i in range(25))
    extract = write_csvs(tmp_path / "many", bad(invoices=GOOD["invoices"].strip() + "\n" + rows))
    assert main(["ingest", str(extract), "--data", str(tmp_path / "data")]) == 1
    cap = capsys.readouterr()
    out = cap.out + cap.err
    assert "25 error(s), 0 warning(s) (the first 10 of each kind named by row, the rest counted)." in out, out
    assert out.count("'amount' is not a number") == 11 and "15 more rows break the same rule (25 in all)" in out


def test_an_empty_file_is_named_and_explained(tmp_path, capsys):
    folder = write_csvs(tmp_path / "x", GOOD)
    (folder / "payments.csv").write_bytes(b"")
    assert main(["ingest", str(folder), "--data", str(tmp_path / "data")]) == 1
    cap = capsys.readouterr()
    assert "ERROR: payments.csv: the file is empty (0 bytes)" in cap.out + cap.err
