"""Tables out to CSV and Excel, safe to open in a spreadsheet."""

from __future__ import annotations

import io

import polars as pl

from dashboard.present.labels import for_export

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


def to_excel(df: pl.DataFrame, sheet: str = "data", currency: str | None = None) -> bytes:
    if currency is not None:
        df = for_export(df, currency)
    buf = io.BytesIO()
    # Strings are written as strings: xlsxwriter would otherwise turn "=..." into a formula.
    defuse(df).write_excel(buf, worksheet=sheet, autofit=True, float_precision=2, table_style="Table Style Light 9")
    return buf.getvalue()
