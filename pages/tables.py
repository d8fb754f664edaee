"""Tables on the pages: headings and formats from the one registry (dashboard/present/labels.py)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboard.present.labels import column, label

# Streamlit's display formats per kind of value: money with separators and two decimals
# (negatives in brackets, as an accountant writes them), shares as percentages, counts with separators.
_FORMATS = {
    "money": "accounting",
    "money_doc": "accounting",
    "days": "%.1f",
    "share": "percent",
    "count": "localized",
    "number": "localized",
    "points": "%.1f",
}


def config(df: pl.DataFrame, currency: str, hide: tuple[str, ...] = (), **override: Any) -> dict[str, Any]:
    """st.dataframe column_config for every column of df (override: column -> config or label)."""
    out: dict[str, Any] = {}
    for name in df.columns:
        if name in hide:
            out[name] = None
            continue
        if name in override:
            out[name] = override[name]
            continue
        c = column(name)
        text = label(name, currency)
        if c.kind == "date":
            out[name] = st.column_config.DateColumn(text, format="YYYY-MM-DD", help=c.help)
        elif c.kind == "bool":
            out[name] = st.column_config.CheckboxColumn(text, help=c.help)
        elif c.kind == "score":
            out[name] = st.column_config.ProgressColumn(text, min_value=0, max_value=100, format="%.1f", help=c.help)
        elif c.kind in _FORMATS:
            out[name] = st.column_config.NumberColumn(text, format=_FORMATS[c.kind], help=c.help)
        else:
            out[name] = st.column_config.TextColumn(text, help=c.help)
    return out


def show(df: pl.DataFrame, currency: str, hide: tuple[str, ...] = (), override: dict[str, Any] | None = None, **kwargs: Any):
    """st.dataframe with the registry's headings and formats; returns the selection event when on_select is given."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("placeholder", "–")
    kwargs.setdefault("width", "stretch")
    return st.dataframe(df, column_config=config(df, currency, hide, **(override or {})), **kwargs)
