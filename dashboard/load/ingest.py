"""Ingest an extract: read, check it whole, and only then publish a snapshot.

Every refusal of ledger-contract.md is checked here, vectorised with
polars (a 10M-row extract is checked in seconds). Nothing becomes visible
until the whole snapshot is written: see snapshots.py for the atomic switch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from dashboard.load.contract import TABLES, UNASSIGNED_SEGMENT, Column
from dashboard.load.layouts import LayoutError
from dashboard.load.layouts import apply as apply_layout
from dashboard.load.layouts import detect as detect_layout
from dashboard.load.layouts import resolve as resolve_layout
from dashboard.load.report import Report
from dashboard.settings import Settings
from dashboard.store import sql as queries
from dashboard.store.snapshots import DataDir, SnapshotInfo, new_id, sha256

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
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
FAR_PAST = dt.date(1900, 1, 1)  # the date of an fx rate given without rate_date

Progress = Callable[[float, str], None]


class IngestUsageError(ValueError):
    """The call itself is wrong (no such file, nothing readable): exit code 2."""


@dataclass
class IngestResult:
    report: Report
    snapshot: SnapshotInfo | None = None
    kept_at: Path | None = None
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.snapshot is not None


# ----------------------------------------------------------------------------- files


def expand(paths: list[Path]) -> list[Path]:
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


# ----------------------------------------------------------------------------- parsing


def _text(c: str) -> pl.Expr:
    s = pl.col(c).cast(pl.Utf8).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _parsed(col: Column, dtype: pl.DataType) -> pl.Expr:
    c = col.name
    if col.type == "text":
        return _text(c)
    if col.type == "currency":  # ISO 4217: three letters; "usd" is read as USD
        code = _text(c).str.to_uppercase()
        return pl.when(code.str.contains(r"^[A-Z]{3}$")).then(code)
    if col.type == "date":
        if dtype == pl.Date:
            return pl.col(c)
        if isinstance(dtype, pl.Datetime):
            return pl.col(c).dt.date()
        return _text(c).str.to_date("%Y-%m-%d", strict=False)
    if col.type == "decimal":
        v = pl.col(c).cast(pl.Float64, strict=False) if dtype.is_numeric() else _text(c).cast(pl.Float64, strict=False)
        return pl.when(v.is_finite()).then(v)
    if col.type == "int":
        if dtype.is_integer():
            return pl.col(c).cast(pl.Int64)
        f = pl.col(c).cast(pl.Float64, strict=False) if dtype.is_numeric() else _text(c).cast(pl.Float64, strict=False)
        return pl.when(f.is_finite() & (f == f.round(0))).then(f.cast(pl.Int64, strict=False))
    if col.type == "bool":
        if dtype == pl.Boolean:
            return pl.col(c)
        s = pl.col(c).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        return pl.when(s.is_in(TRUE_WORDS)).then(True).when(s.is_in(FALSE_WORDS)).then(False).otherwise(None)
    raise AssertionError(col.type)


TYPE_WORDS = {
    "currency": "is not a currency code: use the three-letter ISO 4217 code (e.g. EUR)",
    "date": "is not a date: write it as YYYY-MM-DD (e.g. 2026-03-31)",
    "decimal": "is not a number: use a plain decimal such as 1234.56 (a minus sign for credit notes)",
    "int": "is not a whole number",
    "bool": "is not yes/no: use true/false, yes/no or 1/0",
}


def csv_problem(path: Path) -> tuple[int, int, int, str] | None:
    """(line, fields, header fields, text) of the first record of a CSV whose field count is not the
    header's: where an unclosed quote or a stray delimiter breaks the file. Only on the error path."""
    import csv
    import itertools

    enc, sep = sniff_csv(path)
    with open(path, encoding="utf-8-sig" if enc == "utf8" else "cp1252", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        line = reader.line_num + 1
        for rec in itertools.chain(reader, [None]):
            if rec is None:
                return None
            if rec and len(rec) != len(header):
                break
            line = reader.line_num + 1
    with open(path, encoding="utf-8-sig" if enc == "utf8" else "cp1252", errors="replace", newline="") as fh:
        text = next(itertools.islice(fh, line - 1, None), "")  # the line as the analyst's editor shows it
    return line, len(rec), len(header), text.strip()[:80]


def parse_table(
    name: str, raw: pl.LazyFrame | pl.DataFrame, file: str, offset: int, report: Report, source: Path | None = None, date_formats: dict[str, str] | None = None
) -> pl.DataFrame | None:
    """Typed table with the contract's columns (absent optional ones as nulls) and a `_row` index.

    One streaming pass parses every value and flags the ones that do not parse;
    only when a flag is up is the file read again, for the offending rows' text.
    """
    table = TABLES[name]
    raw = raw.lazy()
    cols = raw.collect_schema().names()
    if "_row" not in cols:
        raw = raw.with_row_index("_row")
    names = [c if c == "_row" else c.strip().lower() for c in raw.collect_schema().names()]
    # A CSV or Excel reader names a repeated heading "amount_duplicated_0": it is still "amount" twice.
    said = [m.group(1) if (m := re.fullmatch(r"(.+)_duplicated_\d+", n)) and m.group(1) in names else n for n in names]
    dupes = sorted({n for n in said if said.count(n) > 1})
    if dupes:
        report.add("error", file, "duplicate column", f"the column(s) {', '.join(dupes)} appear more than once in the header")
        return None
    raw = raw.rename(dict(zip(raw.collect_schema().names(), names)))
    # Blank lines of a text or spreadsheet export (trailing ones, empty rows) hold nothing: skipped, and
    # the row numbers of the others stay those of the file. (An all-empty row in Parquet was written by
    # a program: its missing values are reported.)
    if source is None or source.suffix.lower() not in PARQUET:
        raw = raw.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))
    schema = raw.collect_schema()
    missing = [c for c in table.required_columns if c not in schema]
    if missing:
        report.add(
            "error",
            file,
            "missing column",
            f"the {name} table needs the column(s) {', '.join(missing)}; found: {', '.join(n for n in names if n != '_row') or 'none'}",
        )
        return None
    present = [c for c in table.columns if c.name in schema]
    exprs = [_parsed(c, schema[c.name]).alias(c.name) for c in present]
    flags = []
    for c in present:
        given = _text(c.name).is_not_null() if schema[c.name] == pl.Utf8 else pl.col(c.name).is_not_null()
        if c.type != "text":
            flags.append(((given & _parsed(c, schema[c.name]).is_null()).alias(f"_bad_{c.name}"), c, "bad"))
        if c.required:
            flags.append(((~given).alias(f"_missing_{c.name}"), c, "missing"))
    try:
        checked = raw.select("_row", *exprs, *[f for f, _, _ in flags]).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:  # ragged lines, bad quoting: the file itself cannot be read
        where = csv_problem(source) if source is not None and source.suffix.lower() not in PARQUET | EXCEL else None
        if where:
            line, k, m, text = where
            report.add(
                "error",
                file,
                "unreadable file",
                f"this line has {k} field{'s' * (k != 1)} where the header has {m}: an unclosed quote "
                "or a delimiter inside an unquoted value (the rest of the file cannot be read from here)",
                row=line,
                value=text,
            )
        else:
            report.add("error", file, "unreadable file", f"cannot be read: {str(exc).splitlines()[0]}")
        return None
    for expr, c, kind in flags:
        flag = checked.get_column(expr.meta.output_name())
        if not flag.any():
            continue
        rows = checked.filter(flag).select("_row")
        if kind == "bad":
            bad = raw.join(rows.lazy(), on="_row", how="semi").select("_row", pl.col(c.name).cast(pl.Utf8)).collect().sort("_row")
            words = TYPE_WORDS[c.type]
            fmt = (date_formats or {}).get(c.name, "%Y-%m-%d")
            if c.type == "date" and fmt != "%Y-%m-%d":  # an ERP export: the format its other dates follow, not ours
                words = f"is not a valid date (this export writes {_human_date(fmt)})"
            report.add_rows("error", file, f"not a {c.type}", f"'{c.name}' {words}", bad, c.name, offset)
        else:
            bad = rows.with_columns(pl.lit(None, pl.Utf8).alias(c.name))
            report.add_rows("error", file, "required value missing", f"'{c.name}' is empty; every row needs one", bad, c.name, offset)
    typed = checked.select("_row", *[c.name for c in present])
    del checked
    # One chunk per column (the streaming engine returns many): later expressions over columns with
    # different chunking would make polars realign, i.e. copy, the whole table. Series added later are rechunked too.
    typed = _rechunk(typed)
    absent = [pl.lit(None, _dtype(c)).alias(c.name) for c in table.columns if c.name not in schema]
    return typed.with_columns(absent).select("_row", *[c.name for c in table.columns])


