"""Tables on the pages: headings and formats from the one registry (dashboard/present/labels.py),
and `plain()` for text from a ledger or a user shown in markdown (headings, captions, messages)."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from dashboard.present.formatting import NA
from dashboard.present.labels import Width, column, label

# Streamlit's display formats per kind of value: money with separators and two decimals
# (negatives in brackets, as an accountant writes them), counts with separators, days with one decimal.
_FORMATS = {
    "money": "accounting",
    "money_doc": "accounting",
    "days": "%.1f",
    "count": "localized",
    "number": "localized",
    "points": "%.1f",
}
_MONEY = ("money", "money_doc")


# A share is shown from a copy in percent beside it, "utilization" -> "utilization__pct" (x 100),
# written "%.1f%%": Streamlit's own "percent" writes up to two decimals and drops trailing zeros
# (192.57% beside 191.8%), a step to fix its decimals truncates instead of rounding, a progress
# column leaves a missing value blank, and a pandas Styler costs over a second for 500 rows. The
# copy is a number (it sorts as one, a missing share is a dash); the share itself stays in the
# data, hidden, for whoever reads the table's values (selections, tests).
PCT = "__pct"


# Streamlit's named widths in pixels, and what a heading needs: about 7.5 px a character of the 14 px
# heading font, plus the cell's padding and the sort/menu icon a hovered heading shows.
_NAMED = {"small": 75, "medium": 200, "large": 400}


def heading_px(text: str) -> int:
    return round(7.5 * len(text)) + 30


def fit_heading(width: Width, text: str) -> Width:
    """A column's width, never narrower than its heading ("Master clas…", "Curren…" were cut): None stays
    None (Streamlit then fits heading and values by itself)."""
    if width is None:
        return None
    px = _NAMED[width] if isinstance(width, str) else width
    return width if px >= heading_px(text) else heading_px(text)


def config(df: pl.DataFrame, currency: str, hide: tuple[str, ...] = (), widths: Mapping[str, Width] | None = None, **override: Any) -> dict[str, Any]:
    """st.dataframe column_config for every column of df (override: column -> config or label;
    widths: column -> width, instead of the registry's). A share with its copy in percent beside it
    (show() adds one) is hidden and the copy shown under the share's heading."""
    out: dict[str, Any] = {}
    widths = widths or {}
    for name, dtype in df.schema.items():
        if name in hide:
            out[name] = None
            continue
        if name in override:
            out[name] = override[name]
            continue
        base = name.removesuffix(PCT)
        c = column(base)
        text = label(base, currency)
        common: dict[str, Any] = {"help": c.help, "width": fit_heading(widths.get(base, c.width), text)}
        numeric = dtype.is_numeric()
        if c.kind == "date" and dtype.is_temporal():
            out[name] = st.column_config.DateColumn(text, format="YYYY-MM-DD", **common)
        elif c.kind == "bool" and dtype == pl.Boolean:
            out[name] = st.column_config.CheckboxColumn(text, **common)
        elif c.kind == "score" and numeric:
            out[name] = st.column_config.ProgressColumn(text, min_value=0, max_value=100, format="%.1f", **common)
        elif c.kind == "share" and numeric:
            if name != base:  # the copy in percent: 12.3%, always one decimal, rounded
                out[name] = st.column_config.NumberColumn(text, format="%.1f%%", **common)
            elif name + PCT in df.columns:
                out[name] = None
            else:  # no copy (config without show()): Streamlit's own percent
                out[name] = st.column_config.NumberColumn(text, format="percent", **common)
        elif c.kind in _FORMATS and numeric:
            out[name] = st.column_config.NumberColumn(text, format=c.fmt or _FORMATS[c.kind], **common)
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
    override = override or {}
    # Money held as whole numbers still shows its cents (Streamlit writes an integer column without decimals).
    whole = [n for n, t in df.schema.items() if t.is_integer() and column(n).kind in _MONEY and n not in override]
    shares = [n for n, t in df.schema.items() if t.is_numeric() and column(n).kind == "share" and n not in override and n not in hide]
    shown = df.with_columns(*[pl.col(n).cast(pl.Float64) for n in whole], *[(pl.col(n) * 100.0).alias(n + PCT) for n in shares])
    if shares:  # each copy in its share's place
        order = kwargs.get("column_order") or df.columns
        kwargs["column_order"] = [n + PCT if n in shares else n for n in order]
    return st.dataframe(shown, column_config=config(shown, currency, hide, widths, **override), **kwargs)


# Every ASCII punctuation character may be escaped with a backslash in CommonMark, and an escaped
# one is always shown as itself: links, images, emphasis, code, headings, HTML, tables,
# strikethrough, LaTeX ($), Streamlit's :color[...] directives and bare-URL autolinks all need one.
_MARKDOWN = {ord(c): "\\" + c for c in string.punctuation}
_MARKDOWN.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})  # no line breaks: no lists, headings or tables
# Streamlit's GitHub-flavoured markdown turns www.x.com, http://x and a@b.co into links after the
# escapes are read, so an invisible word joiner (U+2060) breaks each pattern: www|.  http:|//  a|@b
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\\\.)|(?<=\\:)(?=\\/\\/)|(?=\\@)")
WORD_JOINER = "\u2060"


def plain(text: object, lines: bool = False) -> str:
    """Text from a ledger or a user (a customer name, a search, a URL parameter, a file name) for
    st.markdown / caption / subheader / title / error: shown exactly as written, never rendered.
    None reads "n/a". lines=True keeps the text's line breaks (a message of several lines)."""
    if text is None:
        return NA
    if lines:
        return "  \n".join(plain(line) for line in str(text).splitlines())  # two spaces: a line break, not a paragraph
    return _AUTOLINK.sub(WORD_JOINER, str(text).translate(_MARKDOWN))
