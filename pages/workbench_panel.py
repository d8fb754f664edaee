"""The customer page's workbench: notes, contacts, the collector, and one timeline of ledger and team events."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard.collections import promises as promised
from dashboard.metrics.kpis import Engine
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from dashboard.workbench.timeline import KINDS, timeline
from pages import common, tables


def _done(message: str) -> None:
    """Said on the page after the rerun that shows the new record (a toast could vanish with it)."""
    st.session_state["wb_done"] = message


def workbench_panel(eng: Engine, customer_id: str, documents: pl.DataFrame, t: dt.date) -> None:
    user = common.user()
    if user is None:
        return
    store = common.store()
    ctx = notes.Context(t, eng.snapshot.id)
    st.subheader("Notes, contacts and timeline")
    if done := st.session_state.pop("wb_done", None):
        st.success(done, icon=":material/check_circle:")
    collector = notes.collector(store, customer_id)
    st.caption(f"Collector: {collector or 'not assigned (every collector may work this customer)'}. New records are dated {t:%d %b %Y}, the as-of date.")

    if user.has("collector"):
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
            name = st.text_input("Collector (user name; empty: unassigned)", value=collector or "", key="wb_collector")
            if st.button("Assign", key="wb_assign"):
                _act(lambda: notes.assign(store, user, ctx, customer_id, name), "Collector assigned")

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


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(str(exc), icon=":material/block:")
        return
    _done(f"{message} (audit entry {w.seq}).")
    st.rerun()
