"""Credit decisions: limit proposals with every term, requests and their approval, the review queue, orders
on credit hold, and the limits to reconcile with the ERP (credit-decisions.md)."""

import polars as pl
import streamlit as st

from dashboard.decisions import holds, limits, proposals, reviews
from dashboard.present.formatting import money
from dashboard.store.snapshots import data_sha256
from dashboard.whatif import saved as saved_scenarios
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from pages import common, tables
from pages import decision_forms as forms
from pages.tables import plain

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
user = common.user()
store = common.store()
ctx = notes.Context(t, eng.snapshot.id)
digest = data_sha256(eng.snapshot.manifest["source_files"])
cp = eng.settings.credit_policy
analyst = user is not None and user.has("credit_analyst")
manager = user is not None and user.has("credit_manager")

st.title("Credit decisions")
st.caption(
    f"Snapshot `{eng.snapshot.id}` at {t:%d %b %Y}. Every limit change and every release of a held order is a decision: proposed with its "
    "calculation, requested by one person, approved by another, recorded with the data it was made on."
    + (" Local mode: one operator may approve their own request; it is recorded as self-approved." if user is not None and user.mode == "local" else "")
)
# Always one container here, message or not: the tabs below keep their place in the page, so the tab the user
# is on stays selected across reruns.
said = st.container()
if done := st.session_state.pop("cr_done", None):
    said.success(plain(done), icon=":material/check_circle:")


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")  # ids and names from the ledger and users: text, never markdown
        return
    st.session_state["cr_done"] = f"{message} (audit entry {w.seq})."
    st.rerun()


def _pick(key: str, label: str, clicked, options: list, may: bool):
    """The row to act on: a click in the table above, or the choice in this box (keyboard and screen readers
    reach it too). Shown only to those who may act; None when nothing (or nothing listed any more) is chosen.
    The choice is kept under `key`, not as the box's own state: a click may change it before the box is drawn
    (Streamlit refuses to change a drawn widget's state), and the box is drawn again at the chosen index."""
    if not may or not options:
        return None
    if clicked is not None:
        st.session_state[key] = clicked
    now = st.session_state.get(key)
    index = options.index(now) + 1 if now in options else 0
    choice = st.selectbox(label, [None, *options], index=index, format_func=lambda v: "Choose..." if v is None else str(v))
    st.session_state[key] = choice
    return choice


tab_p, tab_r, tab_q, tab_h, tab_x = st.tabs(["Proposals", "Requests", "Review queue", "Held orders", "Limits to reconcile"])

with tab_p:
    st.caption(
        f"need = sales of the 365 days to the as-of date / 365 x (terms + {cp.cover_days} cover days); proposed = need x the class factor, "
        f"rounded up to {cp.rounding:,.0f}, within [{cp.min_limit:,.0f}, {'no maximum' if cp.max_limit is None else f'{cp.max_limit:,.0f}'}]; "
        f"a thin file at most {cp.thin_file_max:,.0f} {cur}."
    )
    prop = proposals.proposals(eng, store, t).sort("exposure", descending=True, nulls_last=True)
    frame = prop.select(
        "customer_id",
        "name",
        "risk_class",
        "thin_file",
        "sales_365",
        "terms",
        "cover_days",
        "need",
        "class_factor",
        "proposed_limit",
        "current_limit",
        "exposure",
    )
    ev = tables.show(frame, cur, key="cr_proposals", on_select="rerun", selection_mode="single-row")
    who = _pick("cr_customer", "Request a limit for", common.picked_row(ev, frame), frame["customer_id"].to_list(), analyst)
    if who is not None:
        r = frame.filter(pl.col("customer_id") == who).row(0, named=True)
        with st.form("cr_request", border=True):
            st.markdown(f"**Request a limit for {plain(who)}** (current: {money(r['current_limit'], cur) if r['current_limit'] is not None else 'no limit'})")
            c1, c2 = st.columns(2)
            lim = c1.number_input(f"Limit ({cur})", min_value=0.0, value=float(r["proposed_limit"]), step=1000.0, key="cr_limit")
            temp = c2.date_input("Temporary until (optional)", value=None, min_value=t, key="cr_valid_to", format="YYYY-MM-DD")
            why = st.text_input("Reason", key="cr_reason")
            if st.form_submit_button("Request", icon=":material/request_quote:"):
                _act(lambda: limits.request(store, user, ctx, eng, who, lim, why, temp, data_sha256=digest), f"Limit requested for {who}")

