"""One customer: profile and limit, exposure, aging, open documents, payment history, orders, score, disputes."""

import polars as pl
import streamlit as st

from dashboard.collections.followup import followup_of
from dashboard.metrics.customer import find, view
from dashboard.prediction import report as prediction
from dashboard.present import charts
from dashboard.present.formatting import NA, days, money, pct
from dashboard.present.labels import bucket_label
from dashboard.risk import scorecard as risk
from pages import common, tables
from pages import decision_forms as forms
from pages.tables import plain
from pages.workbench_panel import workbench_panel

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
st.title("Customer")
common.nothing_open_notice(eng, t, common.Filters())

# Search by id or name; a click elsewhere in the app arrives through session state or ?customer=ID.
if "customer" in st.query_params and "customer_id" not in st.session_state:
    st.session_state["customer_id"] = st.query_params["customer"]
c1, c2 = st.columns([1, 2])
text = c1.text_input("Find a customer (id or name)", key="cust_search", placeholder="e.g. C000239 or Pioneer")
current = st.session_state.get("customer_id")
if text:
    hits = find(eng, text, limit=51)
    more = hits.height > 50
    hits = hits.head(50)
    if hits.height == 0:
        c2.warning(f"No customer id or name contains '{plain(text)}'.")
    else:
        # option labels are plain text (never markdown): the ledger's names as they are
        labels = [f"{r['customer_id']} · {r['name'] or '(no name)'} ({r['segment'] or NA})" for r in hits.iter_rows(named=True)]
        ids = hits["customer_id"].to_list()
        choice = c2.selectbox(
            "More than 50 matches: the first 50 (type more to narrow)" if more else f"{hits.height} match(es)",
            labels,
            index=ids.index(current) if current in ids else 0,
            key="cust_pick",
        )
        current = ids[labels.index(choice)]
        st.session_state["customer_id"] = current
if not current:
    st.info("Search for a customer above, or click one in the at-risk list, the exposure page or the overview.")
    st.stop()

scores = common.cached_scores(eng.snapshot.id, t, common.Filters(), eng)
v = view(eng, current, t, scores)
if v is None:
    st.error(f"There is no customer '{plain(current)}' in this snapshot.")
    st.stop()
r = v.row
st.query_params["customer"] = current

# Names, ids, segments and classes come from the ledger: written as text, never read as markdown.
st.subheader(f"{plain(r['customer_id'])} · {plain(r['name']) if r['name'] else '(no name)'}")
facts = [
    f"Segment **{plain(r['segment'])}**",
    f"region **{plain(r['region'])}**",
    f"credit limit **{money(r['credit_limit'], cur) if r['credit_limit'] is not None else 'none'}**",
    f"risk class **{plain(r['risk_class'])}** (score {r['score']:.1f})" if r["score"] is not None else "no score",
]
if r["master_risk_class"]:
    facts.append(f"class in the master **{plain(r['master_risk_class'])}**")
if r["thin_file"]:
    facts.append(":orange-badge[thin file: scored from what is known]" if r["score"] is not None else ":orange-badge[thin file: nothing to score yet]")
# a dunning block set on the Collections page: no letter goes to this customer, said where its page starts
block = followup_of(common.store(), current)
if block.get("dunning_block_reason"):
    since = f" since {block['dunning_block_on']}" if block.get("dunning_block_on") else ""
    facts.append(f":red-badge[:material/block: dunning block: {plain(block['dunning_block_reason'])} (set by {plain(block.get('dunning_block_by'))}{since})]")
st.markdown(" · ".join(facts) + f" · as of {t:%d %B %Y}")

g, m = st.columns([1, 2])
with g:
    if r["utilization"] is not None:
        st.plotly_chart(charts.utilisation_gauge(r["utilization"]), width="stretch", key="cust_gauge")
    elif r["credit_limit"] is None:
        st.info("No credit limit: exposure is not measured against one (not 0 % used).", icon=":material/info:")
    else:
        st.warning("Credit limit 0 (no credit): any exposure is over the limit.", icon=":material/block:")