def _human_date(fmt: str) -> str:
    """'%d.%m.%Y' -> 'DD.MM.YYYY', as an analyst reads a date format."""
    for code, word in (("%d", "DD"), ("%m", "MM"), ("%Y", "YYYY"), ("%y", "YY"), ("%b", "Mon")):
        fmt = fmt.replace(code, word)
    return fmt


def _rechunk(df: pl.DataFrame) -> pl.DataFrame:
    """df with one chunk per column, copying one column at a time (a whole-frame rechunk would double it)."""
    cols = df.get_columns()
    del df
    out = []
    while cols:
        out.append(cols.pop(0).rechunk())
    return pl.DataFrame(out)


def _dtype(c: Column) -> pl.DataType:
    return {"text": pl.Utf8, "currency": pl.Utf8, "date": pl.Date, "decimal": pl.Float64, "int": pl.Int64, "bool": pl.Boolean}[c.type]


# ----------------------------------------------------------------------------- checks


# Large tables go through polars' streaming engine (or a sort) for their whole-table checks and
# joins: a hash table over 10M text keys costs more memory than the table itself (issue 4: < 2 GB).
STREAM = {"engine": "streaming"}


def _dupes(df: pl.DataFrame, key: str, file: str, report: Report, offset: int, what: str) -> None:
    # sorted, a value that equals its predecessor is a duplicate (a sort needs far less memory than hashing)
    s = df.get_column(key).drop_nulls().sort()
    repeated = s.filter(s == s.shift(1)).unique()
    if repeated.len() == 0:
        return
    bad = df.lazy().filter(pl.col(key).is_in(repeated.implode())).select("_row", key).collect()
    report.add_rows("error", file, "duplicate id", f"{what} '{key}' appears more than once; each must be unique", bad, key, offset)


