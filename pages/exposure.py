"""Credit exposure: AR plus open orders against credit limits, by segment, region and risk class."""

import polars as pl
import streamlit as st

from dashboard.metrics import exposure, limits
from dashboard.present import charts
from dashboard.present.formatting import count, money, pct
from dashboard.risk.scorecard import CLASSES
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
s = common.cached_scores(eng.snapshot.id, t, f, eng)

st.title("Credit exposure")
st.caption(
    f"As of {t:%d %B %Y}, in {cur}. Exposure = AR + open orders; limit used = exposure / credit limit, "
    "over the customers that have a limit. A credit limit covers all of a customer's currencies, so exposure "
    "here always counts every currency of origin."
)
if f.currencies:
    st.info(common.currency_note(f), icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)

k = exposure.tiles(s)
watch = exposure.watch_list(s)
near = f"{limits.NEAR_LIMIT:.0%}"
tiles = [
    (
        "Exposure (every currency)" if f.currencies else "Exposure",
        money(k["exposure"], cur, compact=True),
        "AR + open orders of the customers in the selection, in every currency of origin.",
    ),
    ("Credit limits", money(k["credit_limits"], cur, compact=True), f"Sum of the limits of the {k['customers_with_limit']:,} customers that have one."),
    ("Limit used", pct(k["limit_used"]), "Exposure of the customers with a limit / their limits."),
    ("Over limit", count(k["over_limit"]), "Customers whose exposure is above their limit (a limit of 0 means no credit: any exposure is over)."),
    (f"Near limit (> {near})", count(k["near_limit"]), f"Customers using more than {near} of their limit, not over it."),
    ("No limit", count(k["no_limit"]), "Customers without a credit limit: shown as such, never as 0 % used."),
    (
        "Top-10 share of exposure",
        pct(k["top10_share_of_exposure"]),
        "Exposure of the 10 customers with the largest exposure / the exposure of every customer with some. "
        "Not the overview's top-10 share of AR, which ranks customers by AR.",
    ),
]
cols = st.columns(4)
for i, (label, value, help_) in enumerate(tiles):
    cols[i % 4].metric(label, value, help=help_, border=True)

dim = st.radio("Exposure by", ["segment", "region", "risk class"], horizontal=True, key="exp_dim", format_func=str.capitalize)
key = "risk_class" if dim == "risk class" else dim
table = exposure.by(s.with_columns(pl.col("risk_class").fill_null("no score")), key)
# Exposure against limits first (what the page is about), then what the exposure is made of.
tables.show(
    table.sort(key) if key == "risk_class" else table,
    cur,
    column_order=(
        key,
        "exposure",
        "credit_limit",
        "utilization",
        "over_limit",
        "near_limit",
        "ar",
        "ar_overdue",
        "open_orders",
        "customers",
        "customers_with_limit",
    ),
    widths={"over_limit": "small", "near_limit": "small", "customers": "small", "customers_with_limit": "small"},
)

left, right = st.columns(2)
left.plotly_chart(charts.utilisation_bars(exposure.utilisation_bins(s), cur), width="stretch", key="exp_util")
right.plotly_chart(charts.exposure_heatmap(exposure.heatmap(s, CLASSES), cur), width="stretch", key="exp_heat")

st.subheader(f"Over or near the limit ({watch.height:,})")
st.caption("Click a row to open the customer.")
shown = watch.select("customer_id", "name", "utilization", "status", "exposure", "credit_limit", "headroom", "risk_class", "segment")
ev = tables.show(shown, cur, on_select="rerun", selection_mode="single-row", key="exp_watch")
if (cid := common.picked_row(ev, shown)) is not None:
    common.open_customer(cid)

st.plotly_chart(charts.pareto_curve(exposure.pareto(s)), width="stretch", key="exp_pareto")
