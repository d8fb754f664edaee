"""Credit exposure: AR plus open orders against credit limits, by segment, region and risk class."""

import polars as pl
import streamlit as st

from dashboard.metrics import exposure
from dashboard.present import charts
from dashboard.present.formatting import count, money, pct
from dashboard.risk.scorecard import CLASSES
from pages import common

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
s = common.cached_scores(eng.snapshot.id, t, f, eng)

st.title("Credit exposure")
st.caption(
    f"As of {t:%d %B %Y}, in {cur}. Exposure = AR + open orders (kpis.md); utilisation = exposure / credit limit, "
    "over customers that have a limit. All currencies of origin (the currency filter applies to receivables pages)."
)

with_limit = s.filter(pl.col("credit_limit").is_not_null())
watch = exposure.watch_list(s)
over = watch.filter(pl.col("status") == "over limit")
total_limit = with_limit["credit_limit"].sum()
tiles = [
    ("Exposure", money(s["exposure"].sum(), cur, compact=True), "AR + open orders of every customer in the selection."),
    ("Credit limits", money(total_limit, cur, compact=True), f"Sum of the limits of the {with_limit.height:,} customers that have one."),
    ("Limit used", pct(with_limit["exposure"].sum() / total_limit if total_limit > 0 else None), "Exposure of customers with a limit / their limits."),
    ("Over limit", count(over.height), "Customers whose exposure is above their limit (a limit of 0 means no credit: any exposure is over)."),
    ("Near limit (> 80 %)", count(watch.height - over.height), "Customers using more than 80 % of their limit, not over it."),
    ("No limit", count(s.height - with_limit.height), "Customers without a credit limit: shown as such, never as 0 % used."),
    ("Top-10 share", pct(exposure.top10_share(s)), "Exposure of the 10 largest customers / all positive exposure."),
]
cols = st.columns(4)
for i, (label, value, help_) in enumerate(tiles):
    cols[i % 4].metric(label, value, help=help_, border=True)

money_col = st.column_config.NumberColumn(format="accounting")
cfg = {
    "customers": "Customers",
    "customers_with_limit": "With a limit",
    "ar": st.column_config.NumberColumn(f"AR ({cur})", format="accounting"),
    "open_orders": st.column_config.NumberColumn(f"Open orders ({cur})", format="accounting"),
    "exposure": st.column_config.NumberColumn(f"Exposure ({cur})", format="accounting"),
    "credit_limit": st.column_config.NumberColumn(f"Limits ({cur})", format="accounting"),
    "exposure_with_limit": None,
    "over_limit": "Over limit",
    "near_limit": "Near limit",
    "utilization": st.column_config.NumberColumn("Limit used", format="percent"),
}
dim = st.radio("Exposure by", ["segment", "region", "risk class"], horizontal=True, key="exp_dim")
key = "risk_class" if dim == "risk class" else dim
table = exposure.by(s.with_columns(pl.col("risk_class").fill_null("no score")), key)
st.dataframe(table.sort(key) if key == "risk_class" else table, hide_index=True, placeholder="–", width="stretch", column_config=cfg | {key: dim.capitalize()})

left, right = st.columns(2)
left.plotly_chart(charts.utilisation_bars(exposure.utilisation_bins(s)), width="stretch", key="exp_util")
right.plotly_chart(charts.exposure_heatmap(exposure.heatmap(s, CLASSES), cur), width="stretch", key="exp_heat")

st.subheader(f"Over or near the limit ({watch.height:,})")
st.caption("Click a row to open the customer.")
shown = watch.select("customer_id", "name", "segment", "risk_class", "status", "exposure", "credit_limit", "headroom", "utilization")
ev = st.dataframe(
    shown,
    hide_index=True,
    placeholder="–",
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="exp_watch",
    column_config={
        "customer_id": "Customer",
        "name": "Name",
        "segment": "Segment",
        "risk_class": "Class",
        "status": "Status",
        "exposure": st.column_config.NumberColumn(f"Exposure ({cur})", format="accounting"),
        "credit_limit": st.column_config.NumberColumn(f"Limit ({cur})", format="accounting"),
        "headroom": st.column_config.NumberColumn(f"Headroom ({cur})", format="accounting", help="Limit minus exposure; negative = over"),
        "utilization": st.column_config.NumberColumn("Limit used", format="percent"),
    },
)
if (cid := common.picked_row(ev, shown)) is not None:
    common.open_customer(cid)

st.plotly_chart(charts.pareto_curve(exposure.pareto(s)), width="stretch", key="exp_pareto")