with tab_r:
    saved = saved_scenarios.list_scenarios(common.data_dir().root) if analyst else {}
    if saved:
        with st.expander("Requests from a what-if scenario's limit levers", icon=":material/tune:"):
            name = st.selectbox("Saved scenario", list(saved), key="cr_scenario")
            if st.button("Request the scenario's limits", key="cr_from_scenario", icon=":material/request_quote:"):
                sc = saved_scenarios.load_saved(common.data_dir().root, name)
                try:
                    made, skipped = limits.from_scenario(store, user, ctx, eng, sc, saved[name].name, f"what-if scenario '{name}'", digest)
                except (notes.Refused, notes.Conflict, AccessDenied) as exc:
                    st.error(plain(str(exc)), icon=":material/block:")  # ids and names from the ledger and users: text, never markdown
                else:
                    st.session_state["cr_done"] = f"{len(made)} limit request(s) from '{name}'" + (f"; skipped: {' '.join(skipped)}" if skipped else "") + "."
                    st.rerun()
    req = limits.stored(store).sort("request_id", descending=True)
    who_ok = limits.approvers(store).group_by("object_id").agg(approved_by=pl.col("approver").sort().str.join(", "))
    req = req.with_columns(object_id=pl.col("request_id").cast(pl.Utf8)).join(who_ok, on="object_id", how="left").drop("object_id")
    cols = (
        "request_id",
        "customer_id",
        "status",
        "current_limit",
        "requested_limit",
        "proposal",
        "kind",
        "valid_from",
        "valid_to",
        "requested_by",
        "approvals_needed",
        "approved_by",
        "decided_on",
        "decision_reason",
        "scenario_id",
        "reason",
    )
    ev = tables.show(req.select(cols), cur, key="cr_requests", on_select="rerun", selection_mode="single-row")
    pending = req.filter(pl.col("status") == "pending")["request_id"].to_list()
    rid = _pick("cr_request_id", "Decide on request", common.picked_row(ev, req, "request_id"), pending, manager)
    if rid is not None:
        r = req.filter(pl.col("request_id") == rid).row(0, named=True)
        if r["status"] == "pending":
            st.markdown(f"**Request {rid}: {plain(r['customer_id'])} to {money(r['requested_limit'], cur)}**, asked by {plain(r['requested_by'])}")
            c1, c2 = st.columns(2)
            if c1.button("Approve", key="cr_approve", icon=":material/check:"):
                _act(lambda: limits.approve(store, user, ctx, eng, rid, digest, r["version"]), f"Request {rid} approved")
            why = c2.text_input("Reason to reject", key="cr_reject_reason")
            if c2.button("Reject", key="cr_reject", icon=":material/close:"):
                _act(lambda: limits.reject(store, user, ctx, eng, rid, why, digest, r["version"]), f"Request {rid} rejected")

with tab_q:
    q = reviews.queue(eng, store, t)
    st.caption(f"Due by {t:%d %b %Y}: last review + {', '.join(f'{k} {v}' for k, v in cp.review_days.items())} days by class; most exposed first.")
    cols = ("customer_id", "name", "risk_class", "exposure", "effective_limit", "utilisation", "last_review", "last_review_kind", "next_review", "days_overdue")
    ev = tables.show(q.select(cols), cur, key="cr_reviews", on_select="rerun", selection_mode="single-row")
    who = _pick("cr_review", "Review done for", common.picked_row(ev, q), q["customer_id"].to_list(), analyst)
    if who is not None:
        note = st.text_input(f"Review of {plain(who)} done without a change: note", key="cr_review_note")
        if st.button("Mark review done", key="cr_review_done", icon=":material/task_alt:"):
            _act(lambda: reviews.mark_done(store, user, ctx, eng, who, note, digest), f"Review of {who} recorded")
        # or the review ends in a limit request (issue 15: a request from the review queue), the proposal as the start
        if pending := forms.limit_state(store, who, cur):
            st.info(plain(pending), icon=":material/pending_actions:")
        forms.request_limit(eng, store, user, t, who, "cr_q_limit", "cr_done")

with tab_h:
    h = holds.holds(eng, store, t)
    st.caption("Open orders beyond headroom (effective limit - AR), released in order date then order id order while they fit; a release uses headroom first.")
    cols = ("order_id", "customer_id", "name", "order_date", "amount", "status", "until_date", "effective_limit", "ar", "headroom")
    ev = tables.show(h.select(cols), cur, key="cr_holds", on_select="rerun", selection_mode="single-row")
    oid = _pick("cr_order", "Decide on order", common.picked_row(ev, h, "order_id"), h.filter(pl.col("status") != "rejected")["order_id"].to_list(), manager)
    if oid is not None:
        with st.form("cr_hold", border=True):
            st.markdown(f"**Order {plain(oid)}**")
            why = st.text_input("Reason", key="cr_hold_reason")
            until = st.date_input("Released until (optional)", value=None, min_value=t, key="cr_hold_until", format="YYYY-MM-DD")
            c1, c2 = st.columns(2)
            if c1.form_submit_button("Release", icon=":material/lock_open:"):
                _act(lambda: holds.release(store, user, ctx, eng, oid, why, until, digest), f"Order {oid} released")
            if c2.form_submit_button("Reject", icon=":material/block:"):
                _act(lambda: holds.reject(store, user, ctx, eng, oid, why, digest), f"Order {oid} rejected")

with tab_x:
    x = limits.to_reconcile(store, eng, t)
    st.caption("Approved limits in force that differ from the master limit of a snapshot newer than the approval: update the ERP, or decide again.")
    tables.show(x.select("customer_id", "name", "approved_limit", "master_limit", "approved_on", "snapshot_as_of"), cur, key="cr_reconcile")
