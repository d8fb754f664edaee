"""Collections: the live worklist (whom to call first, and why), the promise KPIs, and from a row the
customer's open items, a contact, a promise, a resubmission date and a dunning block."""

import datetime as dt

import polars as pl
import streamlit as st

from dashboard.collections import followup, promises
from dashboard.collections import worklist as wl
from dashboard.metrics.customer import view
from dashboard.present.exports import to_csv, to_excel
from dashboard.present.formatting import NA, money
from dashboard.risk.scorecard import CLASSES
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import notes
from dashboard.workbench.assignment import Roster
from dashboard.workbench.identity import AccessDenied
from dashboard.workbench.timeline import timeline
from pages import common, tables
from pages import decision_forms as forms
from pages.tables import plain

eng = common.engine()
t = common.as_of(eng)
f = common.filters()
cur = eng.settings.base_currency
user = common.user()
store = common.store()
digest = data_sha256(eng.snapshot.manifest["source_files"])
ctx = notes.Context(t, eng.snapshot.id, digest, Roster.of(eng, common.settings()))
cs = eng.settings.collections

st.title("Collections")
st.caption(
    f"Live from snapshot `{eng.snapshot.id}` and the team's workbench at {t:%d %b %Y}: priority = 100 x the points of the rules a "
    f"customer meets / {wl.max_points(cs)} points (the strategy in the settings' [collections]). Exit rules take a customer off the list."
)
if done := st.session_state.pop("co_done", None):
    st.success(done, icon=":material/check_circle:")
forms.said("co_case_done")  # a case opened on this page: its message names ledger ids, said as text

# Live: the workbench changes between reruns (a promise, a contact), so nothing here is cached but the scorecard.
scores = common.cached_scores(eng.snapshot.id, t, f, eng)
ev = promises.evaluate(eng, promises.stored(store), t, cs.promise_tolerance_days)
work = wl.worklist(eng, store, t, f, scores=scores, evaluated=ev)
k = promises.kpis(ev, promises.overdue_ar(eng, t), t, cs.promise_kpi_days)

a, b, c, d = st.columns(4)
a.metric(
    "On the worklist",
    f"{work.rows.height:,}",
    border=True,
    help=f"Customers no exit rule takes off the list; {work.exited.height:,} with something overdue are off it.",
)
a_rate = NA if k["promise_kept_rate"] is None else f"{k['promise_kept_rate']:.1%}"
b.metric(
    "Promise kept rate",
    a_rate,
    border=True,
    help=f"Paid toward promises / amount promised, over the promises whose window (promised date + {cs.promise_tolerance_days} days) ended in the {cs.promise_kpi_days} days to the as-of date.",
)
c.metric(
    "Broken promises",
    f"{k['broken_promises']:,}",
    border=True,
    help=f"Promises with nothing paid by their promised date + {cs.promise_tolerance_days} days, among those ending in the {cs.promise_kpi_days} days to the as-of date.",
)
d.metric(
    "Overdue AR promised",
    NA if k["promised_share"] is None else f"{k['promised_share']:.1%}",
    border=True,
    help="Amount still open of the open promises / overdue AR at the as-of date.",
)

# ---------------------------------------------------------------------------------------- filter and sort
collectors = sorted(x for x in work.rows["collector"].unique().to_list() if x)
f1, f2, f3, f4 = st.columns([1, 1, 1, 1])
mine = f1.toggle("My worklist", key="co_mine", value=bool(user and not user.has("credit_analyst")), help="Only the customers assigned to you.")
who = f2.selectbox("Collector", ["Every collector", "Unassigned", *collectors], key="co_collector", disabled=mine)
classes = f3.multiselect("Risk class", list(CLASSES), key="co_classes", placeholder="Every class")
SORTS = {
    "Priority (the strategy's order)": None,
    "Collectible, largest first": ("collectible", True),
    "Oldest item, oldest first": ("oldest_dpd", True),
    "Last contact, longest ago first": ("last_contact", False),
}
order = f4.selectbox("Sort", list(SORTS), key="co_sort")

# The same filter for the list and for the customers taken off it.
keep = pl.lit(True)
if mine and user is not None:
    keep = pl.col("collector") == user.name
elif who == "Unassigned":
    keep = pl.col("collector").is_null()
elif who != "Every collector":
    keep = pl.col("collector") == who
if classes:
    keep = keep & pl.col("risk_class").is_in(classes)
rows = work.rows.filter(keep)
off = work.exited.filter(keep)
if (how := SORTS[order]) is not None:
    rows = rows.sort([how[0], "customer_id"], descending=[how[1], False], nulls_last=True)

