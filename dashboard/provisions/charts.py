"""The provision matrix as a chart (Plotly, no Streamlit), money as the tiles write it."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.forecast.charts import _money_axis
from dashboard.present.charts import LAYOUT, _plotly_text
from dashboard.present.formatting import money
from dashboard.present.labels import bucket_label


def provision_bars(buckets: pl.DataFrame, currency: str) -> go.Figure:
    """Gross and allowance per aging bucket, the rate applied in the hover."""
    x = [_plotly_text(bucket_label(b)) for b in buckets["bucket"].to_list()]
    gross, allow, rate = buckets["gross"].to_list(), buckets["allowance"].to_list(), buckets["rate"].to_list()
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=gross,
                name="Gross",
                marker_color="#9dbcd8",
                customdata=[money(v, currency) for v in gross],
                hovertemplate="Gross %{customdata}<extra>%{x}</extra>",
            ),
            go.Bar(
                x=x,
                y=allow,
                name="Allowance",
                marker_color="#c0392b",
                customdata=[f"{money(a, currency)} at {r:.1%}" for a, r in zip(allow, rate)],
                hovertemplate="Allowance %{customdata}<extra>%{x}</extra>",
            ),
        ]
    )
    fig.update_layout(title=f"Gross and allowance by days past due ({currency})", barmode="group", **LAYOUT)
    _money_axis(fig, max(gross + [0.0]), currency)
    return fig
