"""Parsing a table's text into the contract's types, flagging every value that does not parse.

One streaming pass parses every value and flags the ones that do not parse; only when a
flag is up is the file read again, for the offending rows' text (named in the report).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from dashboard.load.contract import TABLES, Column
from dashboard.load.read import EXCEL, PARQUET, csv_problem
from dashboard.load.report import Report

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
TYPE_WORDS = {
    "currency": "is not a currency code: use the three-letter ISO 4217 code (e.g. EUR)",
    "date": "is not a date: write it as YYYY-MM-DD (e.g. 2026-03-31)",
    "decimal": "is not a number: use a plain decimal such as 1234.56 (a minus sign for credit notes)",
    "int": "is not a whole number",
    "bool": "is not yes/no: use true/false, yes/no or 1/0",
}
# A flag per column and rule: (expression named _bad_<col> or _missing_<col>, the column, "bad" or "missing")
Flag = tuple[pl.Expr, Column, str]


def _text(c: str) -> pl.Expr:
    s = pl.col(c).cast(pl.Utf8).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _parsed(col: Column, dtype: pl.DataType) -> pl.Expr:
    """The column as its contract type; null where the value does not parse (or is empty)."""
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


def dtype_of(c: Column) -> pl.DataType:
    """The polars type a contract column is held in."""
    types: dict[str, pl.DataType] = {
        "text": pl.Utf8(),
        "currency": pl.Utf8(),
        "date": pl.Date(),
        "decimal": pl.Float64(),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
    }
    return types[c.type]


def parse_table(
    name: str, raw: pl.LazyFrame | pl.DataFrame, file: str, offset: int, report: Report, source: Path | None = None, date_formats: dict[str, str] | None = None
) -> pl.DataFrame | None:
    """Typed table with the contract's columns (absent optional ones as nulls) and a `_row` index.

    None (with the reason in the report) when the header or the file itself cannot be used.
    """
    table = TABLES[name]
    lf = _with_contract_header(name, raw.lazy(), file, report, source)
    if lf is None:
        return None
    schema = lf.collect_schema()
    present = [c for c in table.columns if c.name in schema]
    flags = _flags(present, schema)
    try:
        checked = lf.select("_row", *[_parsed(c, schema[c.name]).alias(c.name) for c in present], *[f for f, _, _ in flags]).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:  # ragged lines, bad quoting: the file itself cannot be read
        _report_unreadable(exc, file, report, source)
        return None
    _report_flagged(checked, flags, lf, file, offset, report, date_formats or {})
    typed = checked.select("_row", *[c.name for c in present])
    del checked
    # One chunk per column (the streaming engine returns many): later expressions over columns with
    # different chunking would make polars realign, i.e. copy, the whole table. Series added later are rechunked too.
    typed = _rechunk(typed)
    absent = [pl.lit(None, dtype_of(c)).alias(c.name) for c in table.columns if c.name not in schema]
    return typed.with_columns(absent).select("_row", *[c.name for c in table.columns])


def _with_contract_header(name: str, raw: pl.LazyFrame, file: str, report: Report, source: Path | None) -> pl.LazyFrame | None:
    """The frame with a `_row` index, headings in lower case and blank lines dropped; None if a heading
    is repeated or a required column is missing (both reported)."""
    if "_row" not in raw.collect_schema().names():
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
    missing = [c for c in TABLES[name].required_columns if c not in schema]
    if missing:
        report.add(
            "error",
            file,
            "missing column",
            f"the {name} table needs the column(s) {', '.join(missing)}; found: {', '.join(n for n in names if n != '_row') or 'none'}",
        )
        return None
    return raw


def _flags(present: list[Column], schema: pl.Schema) -> list[Flag]:
    """A flag for every typed column (a value given that does not parse) and every required one (no value)."""
    flags: list[Flag] = []
    for c in present:
        given = _text(c.name).is_not_null() if schema[c.name] == pl.Utf8 else pl.col(c.name).is_not_null()
        if c.type != "text":
            flags.append(((given & _parsed(c, schema[c.name]).is_null()).alias(f"_bad_{c.name}"), c, "bad"))
        if c.required:
            flags.append(((~given).alias(f"_missing_{c.name}"), c, "missing"))
    return flags


def _report_unreadable(exc: pl.exceptions.PolarsError, file: str, report: Report, source: Path | None) -> None:
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


def _report_flagged(checked: pl.DataFrame, flags: list[Flag], raw: pl.LazyFrame, file: str, offset: int, report: Report, date_formats: dict[str, str]) -> None:
    """Name the rows whose flag is up, with the analyst's own text (read again from `raw`)."""
    for expr, c, kind in flags:
        flag = checked.get_column(expr.meta.output_name())
        if not flag.any():
            continue
        rows = checked.filter(flag).select("_row")
        if kind == "bad":
            bad = raw.join(rows.lazy(), on="_row", how="semi").select("_row", pl.col(c.name).cast(pl.Utf8)).collect().sort("_row")
            words = TYPE_WORDS[c.type]
            fmt = date_formats.get(c.name, "%Y-%m-%d")
            if c.type == "date" and fmt != "%Y-%m-%d":  # an ERP export: the format its other dates follow, not ours
                words = f"is not a valid date (this export writes {_human_date(fmt)})"
            report.add_rows("error", file, f"not a {c.type}", f"'{c.name}' {words}", bad, c.name, offset)
        else:
            bad = rows.with_columns(pl.lit(None, pl.Utf8).alias(c.name))
            report.add_rows("error", file, "required value missing", f"'{c.name}' is empty; every row needs one", bad, c.name, offset)


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
