"""Hostile Parquet files refused from their footer (limits.check_parquet), before their values are read.

A row group that unpacks beyond its limit, a file of repeated values that would expand to gigabytes, a huge
number of columns, a text value above 32,767 characters, a kind of value no reader here holds: each is refused
with a message naming the file, the column or row group, and the rule; and refusing the bombs stays within a
memory budget, measured in a fresh process (README, "Odd and hostile files").
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.load import limits
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO

JARGON = ("pyarrow", "Arrow", "polars", "Polars", "Traceback", "Exception", "Error:", "thrift", "dtype")


def ledger(n: int = 3, **extra) -> pa.Table:
    cols = {
        "invoice_id": [f"I{i}" for i in range(n)],
        "customer_id": ["C1"] * n,
        "invoice_date": [dt.date(2026, 1, 10)] * n,
        "due_date": [dt.date(2026, 2, 9)] * n,
        "amount": [100.0] * n,
    }
    return pa.table(cols | extra)


def refused(tmp_path: Path, table: pa.Table | None = None, name: str = "invoices.parquet", **kw):
    path = tmp_path / name
    if table is not None:
        pq.write_table(table, path, **kw)
    res = ingest([path], DataDir(tmp_path / "data"), Settings())
    assert not res.ok
    text = res.report.to_text()
    assert not [w for w in JARGON if w in text], text
    return res.report


def test_a_plain_parquet_ledger_still_loads(tmp_path):
    path = tmp_path / "invoices.parquet"
    pq.write_table(ledger(5, name=["x" * 100] * 5), path, row_group_size=2)
    res = ingest([path], DataDir(tmp_path / "data"), Settings())
    assert res.ok, res.report.to_text()


def test_a_row_group_that_unpacks_beyond_its_limit_is_refused_from_the_footer(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "PARQUET_ROW_GROUP_BYTES", 1024 * 1024)  # the rule, at a size a test can write
    big = ledger(2_000, note=[f"{i:06d}" + "x" * 1_000 for i in range(2_000)])  # about 2 MB of text in one row group
    report = refused(tmp_path, big, row_group_size=2_000, compression="zstd")
    (err,) = report.errors
    assert (err.file, err.rule) == ("invoices.parquet", "row group too large")
    assert err.message.startswith("row group 1 of the file (2,000 rows) unpacks to 2.0 MB, more than a row group may (1.0 MB)")


def test_a_row_group_of_too_many_cells_is_refused(tmp_path):
    # 1,048,577 rows of 16 columns: one row group of 16,777,232 cells, one more row than 2^24 cells allow
    n = 1_048_577
    t = pa.table({f"c{i}": pa.repeat(pa.scalar(0, pa.int8()), n) for i in range(16)})
    (err,) = refused(tmp_path, t, row_group_size=n).errors
    assert err.rule == "row group too large"
    assert "holds 1,048,577 rows of 16 columns (16,777,232 cells), more than a row group may (16,777,216 cells)" in err.message


def test_a_file_of_repeated_values_that_would_expand_to_gigabytes_is_refused(tmp_path, monkeypatch):
    # 60 row groups of 1,000 rows x 5 constant columns, each within its limits; the file's 300,000 cells in a few
    # kilobytes. Limits scaled down a thousandfold (the bomb in the memory test below is the full size).
    monkeypatch.setattr(limits, "PARQUET_FREE_CELLS", 50_000)
    t = pa.table({f"c{i}": pa.repeat(pa.scalar(0, pa.int64()), 1_000) for i in range(5)})
    path = tmp_path / "invoices.parquet"
    with pq.ParquetWriter(path, t.schema, compression="zstd") as w:
        for _ in range(60):
            w.write_table(t)
    (err,) = refused(tmp_path).errors
    assert err.rule == "file too large"
    assert "holds 60,000 rows of 5 columns (300,000 cells) in " in err.message and " bytes, less than a byte a cell" in err.message


def test_a_file_with_a_huge_number_of_columns_is_refused(tmp_path):
    t = pa.table({f"column_{i}": [1] for i in range(limits.PARQUET_COLUMNS + 1)})
    (err,) = refused(tmp_path, t).errors
    assert err.rule == "too many columns"
    assert err.message.startswith("the file has 16,385 columns, more than a file may have (16,384, as in Excel)")


def test_a_text_value_above_32767_characters_is_refused_at_its_row_and_column(tmp_path):
    t = ledger(3)
    t = t.set_column(1, "customer_id", pa.array(["C1", "C" * 40_000, "C1"]))
    (err,) = refused(tmp_path, t).errors
    assert (err.rule, err.row, err.heading, err.column) == ("value too long", 2, "customer_id", None)
    assert "a value of 40,000 characters is longer than a value may be (32,767 characters, as in Excel)" in err.message
    assert err.value == "C" * 79 + "…" and len(err.value) == 80
    assert "row 2, column 'customer_id'" in err.line()


def test_a_long_value_written_as_a_dictionary_of_texts_is_refused_too(tmp_path):
    t = ledger(2).set_column(1, "customer_id", pa.array(["C1", "C" * 40_000]).dictionary_encode())
    (err,) = refused(tmp_path, t).errors
    assert (err.rule, err.row, err.heading) == ("value too long", 2, "customer_id")


def test_a_kind_of_value_no_reader_holds_is_refused_naming_its_column(tmp_path):
    t = ledger(1, total=pa.array([1], type=pa.decimal256(60, 2)))
    (err,) = refused(tmp_path, t).errors
    assert (err.rule, err.heading) == ("unreadable column", "total")
    assert (
        err.message
        == "the column 'total' holds decimal numbers of 60 digits (at most 38 can be read), which a ledger cannot hold: export it as text or a number"
    )


def test_nested_values_in_a_ledger_column_are_named(tmp_path):
    t = ledger(1).set_column(4, "amount", pa.array([[("EUR", 1.0)]], type=pa.map_(pa.string(), pa.float64())))
    report = refused(tmp_path, t)
    assert [(e.rule, e.column) for e in report.errors] == [("unreadable column", "amount")]
    assert "'amount' holds maps (several keys and values in one cell)" in report.errors[0].message


@pytest.mark.parametrize(
    "content,rule",
    [
        (b"PAR1" + b"\0" * 100, "unreadable file"),  # no footer
        (b"PAR1" + b"\0" * 100 + (10**9).to_bytes(4, "little") + b"PAR1", "unreadable file"),  # a footer longer than the file
    ],
)
def test_a_damaged_parquet_file_is_refused_in_words(tmp_path, content, rule):
    (tmp_path / "invoices.parquet").write_bytes(content)
    assert [e.rule for e in refused(tmp_path).errors] == [rule]


def test_a_footer_beyond_its_limit_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "PARQUET_FOOTER_BYTES", 1_000)
    t = pa.table({f"a_rather_long_column_name_{i}": [1] for i in range(200)})
    (err,) = refused(tmp_path, t).errors
    assert err.rule == "file too large" and " bytes, more than a Parquet file's may be (1,000 bytes," in err.message


BOMB = """
import sys
from pathlib import Path
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
res = ingest([Path(sys.argv[1])], DataDir(Path(sys.argv[2])), Settings())
assert not res.ok
# VmHWM: this process's own peak (ru_maxrss is carried over from the parent across fork, and the test's process
# that wrote the bombs is larger than the refusal)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(res.report.errors[0].rule.replace(" ", "_"), hwm // 1024)
"""


@pytest.mark.slow
def test_refusing_each_parquet_bomb_stays_within_a_memory_budget(tmp_path):
    """Peak memory (the peak RSS of a fresh process, VmHWM, imports included) of refusing each: under 1 GB (README has the numbers)."""
    bombs = tmp_path / "bombs"
    for name in ("repeated", "wide", "cells", "long"):
        (bombs / name).mkdir(parents=True)
    # 60 row groups of 1,048,576 rows x 5 constant columns: 315M cells in 1.4 MB, 2.5 GB as numbers in memory
    t = pa.table({f"c{i}": pa.repeat(pa.scalar(0, pa.int64()), 1_048_576) for i in range(5)})
    with pq.ParquetWriter(bombs / "repeated" / "invoices.parquet", t.schema, compression="zstd") as w:
        for _ in range(60):
            w.write_table(t)
    del t
    pq.write_table(pa.table({f"column_{i}": [1] for i in range(20_000)}), bombs / "wide" / "invoices.parquet")
    # one row group of 64M cells (4M rows x 16 columns), 64 MB as bytes in memory, 0.4 MB on disk
    t = pa.table({f"c{i}": pa.repeat(pa.scalar(0, pa.int8()), 4_194_304) for i in range(16)})
    pq.write_table(t, bombs / "cells" / "invoices.parquet", row_group_size=4_194_304, compression="zstd")
    del t
    # a 200 MB text value (zstd writes it in a few hundred kilobytes)
    pq.write_table(ledger(1).set_column(1, "customer_id", pa.array(["9" * 200_000_000])), bombs / "long" / "invoices.parquet", compression="zstd")
    peaks = {}
    for name in ("repeated", "wide", "cells", "long"):
        out = subprocess.run(
            [sys.executable, "-c", BOMB, str(bombs / name / "invoices.parquet"), str(tmp_path / f"data-{name}")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        rule, mb = out.stdout.split()
        peaks[f"{name} ({rule})"] = int(mb)
    print("peak RSS (MB):", peaks)
    assert all(mb < 1024 for mb in peaks.values()), peaks
    assert set(peaks) == {"repeated (file_too_large)", "wide (too_many_columns)", "cells (row_group_too_large)", "long (value_too_long)"}


def test_parquet_limits_are_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for value in (limits.PARQUET_COLUMNS, limits.PARQUET_ROW_GROUP_CELLS, limits.PARQUET_FREE_CELLS, limits.PARQUET_VALUE_BYTES):
        assert f"{value:,}" in readme, value
    assert f"{limits.PARQUET_ROW_GROUP_BYTES // 1_048_576:,} MB" in readme and f"{limits.PARQUET_FOOTER_BYTES // 1_048_576:,} MB" in readme


def test_a_polars_frame_with_text_values_near_the_limit_loads(tmp_path):
    pl.DataFrame(
        {
            "invoice_id": ["I1"],
            "customer_id": ["C" * limits.PARQUET_VALUE_BYTES],
            "invoice_date": [dt.date(2026, 1, 10)],
            "due_date": [dt.date(2026, 2, 9)],
            "amount": [1.0],
        }
    ).write_parquet(tmp_path / "invoices.parquet")
    assert ingest([tmp_path / "invoices.parquet"], DataDir(tmp_path / "data"), Settings()).ok
