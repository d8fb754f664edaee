"""At-risk customers: ranked by risk score x exposure, with the reasons, and the score's measured skill."""

import polars as pl
import streamlit as st

from dashboard.risk import scorecard as risk
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
s = common.cached_scores(eng.snapshot.id, t, f, eng)

st.title("At-risk customers")
st.caption(
    f"As of {t:%d %B %Y}. Ranked by score x exposure: the trouble to expect, in {cur}. The score (0 = safe, 100 = risky) is a scorecard "
    "whose every point is shown on the customer's page; its skill is measured below on this ledger's own history."
)
if f.currencies:
    st.info(common.currency_note(f), icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)

bt = common.cached_backtest(eng.snapshot.id, t, eng)
c1, c2, c3 = st.columns([1, 1, 2])
c1.metric(
    "Backtest AUC",
    "n/a" if bt["auc"] is None else f"{bt['auc']:.2f}",
    border=True,
    help="Customers scored at T-90 with what was known then; event = an amount more than 60 days past due at a month-end "
    "in (T-90, T], among those with none at T-90. AUC = the chance a customer with the event scored higher than one "
    "without (0.5 = no skill, 1 = perfect).",
)
c2.metric("Events / customers", f"{bt['events']:,} / {bt['customers']:,}", border=True, help=f"Scored at {bt['scored_at']}.")
with c3:
    st.markdown("**Event rate by class (backtest)**")
    tables.show(bt["by_class"], cur)

classes = st.multiselect("Risk class", list(risk.CLASSES), key="ar_classes", placeholder="All classes")
ranked = risk.rank(s, tuple(classes))
LISTED = 500  # on screen; the downloads hold every customer of the selection


def table(rows: pl.DataFrame) -> pl.DataFrame:
    """The list as shown and exported: who, why, then what is at stake."""
    return rows.with_columns(risk.reasons(rows).list.join("; ").alias("reasons")).select(
        "customer_id",
        "name",
        "reasons",
        pl.col("score").round(1),
        "risk_class",
        "master_risk_class",
        "exposure",
        pl.col("ar_overdue").alias("overdue"),
        "utilization",
        "expected_trouble",
        "thin_file",
        "segment",
        "region",
    )


shown = table(ranked.head(LISTED))
if ranked.height == 0:
    st.info(
        f"No customer has any exposure (AR or open orders) at {t:%d %B %Y}: nothing is at risk. "
        "Choose an earlier as-of date in the sidebar to see the list as it was.",
        icon=":material/info:",
    )
st.caption(
    f"{ranked.height:,} customers with exposure{f' (the first {LISTED} listed; the downloads hold all {ranked.height:,})' if ranked.height > LISTED else ''}. Click a row to open the customer."
)
# Who and why first, wide and wrapped (280 px, three lines) so that the reasons are read, not scrolled to; then what is at
# stake. Segment, region and the thin-file flag are in the sidebar's filters, the customer's page and the exports.
ev = tables.show(
    shown,
    cur,
    column_order=(
        "customer_id",
        "name",
        "reasons",
        "expected_trouble",  # the figure the list is ranked by, in view beside the reasons (it was cut at the right edge)
        "score",
        "risk_class",
        "master_risk_class",
        "exposure",
        "overdue",
        "utilization",
    ),
    widths={"reasons": 280, "score": 90, "risk_class": 55, "master_risk_class": "small", "utilization": "small"},
    row_height=72,  # above 4rem a cell wraps its text (Streamlit): the reasons over two or three lines
    height=640,  # eight customers at a glance
    on_select="rerun",
    selection_mode="single-row",
    key="ar_table",
)
if (cid := common.picked_row(ev, shown)) is not None:
    common.open_customer(cid)

d1, d2, _ = st.columns([1, 1, 4])
every = shown if ranked.height <= LISTED else table(ranked)
key = (t, f, tuple(classes))
d1.download_button(
    "Download CSV",
    common.cached_export(eng.snapshot.id, key, "csv", "at risk", every, cur),
    f"at_risk_{t.isoformat()}.csv",
    "text/csv",
    icon=":material/download:",
    key="ar_csv",
)
d2.download_button(
    "Download Excel",
    common.cached_export(eng.snapshot.id, key, "xlsx", "at risk", every, cur),
    f"at_risk_{t.isoformat()}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="ar_xlsx",
)
with st.expander("How the score is made", icon=":material/function:"):
    rs = eng.settings.risk
    st.markdown(
        "Each factor becomes 0-100 risk points by a straight line between two values (flat outside), so more risk never "
        "scores lower. The score is the weighted mean of the points of the factors a customer has a value for. "
        f"Classes: A below {rs.class_edges[0]:g}, B below {rs.class_edges[1]:g}, C below {rs.class_edges[2]:g}, "
        f"D below {rs.class_edges[3]:g}, E from {rs.class_edges[3]:g}. Thin file: fewer than {rs.thin_file_documents} documents "
        "paid in the last 365 days or open. Weights and scales live in the settings file ([risk])."
    )
    tables.show(
        pl.DataFrame(
            {
                "factor": list(risk.FACTOR_WORDS.values()),
                "weight": [rs.weights[k] for k in risk.FACTOR_WORDS],
                # each scale in the factor's own unit (days, share of AR, score), as on the customer's page
                "zero_points_at": [risk.FACTOR_VALUE_TEXT[k](rs.scales[k][0]) for k in risk.FACTOR_WORDS],
                "full_points_at": [risk.FACTOR_VALUE_TEXT[k](rs.scales[k][1]) for k in risk.FACTOR_WORDS],
            }
        ),
        cur,
        key="ar_how",
    )
