"""At-risk customers: ranked by risk score x exposure, with the reasons, and the score's measured skill."""

import polars as pl
import streamlit as st

from dashboard.prediction import report as prediction
from dashboard.risk import scorecard as risk
from pages import common, tables
from pages import decision_forms as forms
from pages.tables import plain

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


top = risk.rank(s, tuple(classes), top=LISTED)  # only the rows listed are gathered
n_ranked = risk.ranked_count(s, tuple(classes))
shown = table(top)
if n_ranked == 0:
    st.info(
        f"No customer has any exposure (AR or open orders) at {t:%d %B %Y}: nothing is at risk. "
        "Choose an earlier as-of date in the sidebar to see the list as it was.",
        icon=":material/info:",
    )
st.caption(
    f"{n_ranked:,} customers with exposure{f' (the first {LISTED} listed; the downloads hold all {n_ranked:,})' if n_ranked > LISTED else ''}. Click a row to open the customer."
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

# A limit request for a customer of the list (issue 15), for a credit analyst and above: a click on a row opens the
# customer, so the customer is chosen in a box here (pages/decision_forms.py; the core checks the role again).
user, store = common.user(), common.store()
forms.said("ar_done")
if forms.may_work(user):
    with st.expander("Request a limit for a customer of the list", icon=":material/request_quote:", expanded=st.session_state.get("ar_limit_for") is not None):
        names = dict(shown.select("customer_id", "name").iter_rows())
        who = st.selectbox(
            "Request a limit for",
            [None, *names],
            format_func=lambda c: "Choose..." if c is None else f"{c} · {names[c] or '(no name)'}",
            key="ar_limit_for",
        )
        if who is not None:
            if pending := forms.limit_state(store, who, cur):
                st.info(plain(pending), icon=":material/pending_actions:")
            forms.request_limit(eng, store, user, t, who, "ar_limit", "ar_done")

d1, d2, _ = st.columns([1, 1, 4])
every = (lambda: shown) if n_ranked <= LISTED else (lambda: table(risk.rank(s, tuple(classes))))  # built only on a cache miss
key = (t, f, tuple(classes))
d1.download_button(
    "Download CSV",
    common.deferred_export(eng.snapshot.id, key, "csv", "at risk", every, cur),
    f"at_risk_{t.isoformat()}.csv",
    "text/csv",
    icon=":material/download:",
    key="ar_csv",
)
d2.download_button(
    "Download Excel",
    common.deferred_export(eng.snapshot.id, key, "xlsx", "at risk", every, cur),
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

# ------------------------------------------------------------------ late-payment prediction (prediction.md)
st.subheader("Late-payment prediction")
pr = common.prediction_or_wait(eng, t)  # trained once per snapshot and date, on a thread of its own
if pr is None:
    st.stop()  # the rest of the page is drawn; this section fills in when the model is ready
lp, sk = prediction.model_json(pr), pr.skill
na = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
p1, p2, p3, p4 = st.columns([1, 1, 1.6, 1])  # the interval "+0.035 to +0.045" needs the room
p1.metric("Model AUC (backtest)", na(lp["auc"]), border=True, help="Gradient-boosted trees on what was known at each invoice date")
p2.metric("Baseline AUC", na(lp["baseline_auc"]), border=True, help="The customer's prior late rate, shrunk toward the overall rate with weight 5")
p3.metric(
    "Model - baseline (90 %)",
    "n/a" if lp["diff_ci"] is None else f"{lp['diff_ci'][0]:+.3f} to {lp['diff_ci'][1]:+.3f}",
    border=True,
    help="Bootstrap interval (1,000 resamples of the test rows) of the difference in AUC",
)
rate = "n/a" if lp["event_rate"] is None else f"{lp['event_rate']:.0%}"
p4.metric(
    "Test invoices / late", f"{lp['test_rows']:,} / {rate}", border=True, help="Backtest invoices pooled over the four windows, and the share settled late"
)
(st.success if lp["used"] == "model" else st.info)(sk.sentence(), icon=":material/insights:")
inv = prediction.ranked(eng, t, top=500, f=f).with_columns(pl.col("top_factors").list.join("; "))
st.caption(
    f"The open invoices at {t:%d %B %Y}{' of the selection' if f != common.Filters() else ''} ranked by probability x open amount"
    f"{' (the first 500)' if inv.height == 500 else ''}. The model and its skill are the whole ledger's. "
    "Backtest: four 90-day windows before the as-of date, each scored by a model trained on what was settled before it."
)
tables.show(
    inv,
    cur,
    column_order=("invoice_id", "customer_id", "open", "due_date", "p_late", "expected_late", "top_factors"),
    widths={"top_factors": 360},
    key="ar_predict",
)
