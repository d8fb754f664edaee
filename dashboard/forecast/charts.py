"""Plotly charts of the forecast and its backtest (no Streamlit here), in the
house style of dashboard/present/charts.py: money on the axes and in hovers as the tiles write it."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.forecast.backtest import METHOD_WORDS, METHODS, Backtest
from dashboard.forecast.cashin import Forecast, bucket_names
from dashboard.present.charts import LAYOUT, PALETTE, _money_ticks
from dashboard.present.formatting import money

# Young invoices calm, old ones hot: the stack shows how much of the cash rests on old paper.
AGE_COLORS = ["#1f4e79", "#2e86c1", "#85c1e9", "#f5b041", "#e67e22", "#c0392b", "#7b241c"]
METHOD_COLORS = {"forecast": PALETTE[0], "due_date": "#7f8c8d", "due_plus_delay": PALETTE[3]}


def _money_axis(fig: go.Figure, top: float, currency: str) -> None:
    ticks, text = _money_ticks(top)
    fig.update_yaxes(tickvals=ticks, ticktext=text, title=currency, rangemode="tozero")


def cash_in(fc: Forecast, bands: list[str], currency: str) -> go.Figure:
    """Weeks 1-13, later and doubtful, stacked by the invoice's age at T."""
    names = bucket_names()
    by = fc.detail.group_by("age_band", "week").agg(pl.col("amount").sum())
    labels = [f"{fc.weeks[k - 1][2]:%d %b}" for k in range(1, 14)] + ["Later", "Doubtful"]  # each week by its last day
    fig = go.Figure()
    for i, band in enumerate(bands):
        part = dict(by.filter(pl.col("age_band") == band).select("week", "amount").iter_rows())
        if not part:
            continue
        values = [float(part.get(k, 0.0)) for k in range(1, len(names) + 1)]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=band,
                marker_color=AGE_COLORS[i % len(AGE_COLORS)],
                customdata=[money(v, currency) for v in values],
                hovertemplate=f"{band} old: %{{customdata}}<extra>%{{x}}</extra>",
            )
        )
    totals = fc.detail.group_by("week").agg(pl.col("amount").sum())
    fig.update_layout(
        title=f"Expected cash-in by week ending, stacked by invoice age ({currency})",
        barmode="stack",
        xaxis_title="week ending",
        legend_title_text="invoice age",
        **LAYOUT,
    )
    _money_axis(fig, max(totals["amount"].to_list(), default=0.0), currency)
    return fig


def backtest_weeks(bt: Backtest, currency: str) -> go.Figure:
    """Forecast vs actual at each backtest point, week by week (the baselines dotted)."""
    cells = bt.cells.sort("point", "week")
    x = [f"{p:%b %Y} W{w}" for p, w in zip(cells["point"].to_list(), cells["week"].to_list())]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=cells["actual"].to_list(),
            name="Actual",
            marker_color="#bdc3c7",
            customdata=[money(v, currency) for v in cells["actual"].to_list()],
            hovertemplate="Actual %{customdata}<extra>%{x}</extra>",
        )
    )
    for m in METHODS:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=cells[m].to_list(),
                name=METHOD_WORDS[m].capitalize(),
                mode="lines",
                line=dict(color=METHOD_COLORS[m], width=2.5 if m == "forecast" else 1.5, dash="solid" if m == "forecast" else "dot"),
                customdata=[money(v, currency) for v in cells[m].to_list()],
                hovertemplate=f"{METHOD_WORDS[m]}: %{{customdata}}<extra>%{{x}}</extra>",
            )
        )
    top = max((v for c in ("actual", *METHODS) for v in cells[c].to_list()), default=0.0)
    fig.update_layout(title=f"Backtest: forecast vs actual, 13 weeks from each month-end ({currency})", **LAYOUT)
    fig.update_xaxes(tickangle=-60, nticks=min(len(x), 26))
    _money_axis(fig, top, currency)
    return fig


def wape_by_week(bt: Backtest) -> go.Figure:
    """WAPE per horizon week of the three methods (a gap: no actuals that week)."""
    fig = go.Figure()
    for m in METHODS:
        fig.add_trace(
            go.Scatter(
                x=list(range(1, 14)),
                y=bt.scores[m].wape_by_week,
                name=METHOD_WORDS[m].capitalize(),
                mode="lines+markers",
                line=dict(color=METHOD_COLORS[m], dash="solid" if m == "forecast" else "dot"),
                hovertemplate=f"{METHOD_WORDS[m]}, week %{{x}}: WAPE %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(title="WAPE by horizon week (lower is better)", xaxis_title="week ahead", yaxis_tickformat=".0%", **LAYOUT)
    fig.update_xaxes(dtick=1)
    return fig
