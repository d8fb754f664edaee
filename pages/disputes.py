"""Disputes: the KPIs at the as-of date, the cases (overdue ones first), unmanaged disputes with a one-click
case, a case's owner, status and resolution, the root causes (Pareto) and new vs solved per month."""

import json

import polars as pl
import streamlit as st

from dashboard.disputes import amounts, cases, charts, kpis
from dashboard.present.formatting import NA, money
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from pages import common, tables
from pages.tables import plain

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
user = common.user()
store = common.store()
ctx = notes.Context(t, eng.snapshot.id)
digest = data_sha256(eng.snapshot.manifest["source_files"])

st.title("Disputes")
st.caption(
    f"Cases from the team's workbench, amounts from snapshot `{eng.snapshot.id}` at {t:%d %b %Y}: open = disputed - paid (the ledger's "
    "settlements of the case's documents since it was opened) - credited - written off - cleared."
)
if done := st.session_state.pop("di_done", None):
    st.success(plain(done), icon=":material/check_circle:")

# Live: cases change between reruns, so nothing here is cached.
p = kpis.picture(eng, store, t)
k, c = p["kpis"], p["cases"]


def _f(x, fmt):
    return NA if x is None else fmt.format(x)


a, b, d, e = st.columns(4)
a.metric("Open cases", f"{k['open_cases']:,}", border=True, help="Cases new or in process at the as-of date.")
b.metric("Open in dispute", money(k["open_amount"], cur), border=True, help="The open amount of the open cases.")
d.metric("AR in dispute", _f(k["pct_ar_in_dispute"], "{:.1%}"), border=True, help="Disputed AR (documents flagged in the ledger or in an open case) / AR.")
e.metric("Overdue cases", f"{k['overdue_cases']:,}", border=True, help="Open cases past their deadline (opened on + the reason's days).")
a, b, d, e = st.columns(4)
a.metric("Average open age", _f(k["avg_open_age_days"], "{:,.1f} days"), border=True, help="Mean days since opening of the open cases.")
b.metric(
    "Cycle time (median)",
    _f(k["cycle_days_median"], "{:,.1f} days"),
    border=True,
    help="Resolution date - opened on, over the cases resolved in the 365 days to the as-of date.",
)
d.metric("Cycle time (P90)", _f(k["cycle_days_p90"], "{:,.1f} days"), border=True, help="90th percentile (linear interpolation) of the same cycle times.")
e.metric(
    "Write-off rate", _f(k["write_off_rate"], "{:.1%}"), border=True, help="Written off / disputed, over the cases resolved in the 365 days to the as-of date."
)

shown = c.with_columns(invoice_ids=pl.col("invoice_ids").list.join(", ")).sort(["overdue", "open"], descending=[True, True])
shown = shown.rename({"overdue": "overdue_case", "open": "open_in_case", "paid": "paid_on_case"})
COLS = (
    "case_id",
    "customer_id",
    "invoice_ids",
    "status",
    "reason",
    "owner",
    "opened_on",
    "deadline",
    "overdue_case",
    "original",
    "open_in_case",
    "paid_on_case",
    "credited",
    "written_off",
    "cleared_manually",
    "root_cause",
)
st.subheader(f"Cases ({shown.height:,})")
event = tables.show(shown.select(COLS), cur, key="di_cases", on_select="rerun", selection_mode="single-row")
if shown.filter(pl.col("proposed_close")).height:
    st.info(f"{shown.filter(pl.col('proposed_close')).height} open case(s) are paid in full by the ledger: resolve them as paid.", icon=":material/task_alt:")


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")  # ids and names from the ledger and users: text, never markdown
        return
    st.session_state["di_done"] = f"{message} (audit entry {w.seq})."
    st.rerun()


def _remember(key: str, clicked, known: list):
    """The row last clicked in a table (kept across reruns, as the Collections page keeps its customer); None once gone."""
    if clicked is not None:
        st.session_state[key] = clicked
    value = st.session_state.get(key)
    return value if value in known else None


