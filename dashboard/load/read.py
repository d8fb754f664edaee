"""Reading an extract's files: which files, which table each holds, and their text as a lazy frame.

Nothing here judges a value (parse.py does); this only finds the files, sniffs a CSV's
encoding and delimiter, and says where a CSV the parser cannot read breaks.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import polars as pl

PARQUET = {".parquet", ".pq"}
EXCEL = {".xlsx", ".xlsm"}
READABLE = {".csv", ".txt", ".tsv"} | PARQUET | EXCEL  # .csv, .txt and .tsv are read as delimited text
# File stems that name each table (generic layout): "invoices.csv", "AR_invoices_2026.parquet", ...
TABLE_WORDS = {
    "invoices": ("invoice", "document", "open_item", "ledger", "receivable"),
    "payments": ("payment", "receipt", "cash"),
    "customers": ("customer", "master", "debtor"),
    "orders": ("order",),
    "fx": ("fx", "rate", "exchange", "currenc"),
}


class IngestUsageError(ValueError):
    """The call itself is wrong (no such file, nothing readable): exit code 2."""


def expand(paths: list[Path]) -> list[Path]:
    """The files to read: each file given, and the readable files of each folder given (sorted, none hidden)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READABLE and not f.name.startswith("."))
        elif p.is_file():
            files.append(p)
        else:
            raise IngestUsageError(f"{p}: no such file or folder")
    if not files:
        raise IngestUsageError(f"no CSV or Parquet file found in {', '.join(map(str, paths))}")
    return files


def safe_file_name(name: str) -> str:
    """An uploaded file's name as a plain file name: never a path, never hidden, no odd characters."""
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name.replace("\\", "/")).name).strip().lstrip(".")
    return base or "upload"


def table_from_name(f: Path, lone: bool) -> str | None:
    """The table a file's name says it holds ("AR_invoices_2026.csv": invoices); a lone file is the invoices."""
    stem = f.stem.lower()
    found = [t for t, words in TABLE_WORDS.items() if any(w in stem for w in words)]
    if len(found) == 1:
        return found[0]
    return "invoices" if lone else None


def sniff_csv(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a text export: UTF-8 (with or without BOM) or Windows-1252; , ; tab or |."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        text = head.decode("utf-8")
        enc = "utf8"
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the end of the sample is still UTF-8
        enc = "utf8" if exc.start >= len(head) - 3 else "cp1252"
        text = head.decode("utf-8" if enc == "utf8" else "cp1252", errors="replace")
    first = text.lstrip("\ufeff").splitlines()[0] if text else ""
    sep = max([",", ";", "\t", "|"], key=first.count)
    return enc, sep


def read_raw(path: Path) -> tuple[pl.LazyFrame, int]:
    """The file as a lazy frame (CSV columns as text) and the offset from row index to the row an analyst sees.

    Lazy, so that a large CSV or Parquet file is parsed and checked in a stream:
    its text form is never held in memory whole.
    """
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        return pl.scan_parquet(path), 1
    if suffix in EXCEL:
        # Cached cell values only: no formula in the workbook is ever evaluated.
        return pl.read_excel(path, engine="calamine").lazy(), 2
    enc, sep = sniff_csv(path)
    if enc == "utf8":
        lf = pl.scan_csv(path, infer_schema=False, separator=sep, encoding="utf8-lossy")
    else:
        lf = pl.read_csv(path.read_bytes().decode("cp1252").encode("utf-8"), infer_schema=False, separator=sep).lazy()
    names = lf.collect_schema().names()
    lf = lf.rename({c: c.lstrip("\ufeff") for c in names if c.startswith("\ufeff")})
    # CSV row i (0-based, after the header) is line i + 2 of the file, as a spreadsheet shows it.
    return lf, 2


def csv_problem(path: Path) -> tuple[int, int, int, str] | None:
    """(line, fields, header fields, text) of the first record of a CSV whose field count is not the
    header's: where an unclosed quote or a stray delimiter breaks the file. Only on the error path."""
    enc, sep = sniff_csv(path)
    encoding = "utf-8-sig" if enc == "utf8" else "cp1252"
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        line = reader.line_num + 1
        for rec in reader:
            if rec and len(rec) != len(header):
                fields = len(rec)
                break
            line = reader.line_num + 1
        else:
            return None
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        text = next(itertools.islice(fh, line - 1, None), "")  # the line as the analyst's editor shows it
    return line, fields, len(header), text.strip()[:80]
