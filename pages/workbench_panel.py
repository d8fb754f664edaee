"""The customer page's workbench: notes, contacts, the collector, and one timeline of ledger and team events."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard.collections import promises as promised
from dashboard.metrics.kpis import Engine
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import notes
from dashboard.workbench.assignment import Roster, effective_collector, same_person
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.store import Store
from dashboard.workbench.timeline import KINDS, timeline
from pages import common, tables
from pages.tables import plain


def _done(message: str) -> None:
    """Said on the page after the rerun that shows the new record (a toast could vanish with it)."""
    st.session_state["wb_done"] = message


def workbench_panel(eng: Engine, customer_id: str, documents: pl.DataFrame, t: dt.date) -> None:
    user = common.user()
    if user is None:
        return
    store = common.store()
    roster = Roster.of(eng, common.settings())
    ctx = notes.Context(t, eng.snapshot.id, data_sha256(eng.snapshot.manifest["source_files"]), roster)
    st.subheader("Notes, contacts and timeline")
    if done := st.session_state.pop("wb_done", None):
        st.success(done, icon=":material/check_circle:")
    if refused := st.session_state.pop("wb_refused", None):
        st.error(plain(refused), icon=":material/block:")
    # Read when the page is drawn: its version is what an assignment made from this page must still find.
    owner = effective_collector(store, roster, customer_id)
    who = owner.describe()
    # plain(): a collector's name and the master's segment are text, never markdown or a link
    st.caption(plain(f"{who[0].upper()}{who[1:]}. New records are dated {t:%d %b %Y}, the as-of date."))

    theirs = owner.collector is not None and not same_person(owner.collector, user.name)
    if user.has("collector") and not user.has("credit_analyst") and theirs:
        # The core refuses these writes anyway; the page says so before anyone types a note.
        st.info(plain(f"{customer_id} is {owner.collector}'s customer: notes and contacts here are theirs (or an analyst's) to write."))
    elif user.has("collector"):
        left, right = st.columns(2)
        with left.form("wb_note", clear_on_submit=True, border=True):
            st.markdown("**Add a note**")
            text = st.text_area("Note", key="wb_note_text", height=90)
            open_ids = documents.filter(pl.col("open_amount_base") != 0)["invoice_id"].to_list()
            doc = st.selectbox("On a document (optional)", ["The customer as a whole", *open_ids], key="wb_note_doc")
            if st.form_submit_button("Add note", icon=":material/note_add:"):
                _act(lambda: notes.add_note(store, user, ctx, customer_id, text, None if doc == "The customer as a whole" else doc), "Note added")
        with right.form("wb_contact", clear_on_submit=True, border=True):
            st.markdown("**Log a contact**")
            c1, c2 = st.columns(2)
            channel = c1.selectbox("Channel", notes.CHANNELS, key="wb_channel")
            outcome = c2.selectbox("Outcome", notes.OUTCOMES, key="wb_outcome")
            remark = st.text_input("Note (optional)", key="wb_contact_note")
            if st.form_submit_button("Log contact", icon=":material/call:"):
                _act(lambda: notes.log_contact(store, user, ctx, customer_id, channel, outcome, remark), "Contact logged")
    if user.has("admin"):
        with st.expander("Assign a collector", icon=":material/assignment_ind:"):
            key = f"wb_collector:{customer_id}"
            st.text_input("Collector (user name; empty: the customer's pool, if any)", value=owner.collector if owner.source == "assigned" else "", key=key)
            # on_click with the version this run read: the click is checked against what the user saw, not
            # against what the next run would read (which would always be current and never conflict).
            st.button("Assign", key="wb_assign", on_click=_assign, args=(store, user, ctx, customer_id, key, owner.version))

    kinds = st.multiselect("Show", list(KINDS), key="wb_kinds", placeholder="Every kind of event")
    # the customer's promises with their state at T (computed from this snapshot, collections.md)
    kept = promised.evaluate(eng, promised.stored(store, customer_id), t, eng.settings.collections.promise_tolerance_days)
    events = timeline(store, customer_id, documents, tuple(kinds), promises=kept)
    st.caption(f"{events.height:,} events, newest first.")
    tables.show(
        events.drop("at"),
        eng.settings.base_currency,
        override={"kind": "Kind", "detail": st.column_config.TextColumn("Detail", width="large")},
        key="wb_timeline",
    )


def _assign(store: Store, user: User, ctx: notes.Context, customer_id: str, key: str, seen: int) -> None:
    try:
        w = notes.assign(store, user, ctx, customer_id, st.session_state.get(key, ""), version=seen)
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.session_state["wb_refused"] = str(exc)
        return
    _done(f"Collector assigned (audit entry {w.seq}).")


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(plain(exc), icon=":material/block:")
        return
    _done(f"{message} (audit entry {w.seq}).")
    st.rerun()