may_work = user is not None and user.has("credit_analyst")
un = amounts.unmanaged(eng, c, t)
with st.expander(f"Unmanaged disputes: flagged in the ledger, no open case ({un.height:,})", icon=":material/report:", expanded=un.height > 0):
    pick = tables.show(
        un.select("invoice_id", "customer_id", "name", "open_amount", "days_past_due", "due_date"),
        cur,
        key="di_unmanaged",
        on_select="rerun",
        selection_mode="single-row",
    )
    row = _remember("di_document", common.picked_row(pick, un, "invoice_id"), un["invoice_id"].to_list())
    if row is not None and may_work:
        r = un.filter(pl.col("invoice_id") == row).row(0, named=True)
        if st.button(f"Open a case on {plain(row)} for {money(r['open_amount'], cur)} (reason: other)", key="di_open_unmanaged", icon=":material/add_task:"):
            _act(
                lambda: cases.open_case(store, user, ctx, eng, r["customer_id"], [row], r["open_amount"], "other", data_sha256=digest), f"Case opened on {row}"
            )

if may_work:
    with st.expander("Open a case", icon=":material/add_task:"):
        with st.form("di_open", border=False):
            c1, c2, c3 = st.columns(3)
            cust = c1.text_input("Customer", key="di_new_customer")
            ids = c2.text_input("Documents (comma-separated)", key="di_new_docs")
            amount = c3.number_input(f"Disputed amount ({cur})", min_value=0.0, step=100.0, key="di_new_amount")
            reason = st.selectbox("Reason", list(eng.settings.disputes.reasons), key="di_new_reason")
            if st.form_submit_button("Open case", icon=":material/add_task:"):
                docs = [x.strip() for x in ids.split(",") if x.strip()]
                _act(lambda: cases.open_case(store, user, ctx, eng, cust.strip(), docs, amount, reason, data_sha256=digest), "Case opened")

picked = _remember("di_case", common.picked_row(event, shown, "case_id"), shown["case_id"].to_list())
if picked is not None and may_work:
    r = shown.filter(pl.col("case_id") == picked).row(0, named=True)
    st.subheader(f"Case {picked} · {plain(r['customer_id'])} · {r['status']}")
    left, mid, right = st.columns(3)
    with left.form("di_owner", border=True):
        owner = st.text_input("Owner", value=r["owner"] or "", key="di_owner_name")
        if st.form_submit_button("Assign"):
            _act(lambda: cases.assign(store, user, ctx, picked, owner, r["version"]), f"Case {picked} assigned")
    with mid.container(border=True):
        target = st.selectbox("Move to", list(cases.MOVES), key="di_move_to")
        if st.button("Move", key="di_move"):
            _act(lambda: cases.move(store, user, ctx, picked, target, r["version"]), f"Case {picked} moved to {target}")
    if r["pending_resolution"]:
        # a write-off above four_eyes_above: one credit manager approved these figures, a second one completes them
        asked = json.loads(r["pending_resolution"])
        st.warning(
            plain(
                f"Awaiting a second approval: credited {money(asked['credited'], cur)}, written off {money(asked['written_off'], cur)}, "
                f"cleared {money(asked['cleared_manually'], cur)}, root cause '{asked['root_cause']}'."
            ),
            icon=":material/group:",
        )
        if user.has("credit_manager") and st.button("Approve this write-off", key="di_second", icon=":material/how_to_reg:"):
            _act(
                lambda: cases.resolve(
                    store, user, ctx, eng, picked, asked["root_cause"], asked["credited"], asked["written_off"], asked["cleared_manually"], r["version"]
                ),
                f"Write-off of case {picked} approved",
            )
    with right.form("di_resolve", border=True):
        cause = st.text_input("Root cause", key="di_cause")
        c1, c2, c3 = st.columns(3)
        credited = c1.number_input("Credited", min_value=0.0, step=100.0, key="di_credited")
        written = c2.number_input("Written off", min_value=0.0, step=100.0, key="di_written", help="Needs a credit manager")
        cleared = c3.number_input("Cleared", min_value=0.0, step=100.0, key="di_cleared")
        if st.form_submit_button("Resolve"):
            _act(lambda: cases.resolve(store, user, ctx, eng, picked, cause, credited, written, cleared, r["version"]), f"Case {picked} resolved")

left, right = st.columns(2)
rc = kpis.root_causes(c, t)
with left:
    st.subheader("Root causes (resolved in 365 days)")
    if rc.height:
        st.plotly_chart(charts.root_cause_pareto(rc, cur), width="stretch", key="di_pareto")
        tables.show(rc, cur, key="di_causes")
    else:
        st.caption("No case resolved with a root cause in the 365 days to the as-of date.")
with right:
    st.subheader("New vs resolved per month")
    st.plotly_chart(charts.new_vs_solved(kpis.new_vs_solved(c, t)), width="stretch", key="di_trend")
    st.markdown("**Resolution mix (by amount)**")
    tables.show(kpis.resolution_mix(c, t), cur, key="di_mix")