def _with_fx(df: pl.DataFrame, date_col: str, fx: pl.DataFrame) -> pl.DataFrame:
    """Attach fx_rate: the latest rate of the row's currency dated on or before its date.

    The as-of join runs on the distinct (currency, date) pairs (a few thousand),
    then a plain join brings the rate to the rows: no sorted copy of a 10M-row table.
    """
    pairs = df.lazy().select("currency", pl.col(date_col).alias("_on")).unique().drop_nulls("_on").collect(**STREAM).sort("_on")
    rates = pairs.join_asof(fx.sort("rate_date"), left_on="_on", right_on="rate_date", by="currency", strategy="backward", check_sortedness=False)
    rates = rates.select("currency", pl.col("_on").alias(date_col), pl.col("rate_to_base").alias("fx_rate"))
    # join only the two key columns and add the result as one column: the other columns are shared, not copied
    rate = (
        df.lazy()
        .select("currency", date_col)
        .join(rates.lazy(), on=["currency", date_col], how="left", maintain_order="left")
        .collect(**STREAM)
        .get_column("fx_rate")
    )
    return df.with_columns(rate.rechunk())


def _key_of(df: pl.DataFrame, keys: pl.DataFrame) -> pl.Series:
    """customer_key of each row, joined on the one column it needs (no copy of the table)."""
    return (
        df.lazy()
        .select("customer_id")
        .join(keys.lazy(), on="customer_id", how="left", maintain_order="left")
        .collect(**STREAM)
        .get_column("customer_key")
        .rechunk()
    )


