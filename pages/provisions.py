"""Provisions: the IFRS 9 provision matrix, its rates derived from this ledger's own history, and the disclosure."""

import polars as pl
import streamlit as st

from dashboard.metrics.kpis import ratio
from dashboard.present.exports import to_csv, to_excel
from dashboard.present.formatting import delta, money, pct, signed_money
from dashboard.present.labels import bucket_label
from dashboard.provisions import charts as pcharts
from dashboard.provisions.matrix import disclosure
from dashboard.settings import SettingsError
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
ps = eng.settings.provisions
try:
    m = common.cached_provisions(eng.snapshot.id, t, f, eng)
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
if ps.overlay != 1.0:
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
