"""Parsing a table's text into the contract's types, flagging every value that does not parse.

One streaming pass parses every value and flags the ones that do not parse; only when a
flag is up is the file read again, for the offending rows' text (named in the report).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from dashboard.load import formats
from dashboard.load.contract import AMOUNT_LIMIT, FIRST_DATE, LAST_DATE, TABLES, Column
from dashboard.load.layouts import ColumnNote
from dashboard.load.read import EXCEL, EXCEL_DATE_CELL, PARQUET, csv_problem
from dashboard.load.report import Report, names

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
# The words for a value that does not parse, in a file of the contract's own format (a layout's file says its own).
TYPE_WORDS = {
    "currency": "is not a currency code: use the three-letter ISO 4217 code (e.g. EUR)",
    "date": "is not a date: write it as YYYY-MM-DD (e.g. 2026-03-31)",
    "decimal": "is not a number: use a plain decimal such as 1234.56 (a minus sign for credit notes)",
    "int": "is not a whole number",
    "bool": "is not yes/no: use true/false, yes/no or 1/0",
}
# A flag per column and rule: (expression named _bad_<col>, _missing_<col> or _range_<col>, the column, "bad", "missing" or "range")
Flag = tuple[pl.Expr, Column, str]


def range_words(c: Column) -> str:
    """What a value of `c` may be (contract.py's bounds), in the analyst's words."""
    if c.type == "date":
        extra = "; leave it empty for a document that is still open" if c.name == "paid_date" else ""
        return f"is outside the dates a ledger can hold ({FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}){extra}"
    if c.type == "int":
        return f"is beyond {c.limit or AMOUNT_LIMIT:,.0f} days (ten years) either way: no contract has such terms"
    return f"is not a plausible {c.name}: its size must be below {AMOUNT_LIMIT:,.0f} (ten trillion)"


def _text(c: str) -> pl.Expr:
    s = pl.col(c).cast(pl.Utf8).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _read(col: Column, dtype: pl.DataType, excel: bool = False) -> pl.Expr:
    """The column as its contract type, null where the value does not parse or is empty; not yet held to the
    contract's bounds (`_within`): a value outside them is read, then refused as out of range.

    excel: the file is a workbook, where a date cell in a column that also holds text reaches us as
    "YYYY-MM-DD HH:MM:SS" (read.EXCEL_DATE_CELL): it is that date (a time of day is dropped, `_time_warning` says so)."""
    c = col.name
    if col.type == "text":
        if excel:  # a date cell in a text column: its date, as the cell shows it ("2026-01-15", not "... 00:00:00")
            midnight = _text(c).str.contains(EXCEL_DATE_CELL) & _text(c).str.ends_with(" 00:00:00")
            return pl.when(midnight.fill_null(False)).then(_text(c).str.slice(0, 10)).otherwise(_text(c))
        return _text(c)
    if col.type == "currency":  # ISO 4217: three letters; "usd" is read as USD
        code = _text(c).str.to_uppercase()
        return pl.when(code.str.contains(r"^[A-Z]{3}$")).then(code)
    if col.type == "bool":
        if dtype == pl.Boolean:
            return pl.col(c)
        s = pl.col(c).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        return pl.when(s.is_in(TRUE_WORDS)).then(True).when(s.is_in(FALSE_WORDS)).then(False).otherwise(None)
    if col.type == "date":
        if dtype == pl.Date:
            return pl.col(c)
        if isinstance(dtype, pl.Datetime):
            return pl.col(c).dt.date()
        iso = _text(c).str.to_date("%Y-%m-%d", strict=False)
        if excel:
            cell = pl.when(_text(c).str.contains(EXCEL_DATE_CELL)).then(_text(c).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            return pl.coalesce(iso, cell)
        return iso
    # numbers: read as a float (NaN is not a number; Infinity is one, beyond every bound)
    f = pl.col(c).cast(pl.Float64, strict=False) if dtype.is_numeric() else _text(c).cast(pl.Float64, strict=False)
    f = pl.when(~f.is_nan()).then(f)
    if col.type == "decimal":
        return f
    if col.type == "int":  # a whole float until it is within bounds: 1e29 is a whole number out of bounds, not an overflow
        return pl.when(f == f.round(0)).then(f)
    raise AssertionError(col.type)


def _within(col: Column, v: pl.Expr) -> pl.Expr | None:
    """Whether a value read by `_read` is within the contract's bounds (contract.py); None: a type without bounds."""
    if col.type == "date":
        return v.is_between(FIRST_DATE, LAST_DATE)
    if col.type == "decimal":
        return v.abs() < (col.limit or AMOUNT_LIMIT)
    if col.type == "int":
        return v.abs() <= (col.limit or AMOUNT_LIMIT)
    return None


def _typed(col: Column, v: pl.Expr) -> pl.Expr:
    """A value read by `_read` as the snapshot holds it: null where out of bounds, an int as an int."""
    ok = _within(col, v)
    v = v if ok is None else pl.when(ok).then(v)
    return (v.cast(dtype_of(col)) if col.type == "int" else v).alias(col.name)


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
    name: str,
    raw: pl.LazyFrame | pl.DataFrame,
    file: str,
    offset: int,
    report: Report,
    source: Path | None = None,
    notes: dict[str, ColumnNote] | None = None,
) -> pl.DataFrame | None:
    """Typed table with the contract's columns (absent optional ones as nulls) and a `_row` index.

    notes: for a table a layout took from an ERP export (layouts.read_tables), where each column came from
    (the export's heading, named in every message beside the contract's column) and how a value that does
    not read should have been written; its `_marker_<column>` columns (an amount's currency marker, checked
    against the currency in checks.py) are kept. None (with the reasons in the report) when the header or the
    file itself cannot be used; every value of the columns present is judged even then.
    """
    table = TABLES[name]
    header = _with_contract_header(name, raw.lazy(), file, report, source)
    if header is None:
        return None
    lf, headings, usable = header
    if notes is not None:
        headings = {c: n.heading for c, n in notes.items() if n.heading}
    for c, h in headings.items():
        report.note_heading(file, c, h)
    schema = lf.collect_schema()
    undecided = {c for c, n in (notes or {}).items() if not n.decided}
    present = [c for c in table.columns if c.name in schema and _usable(c, schema[c.name], file, report)]
    usable = usable and len(present) == len([c for c in table.columns if c.name in schema])
    judged = [c for c in present if c.name not in undecided]
    given = [_given(c, schema[c.name]).alias(f"_given_{c.name}") for c in judged if c.type != "text"]
    markers = [m for m in schema.names() if m.startswith("_marker_")] if notes is not None else []
    # a layout's values it could not read with its formats (layouts._dates): refused, even where they would read as ISO
    unread = [m for m in schema.names() if m.startswith("_unread_")] if notes is not None else []
    excel = source is not None and source.suffix.lower() in EXCEL
    try:  # one streaming pass: each value read once, and for a typed column whether a value was given at all
        checked = lf.select("_row", *[_read(c, schema[c.name], excel).alias(c.name) for c in present], *markers, *unread, *given).collect(engine="streaming")
    except pl.exceptions.PolarsError:  # ragged lines, bad quoting: the file itself cannot be read
        _report_unreadable(file, report, source)
        return None
    flags = _flags(judged, {m.removeprefix("_unread_") for m in unread})
    hints = {c: n.hint for c, n in (notes or {}).items() if n.hint}
    raised = checked.select("_row", *[f for f, _, _ in flags])
    _report_flagged(raised, flags, lf, file, offset, report, hints, headings)
    if excel:
        _time_warning([c for c in judged if c.type == "date"], schema, lf, file, offset, report, headings)
    if not usable:
        return None
    # values out of bounds go (a copy of their column); the other columns are taken as read, not copied
    out = {c.name for f, c, kind in flags if kind == "range" and raised.get_column(f.meta.output_name()).any()}
    del raised
    typed = checked.select("_row", *[_typed(c, pl.col(c.name)) if c.name in out or c.type == "int" else c.name for c in present], *markers)
    del checked
    # One chunk per column (the streaming engine returns many): later expressions over columns with
    # different chunking would make polars realign, i.e. copy, the whole table. Series added later are rechunked too.
    typed = _rechunk(typed)
    absent = [pl.lit(None, dtype_of(c)).alias(c.name) for c in table.columns if c.name not in schema]
    return typed.with_columns(absent).select("_row", *[c.name for c in table.columns], *markers)


