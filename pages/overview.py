"""Executive overview: receivables, DSO, collection, exposure at a glance."""

import polars as pl
import streamlit as st

from dashboard.metrics.kpis import formulas
from dashboard.present import charts
from dashboard.present.formatting import count, days, money, pct, signed_count, signed_days, signed_money, signed_pts
from dashboard.present.formatting import delta as change
from pages import common

eng = common.engine()
t, f = common.as_of(eng), common.filters()
ov = common.cached_overview(eng.snapshot.id, t, f, eng)
h, p = ov.headline, ov.prior
cur = h["base_currency"]
FORMULAS = formulas(eng.settings)

st.title("Executive overview")
st.caption(f"As of {t:%d %B %Y} · changes against the prior month-end ({p['as_of']}) · amounts in {cur}")
if f.currencies:
    st.info(common.currency_note(f, receivables=True), icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)


def delta(key: str, fmt) -> str | None:
    """The change against the prior month-end; None (no arrow) when it reads as zero or is n/a."""
    return change(h[key], p[key], fmt)


# (figure, value, change, colour of the change); the label and the (?) come from FORMULAS
TILES = [
    ("ar_total", money(h["ar_total"], cur, compact=True), delta("ar_total", lambda x: signed_money(x, cur)), "normal"),
    ("pct_overdue", pct(h["pct_overdue"]), delta("pct_overdue", signed_pts), "inverse"),
    ("dso_standard", days(h["dso_standard"]), delta("dso_standard", signed_days), "inverse"),
    ("dso_countback", days(h["dso_countback"]), delta("dso_countback", signed_days), "inverse"),
    ("bpdso", days(h["bpdso"]), delta("bpdso", signed_days), "inverse"),
    ("add", days(h["add"]), delta("add", signed_days), "inverse"),
    ("cei", pct(h["cei"], already_percent=True), delta("cei", lambda x: signed_pts(x, 1)), "normal"),
    ("adp", days(h["adp"]), delta("adp", signed_days), "inverse"),
    ("disputed_ar", money(h["disputed_ar"], cur, compact=True), delta("disputed_ar", lambda x: signed_money(x, cur)), "inverse"),
    ("exposure_total", money(h["exposure_total"], cur, compact=True), delta("exposure_total", lambda x: signed_money(x, cur)), "off"),
    ("over_limit_customers", count(h["over_limit_customers"]), delta("over_limit_customers", signed_count), "inverse"),
    ("concentration_top10", pct(h["concentration_top10"]), delta("concentration_top10", signed_pts), "inverse"),
]


def label(key: str) -> str:
    if key == "exposure_total" and f.currencies:
        return f"Exposure in {', '.join(f.currencies)}"
    return FORMULAS[key].label


for row in range(0, len(TILES), 4):
    cols = st.columns(4)
    for col, (key, value, d, color) in zip(cols, TILES[row : row + 4]):
        # height="stretch": a tile without a change (None: it reads as zero) stands as tall as its neighbours
        col.metric(label(key), value, d, delta_color=color, help=FORMULAS[key].text, border=True, height="stretch")

left, right = st.columns(2)
left.altair_chart(charts.dso_trend(ov.trend), width="stretch", key="dso_trend")
right.altair_chart(charts.ar_trend(ov.trend, cur), width="stretch", key="ar_trend")

left, right = st.columns(2)
left.altair_chart(charts.aging_by(ov.aging, "segment", eng.settings.bucket_names, cur), width="stretch", key="aging_segment")
# A bar chart rather than a table: the page draws no data grid (measured: the overview settles
# ~0.15 s sooner), and a click on a bar opens the customer as a click on a row did.
ev = right.altair_chart(charts.top_overdue(ov.top_overdue, cur), width="stretch", on_select="rerun", selection_mode="pick", key="ov_top")
right.caption("Hover a bar for exposure and limit used; click it to open the customer.")
if (cid := common.picked_point(ev, "pick", "customer_id")) is not None:
    common.open_customer(cid)

with st.expander("How each figure is computed", icon=":material/function:"):
    st.markdown(
        "Amounts are in the base currency; an as-of date is the end of that day. A ratio whose denominator is zero or negative is shown as n/a, never as 0."
    )
    st.table(pl.DataFrame({"Figure": [x.label for x in FORMULAS.values()], "How it is computed": [x.text for x in FORMULAS.values()]}))