def check_and_build(
    tables: dict[str, pl.DataFrame], files: dict[str, str], offsets: dict[str, int], report: Report, settings: Settings, as_of: dt.date | None
) -> dict[str, pl.DataFrame] | None:
    base = settings.base_currency
    inv = tables["invoices"]
    fi, oi = files["invoices"], offsets["invoices"]
    if inv.height == 0:
        report.add("error", fi, "empty invoices", "the invoices table has no rows; an extract needs at least one document")
        return None
    _dupes(inv, "invoice_id", fi, report, oi, "document")
    report.add_rows(
        "error",
        fi,
        "due before invoice",
        "due_date is before invoice_date",
        inv.lazy().filter(pl.col("due_date") < pl.col("invoice_date")).select("_row", "due_date").collect(),
        "due_date",
        oi,
    )
    report.add_rows(
        "error",
        fi,
        "paid before invoice",
        "paid_date is before invoice_date",
        inv.lazy().filter(pl.col("paid_date") < pl.col("invoice_date")).select("_row", "paid_date").collect(),
        "paid_date",
        oi,
    )
    report.add_rows(
        "warning",
        fi,
        "zero amount",
        "the amount is zero (loaded; it changes no figure)",
        inv.lazy().filter(pl.col("amount") == 0).select("_row", "amount").collect(),
        "amount",
        oi,
    )

    # fx: base currency is 1 unless the table says otherwise; a rate without date applies to every date.
    fx = tables.get("fx")
    if fx is None:
        fx = pl.DataFrame(schema={"_row": pl.UInt32, "currency": pl.Utf8, "rate_to_base": pl.Float64, "rate_date": pl.Date})
    fx = fx.with_columns(pl.col("currency").str.to_uppercase())
    if "fx" in tables:
        ff, of = files["fx"], offsets["fx"]
        bad = fx.lazy().filter(pl.col("rate_to_base") <= 0).select("_row", "rate_to_base").collect()
        report.add_rows("error", ff, "non-positive rate", "rate_to_base must be above zero", bad, "rate_to_base", of)
        dup = fx.lazy().filter(pl.struct("currency", "rate_date").is_duplicated()).select("_row", "currency").collect()
        report.add_rows("error", ff, "duplicate rate", "two rates for the same currency and rate_date; keep one", dup, "currency", of)
    fx = fx.with_columns(pl.col("rate_date").fill_null(FAR_PAST)).select("currency", "rate_to_base", "rate_date")
    if fx.filter(pl.col("currency") == base).height == 0:
        fx = pl.concat([fx, pl.DataFrame({"currency": [base], "rate_to_base": [1.0], "rate_date": [FAR_PAST]})])

    inv = inv.with_columns(
        pl.col("currency").str.to_uppercase().fill_null(base),
        pl.col("disputed").fill_null(False),
    )
    inv = _with_fx(inv, "invoice_date", fx)
    nofx = inv.lazy().filter(pl.col("fx_rate").is_null() & pl.col("invoice_date").is_not_null()).select("_row", "currency").collect()
    report.add_rows(
        "error", fi, "no fx rate", f"no fx rate to {base} for this currency on or before the invoice date; add it to the fx table", nofx, "currency", oi
    )

    # customers: the master, plus everyone who appears in invoices
    cust = tables.get("customers")
    if cust is not None:
        fc, oc = files["customers"], offsets["customers"]
        _dupes(cust, "customer_id", fc, report, oc, "customer")
        report.add_rows(
            "error",
            fc,
            "negative credit limit",
            "credit_limit is negative; use 0 for no credit or leave it empty for no limit",
            cust.lazy().filter(pl.col("credit_limit") < 0).select("_row", "credit_limit").collect(),
            "credit_limit",
            oc,
        )
        report.add_rows(
            "warning",
            fc,
            "negative payment terms",
            "payment_terms_days is negative: contractual net days are 0 or more (loaded as given)",
            cust.lazy().filter(pl.col("payment_terms_days") < 0).select("_row", "payment_terms_days").collect(),
            "payment_terms_days",
            oc,
        )
        master = cust.drop("_row").unique("customer_id", keep="first").with_columns(in_master=pl.lit(True))
    else:
        master = pl.DataFrame(schema={c.name: _dtype(c) for c in TABLES["customers"].columns} | {"in_master": pl.Boolean})
    known = set(master["customer_id"].to_list())
    extra_ids = inv.select(pl.col("customer_id").unique()).filter(~pl.col("customer_id").is_in(list(known)) & pl.col("customer_id").is_not_null())
    if extra_ids.height:
        note = "no customer master was given" if cust is None else "they are not in the customer master"
        report.add(
            "warning",
            fi,
            "customers not in master",
            f"{extra_ids.height:,} customer(s) appear in invoices but {note}; added with segment '{UNASSIGNED_SEGMENT}' and no credit limit",
            column="customer_id",
            value=", ".join(extra_ids["customer_id"].head(5).to_list()) + (" ..." if extra_ids.height > 5 else ""),
        )
    customers = pl.concat([master, extra_ids.with_columns(in_master=pl.lit(False))], how="diagonal_relaxed")
    customers = customers.with_columns(pl.col("segment").fill_null(UNASSIGNED_SEGMENT), pl.col("region").fill_null("Unassigned")).sort("customer_id")
    customers = customers.with_row_index("customer_key").with_columns(pl.col("customer_key").cast(pl.Int32))
    keys = customers.select("customer_id", "customer_key")

    # payments
    pay = tables.get("payments")
    if pay is not None:
        fp, op = files["payments"], offsets["payments"]
        _dupes(pay, "payment_id", fp, report, op, "payment")
        # the invoices that payments name (a streaming semi join: no hash table over every invoice)
        named = (
            inv.lazy().select("invoice_id", "amount", "fx_rate").join(pay.lazy().select("invoice_id").unique(), on="invoice_id", how="semi").collect(**STREAM)
        )
        unknown = (
            pay.filter(pl.col("invoice_id").is_not_null())
            .join(named.select("invoice_id"), on="invoice_id", how="anti")
            .sort("_row")
            .select("_row", "invoice_id")
        )
        report.add_rows("error", fp, "unknown invoice", "this payment refers to an invoice_id that is not in the invoices table", unknown, "invoice_id", op)
        report.add_rows(
            "warning",
            fp,
            "non-positive payment",
            "payment amount is zero or negative (loaded as given)",
            pay.lazy().filter(pl.col("amount") <= 0).select("_row", "amount").collect(),
            "amount",
            op,
        )
        over = (
            pay.group_by("invoice_id")
            .agg(pl.col("amount").sum().alias("paid"), pl.col("_row").min())
            .join(named.select("invoice_id", "amount"), on="invoice_id")
            .filter((pl.col("amount") > 0) & (pl.col("paid") > pl.col("amount") + 0.005))
            .sort("_row")
            .select("_row", "invoice_id")
        )
        report.add_rows(
            "warning",
            fp,
            "overpaid document",
            "payments for this document add up to more than its amount (loaded; its open amount goes negative)",
            over,
            "invoice_id",
            op,
        )
    else:
        pay = pl.DataFrame(schema={"_row": pl.UInt32, "payment_id": pl.Utf8, "invoice_id": pl.Utf8, "payment_date": pl.Date, "amount": pl.Float64})

    # orders
    orders = tables.get("orders")
    if orders is not None:
        fo, oo = files["orders"], offsets["orders"]
        _dupes(orders, "order_id", fo, report, oo, "order")
        report.add_rows(
            "warning",
            fo,
            "non-positive order",
            "order amount is zero or negative (loaded as given)",
            orders.lazy().filter(pl.col("amount") <= 0).select("_row", "amount").collect(),
            "amount",
            oo,
        )
        orders = _with_fx(orders.with_columns(pl.col("currency").str.to_uppercase().fill_null(base)), "order_date", fx)
        nofx = orders.lazy().filter(pl.col("fx_rate").is_null() & pl.col("order_date").is_not_null()).select("_row", "currency").collect()
        report.add_rows(
            "error", fo, "no fx rate", f"no fx rate to {base} for this currency on or before the order date; add it to the fx table", nofx, "currency", oo
        )
    else:
        orders = pl.DataFrame(
            schema={
                "_row": pl.UInt32,
                "order_id": pl.Utf8,
                "customer_id": pl.Utf8,
                "order_date": pl.Date,
                "amount": pl.Float64,
                "currency": pl.Utf8,
                "fx_rate": pl.Float64,
            }
        )
    unknown_cust = orders.filter(~pl.col("customer_id").is_in(customers["customer_id"].implode()))
    if unknown_cust.height:
        report.add(
            "warning",
            files.get("orders", "orders"),
            "order for unknown customer",
            f"{unknown_cust.height:,} order(s) are for customers with no invoice and no master record; added with segment '{UNASSIGNED_SEGMENT}'",
            column="customer_id",
            value=", ".join(unknown_cust["customer_id"].unique().head(5).to_list()),
        )
        add = unknown_cust.select(pl.col("customer_id").unique().sort()).with_columns(
            in_master=pl.lit(False), segment=pl.lit(UNASSIGNED_SEGMENT), region=pl.lit("Unassigned")
        )
        start = customers.height
        add = add.with_row_index("customer_key", offset=start).with_columns(pl.col("customer_key").cast(pl.Int32))
        customers = pl.concat([customers, add], how="diagonal_relaxed")
        keys = customers.select("customer_id", "customer_key")

    if not report.ok:
        return None

    # the as-of date: given, or the latest invoice, paid or payment date (ledger-contract.md)
    latest = max(d for d in (inv["invoice_date"].max(), inv["paid_date"].max(), pay["payment_date"].max()) if d is not None)
    as_of = as_of or latest
    for name, col, df in (
        ("invoices", "invoice_date", inv),
        ("invoices", "paid_date", inv),
        ("payments", "payment_date", pay),
        ("orders", "order_date", orders),
    ):
        future = df.lazy().filter(pl.col(col) > as_of).select("_row", col).collect()
        if name in files:
            report.add_rows(
                "warning",
                files[name],
                "after as-of date",
                f"{col} is after the extract's as-of date {as_of} (loaded; it counts only for later as-of dates)",
                future,
                col,
                offsets[name],
            )

    inv = inv.with_columns(_key_of(inv, keys)).with_columns(
        amount_base=pl.col("amount") * pl.col("fx_rate"),
        doc_key=pl.col("_row").cast(pl.Int64),
    )
    paid_rates = named.select("invoice_id", "fx_rate") if tables.get("payments") is not None else inv.select("invoice_id", "fx_rate").clear()
    pay_rate = pay.select("invoice_id").join(paid_rates, on="invoice_id", how="left", maintain_order="left").get_column("fx_rate")
    pay = pay.with_columns(pay_rate).with_columns(amount_base=pl.col("amount") * pl.col("fx_rate"))
    orders = orders.with_columns(_key_of(orders, keys)).with_columns(amount_base=pl.col("amount") * pl.col("fx_rate"))
    report.facts.update(
        as_of=as_of.isoformat(),
        base_currency=base,
        rows={"invoices": inv.height, "payments": pay.height, "customers": customers.height, "orders": orders.height, "fx": fx.height},
        customers_added=int((~customers["in_master"]).sum()),
    )
    return {
        "invoices": inv.drop("_row"),
        "payments": pay.drop("_row"),
        "customers": customers,
        "orders": orders.drop("_row"),
        "fx": fx,
    }