def _with_contract_header(name: str, raw: pl.LazyFrame, file: str, report: Report, source: Path | None) -> tuple[pl.LazyFrame, dict[str, str], bool] | None:
    """(the frame with a `_row` index, headings in lower case and blank lines dropped; each contract column's
    heading as the file writes it; False when a required column is missing, reported). None if a heading is
    repeated (reported): which of the two holds the values cannot be told."""
    if "_row" not in raw.collect_schema().names():
        raw = raw.with_row_index("_row")
    original = raw.collect_schema().names()
    names_ = [c if c == "_row" else c.strip().lower() for c in original]
    # A CSV or Excel reader names a repeated heading "amount_duplicated_0": it is still "amount" twice.
    said = [m.group(1) if (m := re.fullmatch(r"(.+)_duplicated_\d+", n)) and m.group(1) in names_ else n for n in names_]
    dupes = sorted({n for n in said if said.count(n) > 1})
    if dupes:
        report.add("error", file, "duplicate column", f"the column(s) {names(dupes)} appear more than once in the header")
        return None
    raw = raw.rename(dict(zip(original, names_)))
    headings = {n: o for n, o in zip(names_, original) if n != "_row"}
    # Blank lines of a text or spreadsheet export (trailing ones, empty rows) hold nothing: skipped, and
    # the row numbers of the others stay those of the file. (An all-empty row in Parquet was written by
    # a program: its missing values are reported.)
    if source is None or source.suffix.lower() not in PARQUET:
        raw = raw.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))
    schema = raw.collect_schema()
    missing = [c for c in TABLES[name].required_columns if c not in schema]
    if missing:
        found = [n for n in original if n != "_row"]
        report.add(
            "error",
            file,
            "missing column",
            f"the {name} table needs the column(s) {', '.join(missing)}; found: {names(found) if found else 'none'}",
        )
    return raw, headings, not missing


