"""Tables out to CSV and Excel, safe to open in a spreadsheet."""

from __future__ import annotations

import io

import polars as pl

from dashboard.present.labels import column, for_export, label

# A cell starting with one of these (=, +, -, @, tab, CR) is run as a formula by spreadsheet programs.
FORMULA_START = r"^[=+\-@\t\r]"


def defuse(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with a quote."""
    text = [c for c, t in df.schema.items() if t == pl.Utf8]
    return df.with_columns(pl.when(pl.col(c).str.contains(FORMULA_START)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c) for c in text)


def to_csv(df: pl.DataFrame, currency: str | None = None) -> bytes:
    """CSV for a spreadsheet; with the base currency, headings and rounding as on screen (labels.py)."""
    if currency is not None:
        df = for_export(df, currency)
    return defuse(df).write_csv().encode("utf-8")


# Excel number formats per kind of column (labels.py): a share as a percent with one decimal, as the pages
# show it (1.0621 -> 106.2%, never "1.06"), money to the cent with separators and negatives in brackets.
EXCEL_FORMATS = {
    "money": "#,##0.00;(#,##0.00);0.00",
    "money_doc": "#,##0.00;(#,##0.00);0.00",
    "share": "0.0%",
    "days": "0.0",
    "score": "0.0",
    "points": "0.00",
    "count": "#,##0",
}
_PX_PER_CHAR = 7  # Calibri 11, Excel's default font: about 7 pixels a character
_FILTER_BUTTON = 3  # the table's filter arrow covers about three characters of the heading


def excel_formats(df: pl.DataFrame, currency: str) -> dict[str, str]:
    """Heading (as exported) -> Excel number format, from the registry's kind of each numeric column."""
    out = {}
    for name, dtype in df.schema.items():
        fmt = EXCEL_FORMATS.get(column(name).kind)
        if fmt is not None and dtype.is_numeric():
            out[label(name, currency)] = fmt
    return out


def column_widths(df: pl.DataFrame, longest: int = 60) -> dict[str, int]:
    """Pixels per column that fit its heading (beside the filter arrow) and its longest value as written
    (a number with thousands separators and two decimals), at most `longest` characters."""
    if df.height:
        lengths = df.select(pl.col(c).cast(pl.Utf8).str.len_chars().max().fill_null(0) for c in df.columns).row(0)
    else:
        lengths = (0,) * df.width
    out = {}
    for (name, dtype), n in zip(df.schema.items(), lengths, strict=True):
        if dtype.is_numeric():
            n = n + n // 3 + 3  # separators, cents, a bracket
        chars = min(max(len(name) + _FILTER_BUTTON, n + 1), longest)
        out[name] = chars * _PX_PER_CHAR + 5
    return out


def to_excel(df: pl.DataFrame, sheet: str = "data", currency: str | None = None) -> bytes:
    formats = excel_formats(df, currency) if currency is not None else {}
    if currency is not None:
        df = for_export(df, currency)
    buf = io.BytesIO()
    # Strings are written as strings: xlsxwriter would otherwise turn "=..." into a formula.
    defuse(df).write_excel(
        buf,
        worksheet=sheet,
        column_formats=formats or None,  # type: ignore[arg-type]
        column_widths=column_widths(df),  # type: ignore[arg-type]
        float_precision=2,
        table_style="Table Style Light 9",
    )
    return buf.getvalue()
