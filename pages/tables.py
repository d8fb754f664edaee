"""Tables on the pages: headings and formats from the one registry (dashboard/present/labels.py),
and `plain()` for text from a ledger or a user shown in markdown (headings, captions, messages)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from dashboard.present.formatting import NA
from dashboard.present.labels import Width, column, label

# Streamlit's display formats per kind of value: money with separators and two decimals
# (negatives in brackets, as an accountant writes them), shares as percentages with one decimal,
# counts with separators, days with one decimal.
_FORMATS = {
    "money": "accounting",
    "money_doc": "accounting",
    "days": "%.1f",
    "share": "percent",
    "count": "localized",
    "number": "localized",
    "points": "%.1f",
}
# Streamlit takes the number of decimals of a number column from its step: 0.01 -> money to the
# cent (also when the column holds whole numbers), 0.001 -> a share as 12.3 % (without it, the
# percent format writes up to two decimals and drops trailing zeros: 192.57 % beside 191.8 %).
_STEPS = {"money": 0.01, "money_doc": 0.01, "share": 0.001}


def config(df: pl.DataFrame, currency: str, hide: tuple[str, ...] = (), widths: Mapping[str, Width] | None = None, **override: Any) -> dict[str, Any]:
    """st.dataframe column_config for every column of df (override: column -> config or label;
    widths: column -> width, instead of the registry's)."""
    out: dict[str, Any] = {}
    widths = widths or {}
    for name, dtype in df.schema.items():
        if name in hide:
            out[name] = None
            continue
        if name in override:
            out[name] = override[name]
            continue
        c = column(name)
        text = label(name, currency)
        common: dict[str, Any] = {"help": c.help, "width": widths.get(name, c.width)}
        numeric = dtype.is_numeric()
        if c.kind == "date" and dtype.is_temporal():
            out[name] = st.column_config.DateColumn(text, format="YYYY-MM-DD", **common)
        elif c.kind == "bool" and dtype == pl.Boolean:
            out[name] = st.column_config.CheckboxColumn(text, **common)
        elif c.kind == "score" and numeric:
            out[name] = st.column_config.ProgressColumn(text, min_value=0, max_value=100, format="%.1f", **common)
        elif c.kind in _FORMATS and numeric:
            out[name] = st.column_config.NumberColumn(text, format=c.fmt or _FORMATS[c.kind], step=_STEPS.get(c.kind), **common)
        else:  # text, or a value the page already wrote as text ("6", "27.7%")
            out[name] = st.column_config.TextColumn(text, **common)
    return out


def show(
    df: pl.DataFrame,
    currency: str,
    hide: tuple[str, ...] = (),
    override: dict[str, Any] | None = None,
    widths: Mapping[str, Width] | None = None,
    **kwargs: Any,
):
    """st.dataframe with the registry's headings and formats; returns the selection event when on_select is given.

    column_order=(...) puts the columns a decision rests on first; columns left out of it are
    hidden on screen (still in the data, and in exports).
    """
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("placeholder", "–")
    kwargs.setdefault("width", "stretch")
    return st.dataframe(df, column_config=config(df, currency, hide, widths, **(override or {})), **kwargs)


# Every ASCII punctuation character may be escaped with a backslash in CommonMark, and an escaped
# one is always shown as itself: links, images, emphasis, code, headings, HTML, tables,
# strikethrough, LaTeX ($), Streamlit's :color[...] directives and bare-URL autolinks all need one.
_MARKDOWN = {ord(c): "\\" + c for c in string.punctuation}
_MARKDOWN.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})  # no line breaks: no lists, headings or tables


def plain(text: object, lines: bool = False) -> str:
    """Text from a ledger or a user (a customer name, a search, a URL parameter, a file name) for
    st.markdown / caption / subheader / title / error: shown exactly as written, never rendered.
    None reads "n/a". lines=True keeps the text's line breaks (a message of several lines)."""
    if text is None:
        return NA
    if lines:
        return "  \n".join(plain(line) for line in str(text).splitlines())  # two spaces: a line break, not a paragraph
    return str(text).translate(_MARKDOWN)