with m:
    a, b, c = st.columns(3)
    a.metric("Exposure", money(r["exposure"], cur, compact=True), border=True, help=f"AR + open orders: {money(r['exposure'], cur)}")
    b.metric("AR", money(r["ar"], cur, compact=True), border=True, help=money(r["ar"], cur))
    c.metric("Open orders", money(r["open_orders"], cur, compact=True), border=True, help=money(r["open_orders"], cur))
    a.metric("Overdue", money(r["ar_overdue"], cur, compact=True), border=True, help=money(r["ar_overdue"], cur))
    b.metric(
        "Headroom",
        money(r["headroom"], cur, compact=True) if r["headroom"] is not None else "no limit",
        border=True,
        help="Limit minus exposure; negative = over the limit",
    )
    c.metric(
        "Days late (paid, 365 days)",
        days(r["paid_days_late"]),
        border=True,
        help="Average days paid after the due date (0 when on time or early), weighted by amount, over the documents paid in the last 365 days.",
    )

# A limit request and a dispute case from here (issue 15): a pending request is said to every role, the forms are
# drawn for a credit analyst and above only (the core checks the role again; pages/decision_forms.py).
user, store = common.user(), common.store()
forms.said("cust_done")
if pending := forms.limit_state(store, current, cur):
    st.info(plain(pending), icon=":material/pending_actions:")
if forms.may_work(user):
    lf, rf = st.columns(2)
    with lf.expander("Request a limit", icon=":material/request_quote:"):
        forms.request_limit(eng, store, user, t, current, "cust_limit", "cust_done")
    with rf.expander("Open a dispute case", icon=":material/add_task:"):
        forms.open_case(eng, store, user, t, current, v.open_documents, "cust_case", "cust_done")

st.markdown("**Score, factor by factor**")
st.caption(
    "Points: a straight line from the '0 points' value to the '100 points' value of the settings. "
    "Contribution = points x weight / sum of the weights of the factors with a value. The contributions add up to the score."
)
tables.show(risk.breakdown(r, eng.settings.risk), cur, key="cust_score")

left, right = st.columns(2)
aging = v.aging(eng.settings.bucket_names)
with left:
    st.markdown("**Aging**")
    tables.show(aging.select(pl.col("name").map_elements(bucket_label, return_dtype=pl.Utf8).alias("bucket"), "ar", "documents"), cur, key="cust_aging")
with right:
    st.markdown(f"**Open orders** ({v.orders.height:,})")
    tables.show(
        v.orders,
        cur,
        column_order=("order_id", "order_date", "amount_base", "amount_original", "currency"),
        widths={"currency": "small"},
        key="cust_orders",
    )

st.plotly_chart(charts.payment_history(v.paid_documents), width="stretch", key="cust_history")

# Open amount and lateness first; the document's own amount and currency beside each other.
DOC_ORDER = ("invoice_id", "open_amount_base", "days_past_due", "due_date", "invoice_date", "document_type", "amount_original", "currency", "disputed")
st.markdown(f"**Open documents** ({v.open_documents.height:,}, {money(v.open_documents['open_amount_base'].sum(), cur)})")
tables.show(v.open_documents, cur, column_order=DOC_ORDER, key="cust_docs")
# Late-payment prediction (prediction.md): this customer's open invoices with their probabilities, from the At-risk page's model.
lp = common.prediction_or_wait(eng, t)  # trained on a thread of its own: the page does not wait for it
share = prediction.customer_share(eng, int(r["customer_key"]), t) if lp is not None else None
if lp is not None:
    st.markdown(
        f"**Late-payment prediction**: {pct(share[1])} of its open invoices ({money(share[0], cur)}) predicted to be paid late"
        if share
        else "**Late-payment prediction**: no open invoice to predict"
    )
    st.caption(lp.skill.sentence())
if lp is not None and share:
    tables.show(
        prediction.ranked(eng, t, customer_key=int(r["customer_key"])).drop("customer_id").with_columns(pl.col("top_factors").list.join("; ")),
        cur,
        widths={"top_factors": 360},
        key="cust_predict",
    )
st.markdown(f"**Disputes** ({v.disputes.height:,} open, {money(v.disputes['open_amount_base'].sum(), cur)}; {pct(r['disputes'])} of AR)")
tables.show(v.disputes, cur, column_order=DOC_ORDER, key="cust_disputes")

# The team's side, last on the page: notes, contacts, the collector, and the timeline of ledger and workbench events.
workbench_panel(eng, current, v.documents, t)
