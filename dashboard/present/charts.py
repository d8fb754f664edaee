"""Charts for the pages: Altair (Vega-Lite) for the overview and aging, Plotly elsewhere.

No Streamlit here, so exports and tests can use them.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import plotly.graph_objects as go
import polars as pl

from dashboard.present.formatting import compact, money
from dashboard.present.labels import bucket_label, label

PALETTE = ["#1f4e79", "#2e86c1", "#85c1e9", "#f5b041", "#e67e22", "#c0392b", "#7b241c", "#4a235a"]
# Aging buckets from calm to alarming: "not due" is a quiet blue, each later bucket a hotter colour,
# so the overdue part of a bar stands out instead of melting into shades of the same blue.
AGING_COLORS = ["#9dbcd8", "#f7dc6f", "#f5b041", "#e67e22", "#c0392b", "#922b21", "#641e16", "#3b0f0c"]
# Money axes read like the tiles: "73.2m", "1.5bn", not 73,200,000.
MONEY_LABELS = (
    "abs(datum.value) >= 1e9 ? format(datum.value / 1e9, ',.1~f') + 'bn' : "
    "abs(datum.value) >= 1e6 ? format(datum.value / 1e6, ',.1~f') + 'm' : "
    "abs(datum.value) >= 1e3 ? format(datum.value / 1e3, ',.1~f') + 'k' : format(datum.value, ',.0f')"
)


def _plotly_text(text: object) -> str:
    """Ledger text for a Plotly label or hover: Plotly reads <b>, <a href=...> in text as markup; entities it shows as text."""
    return "–" if text is None else str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _money_ticks(top: float) -> tuple[list[float], list[str]]:
    """About five round ticks from 0 to top, written like the tiles (0, 5m, 10m), for a Plotly axis or colour bar."""
    if top <= 0:
        return [0.0], ["0"]
    raw = top / 4
    mag = 10 ** (len(f"{int(raw):d}") - 1) if raw >= 1 else 1.0
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = [i * step for i in range(int(top // step) + 1)]
    return ticks, [compact(v).replace(".0", "") if v else "0" for v in ticks]


LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, legend=dict(orientation="h", y=-0.2), template="plotly_white")


def dso_bridge(baseline_dso: float | None, bridge: list[tuple[str, float]]) -> go.Figure:
    """Waterfall from baseline DSO to scenario DSO, one bar per lever kind, on an axis from 0.

    The baseline and scenario bars stand on 0 and each lever's step is drawn at its true length
    against them: a 2-day change on a 47-day DSO looks like 2 days, not like half the chart.
    """
    known = baseline_dso is not None
    base = baseline_dso if baseline_dso is not None else 0.0
    levels = [base]
    for _, v in bridge:
        levels.append(levels[-1] + v)
    labels = ["Baseline DSO" if known else "Baseline DSO (n/a)"] + [f"{k.capitalize()}" for k, _ in bridge] + ["Scenario DSO"]
    values = [base] + [v for _, v in bridge] + [0]
    measures = ["absolute"] + ["relative"] * len(bridge) + ["total"]
    text = [f"{base:.1f}" if known else "n/a"] + [f"{v:+.1f}" for _, v in bridge] + [f"{levels[-1]:.1f}" if known else "n/a"]
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            text=text,
            textposition="outside",
            decreasing=dict(marker_color="#27ae60"),
            increasing=dict(marker_color="#c0392b"),
            totals=dict(marker_color=PALETTE[0]),
            connector=dict(line=dict(color="#999", width=1)),
        )
    )
    top = max(levels + [0.0])
    bottom = min(levels + [0.0])
    fig.update_layout(
        title="DSO bridge, baseline to scenario (days, axis from 0)",
        showlegend=False,
        yaxis_range=[bottom * 1.12 if bottom < 0 else 0.0, top * 1.12 if top > 0 else 1.0],
        yaxis_title="days",
        **LAYOUT,
    )
    return fig


def scenario_compare(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=[r["name"] for r in rows], y=[r["projected_dso"] for r in rows], name="Projected DSO", marker_color=PALETTE[1])
    fig.update_layout(title="Projected DSO by scenario (days)", **LAYOUT)
    return fig


def utilisation_bars(bins: pl.DataFrame, currency: str = "USD") -> go.Figure:
    """Customers by share of their credit limit used; 'no limit' is its own bar, never 0 %."""
    colors = [PALETTE[1]] * 4 + [PALETTE[3], PALETTE[5], PALETTE[6], "#7f8c8d", "#bdc3c7"]
    fig = go.Figure(
        go.Bar(
            x=bins["band"].to_list(),
            y=bins["customers"].to_list(),
            marker_color=colors[: bins.height],
            customdata=[money(v, currency, compact=True) for v in bins["exposure"].to_list()],
            hovertemplate="Limit used %{x}: %{y:,} customers, exposure %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(title="Customers by limit used", yaxis_title="customers", yaxis_tickformat=",d", **LAYOUT)
    if max(bins["customers"].to_list(), default=0) <= 5:  # whole customers: no 0, 0, 1, 1 ticks on a short axis
        fig.update_yaxes(dtick=1)
    return fig


def exposure_heatmap(pivot: pl.DataFrame, currency: str) -> go.Figure:
    cols = [c for c in pivot.columns if c != "segment"]
    z = [[float(v) for v in row] for row in pivot.select(cols).iter_rows()]
    top = max((v for row in z for v in row), default=0.0)
    zmax = top if top > 0 else 1.0
    ticks, tick_text = _money_ticks(zmax)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            # From 0: exposure is never negative here, and an all-zero grid must not get a -0.4..0.4 scale.
            zmin=0.0,
            zmax=zmax,
            x=cols,
            y=[_plotly_text(v) for v in pivot["segment"].to_list()],
            colorscale="Blues",
            # cells and scale like the tiles (13.3m, 185.0k), the hover to the cent
            text=[[compact(v) for v in row] for row in z],
            texttemplate="%{text}",
            customdata=[[money(v, currency) for v in row] for row in z],
            hovertemplate="%{y}, class %{x}: %{customdata}<extra></extra>",
            colorbar=dict(title=currency, tickvals=ticks, ticktext=tick_text),
        )
    )
    fig.update_layout(title=f"Exposure by segment and risk class ({currency})", xaxis_title="risk class (computed)", **LAYOUT)
    return fig


def pareto_curve(p: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=(p["customer_share"] * 100).to_list(),
        y=(p["cumulative_share"] * 100).to_list(),
        mode="lines",
        name="Cumulative exposure",
        line=dict(color=PALETTE[0]),
        hovertemplate="top %{x:.1f}% of customers: %{y:.1f}% of exposure<extra></extra>",
    )
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="Even spread", line=dict(dash="dot", color="#95a5a6"))
    fig.update_layout(
        title="Concentration (Pareto): share of exposure by share of customers",
        xaxis_title="customers, largest first",
        yaxis_title="share of exposure",
        xaxis_ticksuffix="%",
        yaxis_ticksuffix="%",
        **LAYOUT,
    )
    return fig


def utilisation_gauge(util: float | None) -> go.Figure:
    value = 0.0 if util is None else util * 100
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=value,
            number=dict(suffix="%", valueformat=".1f"),  # as every share: one decimal
            title=dict(text="Limit used" if util is not None else "No credit limit"),
            gauge=dict(
                axis=dict(range=[0, max(120, value)]),
                bar=dict(color=PALETTE[0] if util is not None else "#bdc3c7"),
                steps=[dict(range=[80, 100], color="#fdebd0"), dict(range=[100, max(120, value)], color="#f5b7b1")],
            ),
        )
    )
    fig.update_layout(margin=dict(l=20, r=20, t=50, b=10), height=240)
    return fig


def payment_history(paid: pl.DataFrame) -> go.Figure:
    """Days late of each paid document by payment date, with the amount-weighted 90-day trend."""
    fig = go.Figure()
    fig.add_scatter(
        x=paid["paid_date"].to_list(),
        y=paid["days_late"].to_list(),
        mode="markers",
        name="Paid document",
        marker=dict(size=6, color=PALETTE[1], opacity=0.6),
        customdata=[_plotly_text(v) for v in paid["invoice_id"].to_list()],
        hovertemplate="%{customdata}: paid %{x|%Y-%m-%d}, %{y:,.0f} days late<extra></extra>",
    )
    if paid.height:
        trend = (
            paid.sort("paid_date")
            .with_columns(w=pl.col("amount_base") * pl.col("days_late"))
            .rolling("paid_date", period="90d")
            .agg(pl.col("w").sum(), pl.col("amount_base").sum())
            .with_columns(days=pl.col("w") / pl.col("amount_base"))
            .unique("paid_date", keep="last")
            .sort("paid_date")
        )
        fig.add_scatter(
            x=trend["paid_date"].to_list(),
            y=trend["days"].to_list(),
            mode="lines",
            name="Trend (90 days, amount-weighted)",
            line=dict(color=PALETTE[5], width=3),
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.1f} days late (90-day trend)<extra></extra>",
        )
    fig.add_hline(y=0, line_dash="dot", line_color="#95a5a6")
    days_paid = paid["paid_date"].unique()
    if days_paid.len() == 1:  # one payment day: a quarter around it, not an axis of milliseconds
        day = days_paid[0]
        fig.update_xaxes(range=[day - dt.timedelta(days=45), day + dt.timedelta(days=45)], dtick="M1", tickformat="%b %Y")
    fig.update_layout(title="Payment history: days late per paid document", yaxis_title="days late (negative = early)", **LAYOUT)
    return fig


# ----------------------------------------------------------------------------- trends and aging (Vega-Lite)
# The overview's and the aging page's charts are drawn with Altair (Vega-Lite, Streamlit's built-in
# renderer): measured here, a page of three Plotly charts settles ~0.7 s later in the browser than
# the same page with Vega-Lite (Plotly's 4 MB bundle), and the overview must settle in under 2 s.
# The other pages keep Plotly for what Vega-Lite does less well (waterfall, gauge, heatmap labels).


def dso_trend(trend: pl.DataFrame):
    names = {"dso_countback": "DSO (countback)", "dso_standard": "DSO (standard)", "bpdso": "Best possible DSO"}
    long = (
        trend.select("date", *names)
        .unpivot(index="date", variable_name="measure", value_name="days")
        .with_columns(pl.col("measure").replace_strict(names), pl.col("days").round(1))
    )
    return (
        alt.Chart(long, title="DSO by month-end (days)")
        .mark_line(point=True)
        .encode(
            x=alt.X("yearmonthdate(date):O", title=None, axis=alt.Axis(format="%b %y", labelAngle=-45)),
            y=alt.Y("days:Q", title="days"),
            # One legend for colour and dash, drawn as line samples (a point symbol hides the dash).
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=list(names.values()), range=PALETTE[:3]),
                legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=2),
            ),
            strokeDash=alt.StrokeDash(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=list(names.values()), range=[[1, 0], [2, 2], [6, 3]]),
                legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=2),
            ),
            tooltip=[alt.Tooltip("date:T", title="Month-end"), alt.Tooltip("measure:N", title="Figure"), alt.Tooltip("days:Q", title="Days", format=",.1f")],
        )
        .properties(height=300)
    )


def ar_trend(trend: pl.DataFrame, currency: str):
    long = (
        trend.select("date", current=pl.col("ar") - pl.col("ar_overdue"), overdue=pl.col("ar_overdue"))
        .unpivot(index="date", variable_name="part", value_name="amount")
        .with_columns(pl.col("part").replace_strict({"current": "Current", "overdue": "Overdue"}))
    )
    return (
        alt.Chart(long, title=f"AR and overdue by month-end ({currency})")
        .mark_bar()
        .encode(
            x=alt.X("yearmonthdate(date):O", title=None, axis=alt.Axis(format="%b %y", labelAngle=-45)),
            y=alt.Y("sum(amount):Q", title=None, axis=alt.Axis(labelExpr=MONEY_LABELS)),
            color=alt.Color(
                "part:N", title=None, scale=alt.Scale(domain=["Current", "Overdue"], range=[PALETTE[1], PALETTE[5]]), legend=alt.Legend(orient="bottom")
            ),
            order=alt.Order("part:N", sort="ascending"),
            tooltip=[
                alt.Tooltip("date:T", title="Month-end"),
                alt.Tooltip("part:N", title="Part"),
                alt.Tooltip("amount:Q", title=currency, format=",.2f"),
            ],
        )
        .properties(height=300)
    )


def aging_by(aging: pl.DataFrame, dim: str, bucket_names: list[str], currency: str):
    labels = [bucket_label(n) for n in bucket_names]
    g = (
        aging.group_by(dim, "bucket")
        .agg(pl.col("ar").sum())
        .with_columns(pl.col("bucket").replace_strict(list(range(len(labels))), labels, return_dtype=pl.Utf8).alias("bucket_name"))
    )
    return (
        alt.Chart(g, title=f"Aging by {dim} ({currency})")
        .mark_bar()
        .encode(
            x=alt.X(f"{dim}:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(ar):Q", title=None, axis=alt.Axis(labelExpr=MONEY_LABELS)),
            color=alt.Color(
                "bucket_name:N", title=None, sort=labels, scale=alt.Scale(domain=labels, range=_aging_colors(len(labels))), legend=alt.Legend(orient="bottom")
            ),
            order=alt.Order("bucket:Q"),
            tooltip=[
                alt.Tooltip(f"{dim}:N", title=label(dim, currency)),
                alt.Tooltip("bucket_name:N", title="Days past due"),
                alt.Tooltip("ar:Q", title=f"AR ({currency})", format=",.2f"),
            ],
        )
        .properties(height=300)
    )


def top_overdue(top: pl.DataFrame, currency: str):
    """The customers with the most overdue, largest first; a click on a bar selects its customer ("pick")."""
    # Names repeat across customers (two "Summit Supply GmbH"): the id keeps each bar its own.
    # Tooltips show text, never "null": a customer without a limit says so, one without a name shows its id.
    data = top.with_columns(
        label=pl.col("name").fill_null(pl.col("customer_id")) + " · " + pl.col("customer_id"),
        name=pl.col("name").fill_null("(no name)"),
        segment=pl.col("segment").fill_null("Unassigned"),
        limit_used=pl.when(pl.col("credit_limit").is_null())
        .then(pl.lit("no limit"))
        .when(pl.col("utilization").is_null())
        .then(pl.lit("limit 0"))
        # one decimal, as every table and tile writes a share (106.2%, never 106%)
        .otherwise(pl.format("{}%", (pl.col("utilization") * 100).round(1))),
    )
    pick = alt.selection_point(fields=["customer_id"], name="pick", on="click")
    return (
        alt.Chart(data, title=f"Top customers by overdue amount ({currency})")
        .mark_bar(color=PALETTE[5], cursor="pointer")
        .encode(
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("ar_overdue:Q", title=None, axis=alt.Axis(labelExpr=MONEY_LABELS)),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                # the registry's headings, as the tables beside the chart write them
                alt.Tooltip("customer_id:N", title=label("customer_id", currency)),
                alt.Tooltip("name:N", title=label("name", currency)),
                alt.Tooltip("segment:N", title=label("segment", currency)),
                alt.Tooltip("ar_overdue:Q", title=label("ar_overdue", currency), format=",.2f"),
                alt.Tooltip("exposure:Q", title=label("exposure", currency), format=",.2f"),
                alt.Tooltip("limit_used:N", title=label("utilization", currency)),
            ],
        )
        .add_params(pick)
        .properties(height=300)
    )


def _aging_colors(n: int) -> list[str]:
    return AGING_COLORS[:n] if n <= len(AGING_COLORS) else AGING_COLORS + [AGING_COLORS[-1]] * (n - len(AGING_COLORS))