shown = rows.with_columns(dunning_block=pl.when(pl.col("dunning_block_reason").is_not_null()).then(pl.col("dunning_block_reason")))
COLS = (
    "customer_id",
    "name",
    "priority",
    "collectible",
    "oldest_dpd",
    "why",
    "overdue",
    "promised_open",
    "broken_365",
    "last_contact",
    "resubmission_date",
    "dunning_block",
    "collector",
    "risk_class",
)
frame = shown.select(COLS)
st.caption(f"{frame.height:,} customer{'' if frame.height == 1 else 's'}, {money(float(frame['collectible'].sum()), cur)} collectible. Click a row to work it.")
# A new key after each action: a selection kept by row number would otherwise point at whichever
# customer moved into that row (the one just worked often leaves the list), and the panel would
# switch customers under the collector's hands.
grid_key = f"co_grid_{st.session_state.get('co_acted', 0)}"
event = tables.show(frame, cur, key=grid_key, on_select="rerun", selection_mode="single-row", widths={"why": 320}, row_height=72)
# "Rules met (points)" wraps over three lines at 320 px: read in full, and the columns to its right stay in view
e1, e2, _ = st.columns([1, 1, 3])
e1.download_button("Download CSV", to_csv(frame, cur), f"worklist_{t}.csv", "text/csv", icon=":material/download:", key="co_csv")
e2.download_button(
    "Download Excel",
    to_excel(frame, "worklist", cur),
    f"worklist_{t}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="co_xlsx",
)

with st.expander(f"Off the list by an exit rule ({off.height:,} with something overdue)", icon=":material/do_not_disturb_on:"):
    gone = off.with_columns(exit_rules=pl.col("exit_rules").list.join(", ")).select("customer_id", "name", "exit_rules", "overdue", "collectible", "collector")
    tables.show(gone, cur, key="co_exited")

with st.expander(f"Promises to pay ({ev.height:,})", icon=":material/handshake:"):
    plist = ev.with_columns(invoice_ids=pl.col("invoice_ids").list.join(", ")).select(
        "promise_id", "customer_id", "amount", "paid", "state", "level", "made_on", "promised_date", "invoice_ids", "created_by"
    )
    tables.show(plist, cur, key="co_promises")

# ------------------------------------------------------------------------------------------ one customer
picked = common.picked_row(event, frame)
if picked is not None:
    st.session_state["co_customer"] = picked
current = st.session_state.get("co_customer")
if current is None or current not in set(work.rows["customer_id"].to_list()) | set(work.exited["customer_id"].to_list()):
    st.info("Click a row of the worklist to see its open items and to log a contact, a promise, a resubmission date or a dunning block.")
    st.stop()

row = work.rows.filter(pl.col("customer_id") == current)
row = row if row.height else work.exited.filter(pl.col("customer_id") == current)
r = row.row(0, named=True)
st.subheader(f"{plain(current)} · {plain(r['name']) if r['name'] else '(no name)'}")
st.markdown(
    f"Priority **{r['priority']:.1f}** · collectible **{money(r['collectible'], cur)}** · "
    f"collector **{plain(r['collector']) if r['collector'] else 'unassigned'}** · " + (f"rules met: {plain(r['why'])}" if r["why"] else "no rule met")
)
if st.button("Open the customer page", icon=":material/person_search:", key="co_open"):
    common.open_customer(current)

v = view(eng, current, t, scores)
if v is not None:
    st.markdown(f"**Open items** ({v.open_documents.height:,}, {money(float(v.open_documents['open_amount_base'].sum()), cur)})")
    tables.show(
        v.open_documents,
        cur,
        column_order=("invoice_id", "open_amount_base", "days_past_due", "due_date", "invoice_date", "disputed"),
        key="co_docs",
    )
mine_ev = ev.filter(pl.col("customer_id") == current)
if mine_ev.height:
    st.markdown(f"**Promises** ({mine_ev.height})")
    tables.show(
        mine_ev.with_columns(invoice_ids=pl.col("invoice_ids").list.join(", ")).select(
            "promise_id", "amount", "paid", "state", "level", "made_on", "promised_date", "invoice_ids"
        ),
        cur,
        key="co_cust_promises",
    )


if v is not None:
    with st.expander("Timeline: the ledger's events and the team's", icon=":material/timeline:"):
        tl = timeline(store, current, v.documents, promises=ev.filter(pl.col("customer_id") == current))
        tables.show(tl.drop("at"), cur, override={"detail": st.column_config.TextColumn("Detail", width="large")}, key="co_timeline")