def _usable(c: Column, dtype: pl.DataType, file: str, report: Report) -> bool:
    """False (reported) for a column of a Parquet or Excel file whose cells hold lists, records or bytes."""
    what = formats.unusable_cells(dtype)
    if what:
        report.add("error", file, "unreadable column", f"'{c.name}' holds {what}, not one {c.type} per cell: export it with plain values", column=c.name)
    return what is None


def _given(c: Column, dtype: pl.DataType) -> pl.Expr:
    """Whether the file gives a value (any text but blanks) for `c`."""
    return _text(c.name).is_not_null() if dtype == pl.Utf8 else pl.col(c.name).is_not_null()


def _flags(judged: list[Column], unread: set[str] | None = None) -> list[Flag]:
    """Over the values read (and `_given_<col>`): a flag for every typed column (a value given that does not
    parse, or that its layout could not read: `_unread_<col>`, one outside the contract's bounds) and every
    required one (no value)."""
    flags: list[Flag] = []
    for c in judged:
        v = pl.col(c.name)
        given = v.is_not_null() if c.type == "text" else pl.col(f"_given_{c.name}")
        if c.type != "text":
            bad = v.is_null() | pl.col(f"_unread_{c.name}").fill_null(False) if c.name in (unread or set()) else v.is_null()
            flags.append(((given & bad).alias(f"_bad_{c.name}"), c, "bad"))
            if (ok := _within(c, v)) is not None:
                flags.append(((v.is_not_null() & ~ok).fill_null(False).alias(f"_range_{c.name}"), c, "range"))
        if c.required:
            flags.append(((~given).alias(f"_missing_{c.name}"), c, "missing"))
    return flags


def _time_warning(dates: list[Column], schema: pl.Schema, lf: pl.LazyFrame, file: str, offset: int, report: Report, headings: dict[str, str]) -> None:
    """Warn, per date column of a workbook, about the cells that carry a time of day: the ledger holds dates, so
    the date is taken (an ERP's timestamp 2026-01-15 14:30 is an invoice of 15 January) and the analyst told."""
    for c in dates:
        dtype = schema[c.name]
        if isinstance(dtype, pl.Datetime):
            timed = pl.col(c.name).is_not_null() & (pl.col(c.name).dt.time() != pl.time(0))
            shown = pl.col(c.name).dt.strftime("%Y-%m-%d %H:%M:%S")  # as the cell reads, without the reader's milliseconds
        elif dtype == pl.Utf8:
            # a date cell of a text column, but not a plain date (midnight)
            timed = (_text(c.name).str.contains(EXCEL_DATE_CELL) & ~_text(c.name).str.ends_with(" 00:00:00")).fill_null(False)
            shown = pl.col(c.name)
        else:
            continue
        rows = lf.filter(timed).select("_row", shown.alias(c.name)).collect()
        heading = headings.get(c.name)
        words = f"'{heading or c.name}' has a time of day; the ledger holds dates, so the date was taken and the time ignored"
        report.add_rows("warning", file, "time of day ignored", words, rows, c.name, offset, heading=heading)


def _report_unreadable(file: str, report: Report, source: Path | None) -> None:
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
        kind = (source.suffix.lstrip(".").upper() if source is not None else "") or "table"
        report.add("error", file, "unreadable file", f"the file cannot be read as a {kind} file: it may be damaged or cut short; export it again")


def _report_flagged(
    checked: pl.DataFrame, flags: list[Flag], raw: pl.LazyFrame, file: str, offset: int, report: Report, hints: dict[str, str], headings: dict[str, str]
) -> None:
    """Name the rows whose flag is up, with the analyst's own text (read again from `raw`); a cell a file feeds
    two tables with is named once."""
    for expr, c, kind in flags:
        flag = checked.get_column(expr.meta.output_name())
        if not flag.any():
            continue
        rows = checked.filter(flag).select("_row")
        heading = headings.get(c.name)
        if kind in ("bad", "range"):
            bad = raw.join(rows.lazy(), on="_row", how="semi").select("_row", pl.col(c.name).cast(pl.Utf8)).collect().sort("_row")
            rule, words = (f"not a {c.type}", hints.get(c.name, TYPE_WORDS[c.type])) if kind == "bad" else ("out of range", range_words(c))
            report.add_rows("error", file, rule, f"'{heading or c.name}' {words}", bad, c.name, offset, heading=heading, once_per_cell=True)
        else:
            bad = rows.with_columns(pl.lit(None, pl.Utf8).alias(c.name))
            words = f"'{heading or c.name}' is empty; every row needs one"
            report.add_rows("error", file, "required value missing", words, bad, c.name, offset, heading=heading, once_per_cell=True)


def _rechunk(df: pl.DataFrame) -> pl.DataFrame:
    """df with one chunk per column, copying one column at a time (a whole-frame rechunk would double it)."""
    cols = df.get_columns()
    del df
    out = []
    while cols:
        out.append(cols.pop(0).rechunk())
    return pl.DataFrame(out)