# ----------------------------------------------------------------------------- snapshot


# DuckDB may use this much memory while deriving; beyond it, it spills to the staging folder.
# Why: a 10M-document load must stay under 2 GB in all (issue 4), and the derive step's
# joins and sorts are the largest working set of a load.
DERIVE_MEMORY = "900MB"


def derive(tables_dir: Path, out: Path) -> dict[str, int]:
    """Compact tables computed once per snapshot (see the queries/derive_*.sql headers).

    Reads the snapshot's own Parquet tables (not frames held in memory) with a
    memory limit, so the working set is bounded whatever the ledger's size.
    """
    out.mkdir(parents=True, exist_ok=True)
    spill = out.parent / "spill"
    con = duckdb.connect(config={"memory_limit": DERIVE_MEMORY, "temp_directory": str(spill), "threads": os.cpu_count() or 2})
    for name in ("invoices", "payments", "customers"):
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{tables_dir / (name + '.parquet')}')")
    counts = {}
    for name in ("open_intervals", "daily_sales", "daily_paid", "paid_docs"):
        con.sql(f"COPY ({queries.sql('derive/' + name)}) TO '{out / (name + '.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        counts[name] = con.sql(f"SELECT count(*) FROM read_parquet('{out / (name + '.parquet')}')").fetchall()[0][0]
    con.sql(f"CREATE VIEW open_intervals AS SELECT * FROM read_parquet('{out / 'open_intervals.parquet'}')")
    first, last = con.sql("SELECT min(invoice_date), greatest(max(invoice_date), max(paid_date)) FROM invoices").fetchall()[0]
    rel = con.sql(queries.sql("derive/month_end_ar"), params={"first_month": first, "last_month": last})
    rel.write_parquet(str(out / "month_end_ar.parquet"))
    counts["month_end_ar"] = con.sql(f"SELECT count(*) FROM read_parquet('{out / 'month_end_ar.parquet'}')").fetchall()[0][0]
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return counts


def ingest(
    paths: list[Path],
    data: DataDir,
    settings: Settings,
    as_of: dt.date | None = None,
    source: str = "ingest",
    progress: Progress | None = None,
    layout: str | None = None,
    dry_run: bool = False,
) -> IngestResult:
    """Check an extract whole; publish it as the current snapshot, or keep it with its report.

    dry_run: only check and report (the Data page's "Check" step); nothing is kept or loaded.
    """
    t0 = time.perf_counter()
    step = progress or (lambda f, msg: None)
    files = expand(paths)
    data.ensure()
    data.clean_staging()
    sid = new_id()
    staging = data.new_staging(sid)
    # The analyst's files, byte for byte, before anything else can fail.
    step(0.02, "Keeping a copy of the files")
    src = staging / "source"
    src.mkdir()
    hashes = {}
    for f in files:
        shutil.copyfile(f, src / f.name)
        hashes[f.name] = sha256(src / f.name)
    report = Report()
    timings: dict[str, float] = {}
    built = None
    try:
        typed: dict[str, pl.DataFrame] = {}
        offsets: dict[str, int] = {}
        sources: dict[str, str] = {}
        layouts_used: dict[str, str] = {}
        fixed = resolve_layout(layout, data.root) if layout else None
        for i, f in enumerate(files):
            step(0.05 + 0.3 * i / len(files), f"Reading and checking {f.name}")
            if f.stat().st_size == 0:
                report.add(
                    "error",
                    f.name,
                    "empty file",
                    "the file is empty (0 bytes), not even a header line: export it again, or leave "
                    "it out if that table has nothing (payments, customers, orders and fx are optional)",
                )
                continue
            try:
                raw, offset = read_raw(f)
                header = raw.collect_schema().names()
            except Exception as exc:  # a file polars cannot read at all
                report.add("error", f.name, "unreadable file", f"cannot be read as {f.suffix.lstrip('.').upper()}: {exc}")
                continue
            hint = table_from_name(f, lone=len(files) == 1)
            try:
                lay = fixed or detect_layout(header, f.name, data.root, hint or "invoices")
            except LayoutError as exc:
                if table_from_name(f, lone=False) is None:
                    hint = "\nIf this file is not part of the extract (notes, a readme), move it out of the folder."
                    report.add("error", f.name, "unknown layout", str(exc).removeprefix(f"{f.name}: ") + (hint if len(files) > 1 else ""))
                    continue
                # Named like a contract table (invoices.csv): the generic check says exactly which column is missing.
                lay = resolve_layout("generic", data.root)
            layouts_used[f.name] = lay.name
            formats: dict[str, str] = {}  # date column -> the format this file's dates follow (ERP layouts)
            if lay.generic:
                if hint is None:
                    report.add(
                        "error",
                        f.name,
                        "unknown table",
                        "cannot tell which table this file holds; name it invoices, payments, customers, orders or fx (e.g. invoices.csv)",
                    )
                    continue
                parts = {hint: raw}
            else:

                def skipped(n, f=f):
                    report.add("warning", f.name, "rows skipped", f"{n:,} row(s) without a document number (totals, subtotals or blank lines) were skipped")

                parts = apply_layout(lay, raw.with_row_index("_row").collect(), skipped, formats)
            for name, part in parts.items():
                if name in sources:
                    report.add("error", f.name, "duplicate table", f"two files hold the {name} table ({sources[name]} and {f.name}); give one file per table")
                    continue
                sources[name], offsets[name] = f.name, offset
                t = parse_table(name, part, f.name, offset, report, source=f, date_formats=formats)
                if t is not None:
                    typed[name] = t
            raw = parts = part = t = None  # the file's text goes before the next file is read
        report.facts["layouts"] = layouts_used
        if "invoices" not in sources and report.ok:
            report.add(
                "error",
                ", ".join(f.name for f in files),
                "missing table",
                "no invoices table: name the file with the documents invoices.csv (or .parquet), or choose a layout with --layout",
            )
        timings["read_parse"] = time.perf_counter() - t0
        if report.ok:
            step(0.4, "Checking the extract as a whole")
            built = check_and_build(typed, sources, offsets, report, settings, as_of)
        typed.clear()  # the typed frames live on in `built` only as far as they are still needed
        timings["checks"] = time.perf_counter() - t0
    except Exception as exc:  # never a traceback for the analyst, never a half load
        report.add(
            "error", ", ".join(f.name for f in files), "internal error", f"the extract could not be processed ({type(exc).__name__}: {exc}); nothing was loaded"
        )
        built = None

    if dry_run:
        shutil.rmtree(staging, ignore_errors=True)
        return IngestResult(report, None, None, time.perf_counter() - t0, timings)
    if built is None or not report.ok:
        kept = _reject(data, staging, sid, report, hashes, source)
        return IngestResult(report, None, kept, time.perf_counter() - t0, timings)

    try:
        step(0.5, "Writing the snapshot")
        tdir = staging / "tables"
        tdir.mkdir()
        for name in list(built):
            built.pop(name).write_parquet(tdir / f"{name}.parquet", compression="zstd", statistics=True)  # and let it go
        timings["write_tables"] = time.perf_counter() - t0
        step(0.7, "Building the compact tables")
        derived = derive(tdir, staging / "derived")
        timings["derive"] = time.perf_counter() - t0
        manifest = {
            "id": sid,
            "as_of": report.facts["as_of"],
            "base_currency": settings.base_currency,
            "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "loaded_by": source,
            "source_files": [{"name": n, "sha256": h} for n, h in hashes.items()],
            "rows": report.facts["rows"],
            "derived_rows": derived,
            "warnings": report.warning_count,
        }
        (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    except Exception as exc:  # a snapshot that cannot be built is refused whole, inputs kept
        report.add(
            "error", ", ".join(f.name for f in files), "internal error", f"the snapshot could not be built ({type(exc).__name__}: {exc}); nothing was loaded"
        )
        kept = _reject(data, staging, sid, report, hashes, source)
        return IngestResult(report, None, kept, time.perf_counter() - t0, timings)
    step(0.95, "Switching to the new snapshot")
    info = data.publish(staging, sid)
    data.audit("load", snapshot=sid, source=source, files=manifest["source_files"], outcome="loaded", warnings=report.warning_count, rows=manifest["rows"])
    step(1.0, "Loaded")
    return IngestResult(report, info, info.path / "source", time.perf_counter() - t0, timings)


def _reject(data: DataDir, staging: Path, sid: str, report: Report, hashes: dict, source: str) -> Path:
    """Keep the refused files byte for byte with their report; the current snapshot is untouched."""
    (staging / "report.txt").write_text(report.to_text() + "\n", encoding="utf-8")
    (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
    target = data.rejected / sid
    shutil.move(str(staging), target)
    data.audit(
        "refusal", rejected=sid, source=source, files=[{"name": n, "sha256": h} for n, h in hashes.items()], outcome="refused", errors=report.error_count
    )
    return target
