"""Plotly figures for the pages (no Streamlit here, so exports and tests can use them)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

PALETTE = ["#1f4e79", "#2e86c1", "#85c1e9", "#f5b041", "#e67e22", "#c0392b", "#7b241c", "#4a235a"]
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, legend=dict(orientation="h", y=-0.2), template="plotly_white")


def dso_trend(trend: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    for col, name, dash in (("dso_countback", "DSO (countback)", "solid"), ("dso_standard", "DSO (standard)", "dot"), ("bpdso", "Best possible DSO", "dash")):
        fig.add_scatter(x=trend["date"].to_list(), y=trend[col].to_list(), name=name, mode="lines+markers", line=dict(dash=dash))
    fig.update_layout(title="DSO by month-end (days)", yaxis_title="days", **LAYOUT)
    return fig


def ar_trend(trend: pl.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    current = (trend["ar"] - trend["ar_overdue"]).to_list()
    fig.add_bar(x=trend["date"].to_list(), y=current, name="Current", marker_color=PALETTE[1])
    fig.add_bar(x=trend["date"].to_list(), y=trend["ar_overdue"].to_list(), name="Overdue", marker_color=PALETTE[5])
    fig.update_layout(barmode="relative", title=f"AR and overdue by month-end ({currency})", yaxis_tickformat=",.0f", **LAYOUT)
    return fig


def aging_by(aging: pl.DataFrame, dim: str, bucket_names: list[str], currency: str) -> go.Figure:
    """Stacked bars of open AR per `dim` value, one colour per aging bucket."""
    g = aging.group_by(dim, "bucket").agg(pl.col("ar").sum()).sort(dim)
    fig = go.Figure()
    for i, name in enumerate(bucket_names):
        part = g.filter(pl.col("bucket") == i)
        fig.add_bar(x=part[dim].to_list(), y=part["ar"].to_list(), name=name.replace("_", "-"), marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="relative", title=f"Aging by {dim} ({currency})", yaxis_tickformat=",.0f", **LAYOUT)
    return fig


def dso_bridge(baseline_dso: float | None, bridge: list[tuple[str, float]]) -> go.Figure:
    """Waterfall from baseline DSO to scenario DSO, one bar per lever kind."""
    base = baseline_dso or 0.0
    labels = ["Baseline DSO"] + [f"{k.capitalize()}" for k, _ in bridge] + ["Scenario DSO"]
    values = [base] + [v for _, v in bridge] + [0]
    measures = ["absolute"] + ["relative"] * len(bridge) + ["total"]
    fig = go.Figure(go.Waterfall(x=labels, y=values, measure=measures, text=[f"{v:+.1f}" if m == "relative" else "" for v, m in zip(values, measures)],
                                 decreasing=dict(marker_color="#27ae60"), increasing=dict(marker_color="#c0392b"), totals=dict(marker_color=PALETTE[0])))
    # Zoom on the part of the axis where the steps happen (a bar from 0 would hide them).
    levels = [base]
    for _, v in bridge:
        levels.append(levels[-1] + v)
    pad = max(2.0, 0.25 * (max(levels) - min(levels)))
    fig.update_layout(title="DSO bridge, baseline to scenario (days)", showlegend=False, yaxis_range=[max(0.0, min(levels) - pad), max(levels) + pad], **LAYOUT)
    return fig


def scenario_compare(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=[r["name"] for r in rows], y=[r["projected_dso"] for r in rows], name="Projected DSO", marker_color=PALETTE[1])
    fig.update_layout(title="Projected DSO by scenario (days)", **LAYOUT)
    return fig
