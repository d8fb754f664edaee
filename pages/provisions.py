"""Provisions: the IFRS 9 provision matrix, its rates derived from this ledger's own history, and the disclosure."""

import json

import polars as pl
import streamlit as st

from dashboard.metrics.kpis import ratio
from dashboard.present.exports import to_csv, to_excel
from dashboard.present.formatting import delta, money, pct, signed_money
from dashboard.present.labels import bucket_label
from dashboard.provisions import charts as pcharts
from dashboard.provisions import overlay
from dashboard.provisions.matrix import disclosure
from dashboard.settings import SettingsError
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
ps = eng.settings.provisions
user = common.user()
store = common.store()
rows = overlay.stored(store)
try:
    m = common.cached_provisions(eng.snapshot.id, t, f, eng, overlay.store_version(store), rows)
except SettingsError as exc:  # an overlay naming a bucket the aging edges do not have: say which, as the CLI does
    st.error(f"The settings file cannot be used:\n\n{tables.plain(str(exc))}", icon=":material/error:")
    st.stop()
READ = {n: bucket_label(n) for n in eng.settings.bucket_names}  # not_due -> Not due, 1_30 -> 1-30, as the aging page says

st.title("Provisions (IFRS 9)")
st.caption(
    f"As of {t:%d %B %Y}, in {cur}. Lifetime expected credit loss on trade receivables by the simplified approach: a loss rate per "
    f"aging bucket (a provision matrix), derived from what happened to this ledger's own receivables. A document is in default when "
    f"it is still open {m.default_dpd} days past due."
)
if f.currencies:
    st.info(common.currency_note(f, receivables=True), icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)

coverage = ratio(m.total_allowance, m.total_gross)
prior = m.prior_allowance or 0.0
c = st.columns(4)
c[0].metric(
    "Gross receivables", money(m.total_gross, cur, compact=True), border=True, help="Open amount of the documents with open > 0 (credit notes excluded)."
)
c[1].metric(
    "Allowance",
    money(m.total_allowance, cur, compact=True),
    delta(m.total_allowance, prior, lambda x: signed_money(x, cur)),
    delta_color="inverse",
    border=True,
    help=f"Sum over the buckets of gross x rate applied. The change is against {m.prior_month_end:%d %B %Y}, a full run as of that month-end with its own rates.",
)
c[2].metric("Coverage", pct(coverage), border=True, help="Allowance / gross.")
c[3].metric(
    "Prior month-end allowance",
    money(prior, cur, compact=True),
    border=True,
    help=f"The allowance as of {m.prior_month_end:%d %B %Y}, with the rates that date's own history gives.",
)

borrowed = m.buckets.filter(pl.col("borrowed_from").is_not_null())
if borrowed.height:
    words = "; ".join(f"{bucket_label(r['bucket'])} takes {bucket_label(r['borrowed_from'])}'s rate" for r in borrowed.iter_rows(named=True))
    st.warning(
        f"No history for some buckets: {words}. The rate of a younger bucket is a lower bound; raise it with an overlay if judgement says so.",
        icon=":material/flag:",
    )
if m.overlay_source == "approved":
    st.info(f"Overlay approved in the workbench: {tables.plain(m.overlay_reason)}", icon=":material/tune:")
elif ps.overlay != 1.0:
    st.info(f"Overlay in the settings: {tables.plain(m.overlay_reason or 'no reason given')}", icon=":material/tune:")

shown = m.buckets.with_columns(pl.col("bucket").replace(READ), pl.col("borrowed_from").replace(READ))
tables.show(
    shown,
    cur,
    column_order=(
        "bucket",
        "gross",
        "historical_rate",
        "overlay",
        "rate",
        "allowance",
        "borrowed_from",
        "history_open",
        "history_unpaid",
        "history_months",
        "rule",
    ),
    key="pv_matrix",
)

if m.by_segment is not None:
    st.subheader("By segment")
    st.caption(f"A segment's own rate where its history holds at least {money(ps.min_amount, cur)} in the bucket; else the overall rate.")
    seg = m.by_segment.rename({"source": "rate_source"}).with_columns(pl.col("bucket").replace(READ))
    tables.show(seg, cur, key="pv_segments")

left, right = st.columns([3, 2])
with left:
    st.subheader("Disclosure (IFRS 7)")
    st.caption("Gross carrying amount, expected loss rate and lifetime expected credit loss per bucket, as the disclosure tabulates them.")
    disc = disclosure(m).with_columns(pl.col("bucket").replace(READ))
    tables.show(disc, cur, key="pv_disclosure")
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("Download CSV", to_csv(disc, cur), f"provision_matrix_{t.isoformat()}.csv", "text/csv", icon=":material/download:", key="pv_csv")
    d2.download_button(
        "Download Excel",
        to_excel(disc, "provision matrix", cur),
        f"provision_matrix_{t.isoformat()}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        key="pv_xlsx",
    )
with right:
    st.plotly_chart(pcharts.provision_bars(m.buckets, cur), key="pv_chart", config={"displayModeBar": False})

