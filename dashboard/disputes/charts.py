"""The disputes page's charts (Plotly; no Streamlit here, so tests and exports can draw them too)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.present.charts import PALETTE, _plotly_text


def root_cause_pareto(rc: pl.DataFrame, currency: str) -> go.Figure:
    """Bars: the resolved cases' disputed amount by root cause, largest first; line: the cumulative share (Pareto)."""
    names = [_plotly_text(x) for x in rc["root_cause"].to_list()]
    fig = go.Figure()
    fig.add_bar(x=names, y=rc["amount"].to_list(), name=f"Disputed ({currency})", marker_color=PALETTE[1], hovertemplate="%{x}: %{y:,.2f}<extra></extra>")
    fig.add_scatter(
        x=names,
        y=[None if v is None else v * 100 for v in rc["cumulative_share"].to_list()],
        name="Cumulative share",
        yaxis="y2",
        mode="lines+markers",
        line={"color": PALETTE[5]},
        hovertemplate="%{x}: %{y:.1f}% of the amount<extra></extra>",
    )
    fig.update_layout(
        height=340,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"title": f"Disputed ({currency})", "tickformat": ",.0f"},
        yaxis2={"title": "Cumulative share (%)", "overlaying": "y", "side": "right", "range": [0, 105]},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def new_vs_solved(nv: pl.DataFrame) -> go.Figure:
    months = [m.strftime("%b %Y") for m in nv["month"].to_list()]
    fig = go.Figure()
    fig.add_bar(x=months, y=nv["opened"].to_list(), name="Opened", marker_color=PALETTE[4])
    fig.add_bar(x=months, y=nv["solved"].to_list(), name="Resolved", marker_color=PALETTE[0])
    fig.update_layout(barmode="group", height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": 1.12})
    return fig