def _acted() -> None:
    st.session_state["co_acted"] = st.session_state.get("co_acted", 0) + 1


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(str(exc), icon=":material/block:")
        return
    st.session_state["co_done"] = f"{message} (audit entry {w.seq})."
    _acted()
    st.rerun()


if user is None or not user.has("collector"):
    st.stop()
fu = followup.followup_of(store, current)
left, right = st.columns(2)
with left.form("co_contact", clear_on_submit=True, border=True):
    st.markdown("**Log a contact**")
    c1, c2 = st.columns(2)
    channel = c1.selectbox("Channel", notes.CHANNELS, key="co_channel")
    outcome = c2.selectbox("Outcome", notes.OUTCOMES, key="co_outcome")
    remark = st.text_input("Note (optional)", key="co_contact_note")
    if st.form_submit_button("Log contact", icon=":material/call:"):
        _act(lambda: notes.log_contact(store, user, ctx, current, channel, outcome, remark), "Contact logged")
with right.form("co_promise", clear_on_submit=True, border=True):
    st.markdown("**Record a promise to pay**")
    c1, c2 = st.columns(2)
    # Streamlit's number box cannot write thousands separators: the figure it starts from is written beside it in full
    amount = c1.number_input(f"Amount ({cur})", min_value=0.0, value=float(max(r["collectible"], 0.0)), step=100.0, format="%.2f", key="co_amount")
    c1.caption(f"Collectible now: {money(max(r['collectible'], 0.0), cur)}")
    when = c2.date_input("Promised for", value=t + dt.timedelta(days=7), min_value=t, key="co_when", format="YYYY-MM-DD")
    open_ids = v.open_documents.filter(pl.col("open_amount_base") > 0)["invoice_id"].to_list() if v is not None else []
    docs = st.multiselect("For these documents (optional: any)", open_ids, key="co_docs_for", placeholder="Any of the customer's documents")
    c3, c4 = st.columns(2)
    pnote = c3.text_input("Note (optional)", key="co_promise_note")
    made_in = c4.selectbox("Made in a contact", ["Not logged as a contact", *notes.CHANNELS], key="co_promise_channel")
    if st.form_submit_button("Record promise", icon=":material/handshake:"):
        channel_in = None if made_in == "Not logged as a contact" else made_in
        said = "Promise recorded" + (f" with the {channel_in} as a contact" if channel_in else "")
        _act(lambda: promises.record(store, user, ctx, eng, current, amount, when, None, docs, pnote, digest, channel_in), said)

l2, r2 = st.columns(2)
with l2.form("co_resub", border=True):
    st.markdown("**Resubmission date**")
    st.caption(f"Now: {fu['resubmission_date'] or 'none'}. The customer meets the rule 'resubmission due' from that day on.")
    resub = st.date_input(
        "Back on the list on", value=fu["resubmission_date"] or t + dt.timedelta(days=7), min_value=t, key="co_resub_date", format="YYYY-MM-DD"
    )
    s1, s2 = st.columns(2)
    if s1.form_submit_button("Set date", icon=":material/event:"):
        _act(lambda: followup.set_followup(store, user, ctx, current, resubmission=resub, version=fu["version"], data_sha256=digest), "Resubmission date set")
    if s2.form_submit_button("Clear date"):
        _act(
            lambda: followup.set_followup(store, user, ctx, current, resubmission=None, version=fu["version"], data_sha256=digest), "Resubmission date cleared"
        )
with r2.form("co_block", border=True):
    st.markdown("**Dunning block**")
    now = followup.block_text(fu["dunning_block_reason"], fu["dunning_block_by"], fu["dunning_block_on"])
    st.caption(f"Now: {plain(now) if now else 'no block'}. A blocked customer gets no dunning letter.")
    reason = st.text_input("Reason", key="co_block_reason", placeholder="e.g. price dispute under review")
    s1, s2 = st.columns(2)
    if s1.form_submit_button("Block dunning", icon=":material/block:"):
        _act(lambda: followup.set_followup(store, user, ctx, current, dunning_block=reason, version=fu["version"], data_sha256=digest), "Dunning blocked")
    if s2.form_submit_button("Lift the block"):
        _act(lambda: followup.set_followup(store, user, ctx, current, dunning_block=None, version=fu["version"], data_sha256=digest), "Dunning block lifted")

# A dispute case on this row's documents (issue 15), for a credit analyst and above (pages/decision_forms.py; the core
# checks the role again). Its documents leave the collectible amount: the grid gets a new key, as after every action.
if forms.may_work(user) and v is not None:
    with st.expander("Open a dispute case", icon=":material/add_task:"):
        forms.open_case(eng, store, user, t, current, v.open_documents, "co_case", "co_case_done", on_written=_acted)