with st.expander("How the rates were derived", icon=":material/function:"):
    if m.month_ends:
        st.markdown(
            f"Over the {len(m.month_ends)} month-ends from {m.month_ends[0]:%d %B %Y} to {m.month_ends[-1]:%d %B %Y}, the documents open "
            f"then whose outcome is known by the as-of date (due date + {m.default_dpd} days on or before it), by their bucket at that "
            f"month-end: historical rate = unpaid at default / open at the month-end. Buckets from {m.default_dpd} days past due on are "
            "already in default (rate 100%). The ledger carries no write-offs: a default's loss is what was still open then."
        )
    hist = m.history.with_columns(pl.col("bucket").replace(READ))
    tables.show(hist, cur, key="pv_history")

st.subheader("Overlay: draft and approval")
analyst = user is not None and user.has("credit_analyst")
manager = user is not None and user.has("credit_manager")
st.caption(
    "A credit analyst drafts a forward-looking overlay (a multiplier of the historical rates, per bucket or one for all, for every segment "
    "or one) with its reason; a credit manager approves or rejects it. From the day it is approved the matrix above, the disclosure and "
    "`o2c provisions` apply it; until one is approved, the settings' overlay applies."
    + (" Local mode: one operator may approve their own draft; it is recorded as self-approved." if user is not None and user.mode == "local" else "")
)
said = st.container()
if done := st.session_state.pop("pv_done", None):
    said.success(tables.plain(done), icon=":material/check_circle:")
ctx = notes.Context(t, eng.snapshot.id, data_sha256(eng.snapshot.manifest["source_files"]))


def _act(write, message: str) -> None:
    try:
        w = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(tables.plain(str(exc)), icon=":material/block:")  # names and reasons from users: text, never markdown
        return
    st.session_state["pv_done"] = f"{message} (audit entry {w.seq})."
    st.rerun()


if analyst:
    segments = common.dimensions(eng.snapshot.id, eng).get("segments", [])
    with st.form("pv_draft", border=True):
        st.markdown("**Draft an overlay**")
        c1, c2 = st.columns(2)
        scope = c1.selectbox("Applies to", ["Every segment", *segments], key="pv_scope")
        one = c2.number_input("One multiplier for every bucket (0 = per bucket below)", min_value=0.0, max_value=10.0, value=0.0, step=0.05, key="pv_all")
        cols = st.columns(len(eng.settings.bucket_names))
        per = {
            n: cols[i].number_input(READ[n], min_value=0.0, max_value=10.0, value=1.0, step=0.05, key=f"pv_f_{n}")
            for i, n in enumerate(eng.settings.bucket_names)
        }
        why = st.text_input("Reason", key="pv_reason")
        if st.form_submit_button("Save the draft", icon=":material/edit_note:"):
            factors: dict[str, float] | float = float(one) if one > 0 else {n: float(v) for n, v in per.items() if abs(v - 1.0) > 1e-9}
            seg = None if scope == "Every segment" else scope
            _act(lambda: overlay.draft(store, user, ctx, eng.settings.bucket_names, factors, why, seg, segments), "Overlay drafted")

if rows.height:
    shown_rows = rows.with_columns(
        multipliers=pl.col("factors").map_elements(lambda x: overlay.describe(json.loads(x), bucket_label), return_dtype=pl.Utf8),
        applies_to=pl.col("segment").fill_null("Every segment"),
        approval=pl.when(pl.col("self_approved")).then(pl.lit(overlay.SELF_APPROVED)).otherwise(pl.lit("")),
    ).select(
        "overlay_id", "status", "applies_to", "multipliers", "reason", "drafted_by", "drafted_on", "decided_by", "decided_on", "approval", "decision_reason"
    )
    tables.show(shown_rows, cur, key="pv_overlays")
    drafts = rows.filter(pl.col("status") == "draft")["overlay_id"].to_list()
    if manager and drafts:
        oid = st.selectbox("Decide on draft", [None, *drafts], format_func=lambda v: "Choose..." if v is None else f"Overlay {v}", key="pv_pick")
        if oid is not None:
            r = rows.filter(pl.col("overlay_id") == oid).row(0, named=True)
            st.markdown(
                f"**Overlay {oid}**: {tables.plain(overlay.describe(json.loads(r['factors']), bucket_label))}, "
                f"drafted by {tables.plain(r['drafted_by'])}: {tables.plain(r['reason'])}"
            )
            c1, c2 = st.columns(2)
            if c1.button("Approve", key="pv_approve", icon=":material/check:"):
                _act(lambda: overlay.approve(store, user, ctx, oid, r["version"]), f"Overlay {oid} approved")
            reject_why = c2.text_input("Reason to reject", key="pv_reject_reason")
            if c2.button("Reject", key="pv_reject", icon=":material/close:"):
                _act(lambda: overlay.reject(store, user, ctx, oid, reject_why, r["version"]), f"Overlay {oid} rejected")
else:
    st.caption("No overlay drafted yet.")
