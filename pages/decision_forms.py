"""Request a limit and open a dispute case from where the user is: the customer page, the at-risk list, a
worklist row (issue 15). Drawn only for a role that may (access.md: a credit analyst and above); the core
(dashboard/decisions/limits.py request, dashboard/disputes/cases.py open_case) checks the role again, writes
in one transaction and appends the audit entry. After a write the page reruns: the engine reopens with the
team's decisions (pages/common.py engine) and the message is said on the page (`said`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import streamlit as st

from dashboard.decisions import limits, proposals
from dashboard.disputes import amounts, cases
from dashboard.metrics.kpis import Engine
from dashboard.present.formatting import money
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.store import Store
from pages.tables import plain


def may_work(user: User | None) -> bool:
    """Whether the user may request limits and open cases (the button is shown only then)."""
    return user is not None and user.has("credit_analyst")


def said(done_key: str) -> None:
    """The message of the write the last run made, after the rerun that shows the new state."""
    if done := st.session_state.pop(done_key, None):
        st.success(plain(done), icon=":material/check_circle:")


def _act(write, message: str, done_key: str, on_written: Callable[[], None] | None = None) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")  # ids and names from the ledger and users: text, never markdown
        return
    st.session_state[done_key] = f"{message} (audit entry {w.seq})."
    if on_written is not None:
        on_written()
    st.rerun()


def _digest(eng: Engine) -> str:
    return data_sha256(eng.snapshot.manifest["source_files"])


def pending_request(store: Store, customer_id: str) -> dict | None:
    """The customer's pending limit request, if any (one open request per customer)."""
    p = limits.stored(store).filter((pl.col("customer_id") == customer_id) & (pl.col("status") == "pending"))
    return p.row(0, named=True) if p.height else None


def limit_state(store: Store, customer_id: str, currency: str) -> str | None:
    """A pending request in words (every role reads it), or None."""
    r = pending_request(store, customer_id)
    if r is None:
        return None
    kind = f"temporary until {r['valid_to']}" if r["kind"] == "temporary" else "permanent"
    return (
        f"Limit request {r['request_id']} pending: {money(r['requested_limit'], currency)} ({kind}), asked by {r['requested_by']} "
        f"on {r['valid_from']}; a credit manager decides it on the Credit decisions page."
    )


def request_limit(eng: Engine, store: Store, user: User | None, t: dt.date, customer_id: str, key: str, done_key: str) -> None:
    """The limit request form for one customer (a credit analyst and above): the proposal as the default limit."""
    if not may_work(user):
        return
    assert user is not None
    cur = eng.settings.base_currency
    if pending_request(store, customer_id) is not None:
        st.caption("One open request per customer: decide or withdraw the pending one before asking again.")
        return
    p = proposals.proposals(eng, store, t).filter(pl.col("customer_id") == customer_id)
    if p.height == 0:
        return
    r = p.row(0, named=True)
    with st.form(f"{key}_form", border=True):
        now = money(r["current_limit"], cur) if r["current_limit"] is not None else "no limit"
        st.markdown(f"**Request a limit for {plain(customer_id)}** (current: {now}; proposed: {money(r['proposed_limit'], cur)})")
        c1, c2 = st.columns(2)
        lim = c1.number_input(f"Limit ({cur})", min_value=0.0, value=float(r["proposed_limit"]), step=1000.0, key=f"{key}_limit")
        until = c2.date_input("Temporary until (optional)", value=None, min_value=t, key=f"{key}_valid_to", format="YYYY-MM-DD")
        why = st.text_input("Reason", key=f"{key}_reason")
        if st.form_submit_button("Request limit", icon=":material/request_quote:"):
            ctx = notes.Context(t, eng.snapshot.id)
            _act(
                lambda: limits.request(store, user, ctx, eng, customer_id, lim, why, until, data_sha256=_digest(eng)),
                f"Limit requested for {customer_id}",
                done_key,
            )


def open_case(
    eng: Engine,
    store: Store,
    user: User | None,
    t: dt.date,
    customer_id: str,
    documents: pl.DataFrame,
    key: str,
    done_key: str,
    on_written: Callable[[], None] | None = None,
) -> None:
    """The form that opens a dispute case on some of the customer's open documents (documents: invoice_id,
    open_amount_base; those already in an open case are not offered). An empty amount disputes all that is open of
    them. on_written: what the page does after the write, before its rerun."""
    if not may_work(user):
        return
    assert user is not None
    cur = eng.settings.base_currency
    busy = set(amounts.in_open_cases(eng, store, t))
    docs = documents.filter((pl.col("open_amount_base") > 0) & ~pl.col("invoice_id").is_in(list(busy)))
    if docs.height == 0:
        st.caption(f"{plain(customer_id)} has no open document outside an open dispute case to open one on.")
        return
    open_of = dict(docs.select("invoice_id", "open_amount_base").iter_rows())
    with st.form(f"{key}_form", border=True):
        st.markdown(f"**Open a dispute case for {plain(customer_id)}**")
        chosen = st.multiselect(
            "Documents",
            list(open_of),
            format_func=lambda i: f"{i} · {money(open_of[i], cur)} open",
            key=f"{key}_docs",
            placeholder="Choose the documents the customer contests",
        )
        c1, c2 = st.columns(2)
        amount = c1.number_input(
            f"Disputed amount ({cur})", min_value=0.0, value=None, step=100.0, key=f"{key}_amount", help="Empty: all that is open of the documents chosen."
        )
        reason = c2.selectbox("Reason", list(eng.settings.disputes.reasons), key=f"{key}_reason")
        note = st.text_input("Note (optional)", key=f"{key}_note")
        if st.form_submit_button("Open case", icon=":material/add_task:"):
            value = amount if amount is not None else round(sum(open_of[i] for i in chosen), 2)
            ctx = notes.Context(t, eng.snapshot.id)
            _act(
                lambda: cases.open_case(store, user, ctx, eng, customer_id, chosen, value, reason, note=note, data_sha256=_digest(eng)),
                f"Dispute case opened for {customer_id} on {', '.join(chosen)}",
                done_key,
                on_written,
            )
