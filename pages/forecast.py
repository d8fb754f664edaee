"""Cash-in forecast: the next 13 weeks, stacked by invoice age, with its track record on this ledger beside it."""

import polars as pl
import streamlit as st

from dashboard.forecast import cashin
from dashboard.forecast import charts as fcharts
from dashboard.forecast.backtest import METHOD_WORDS, METHODS, best_text
from dashboard.forecast.cashin import age_band_names
from dashboard.present.exports import to_csv, to_excel
from dashboard.present.formatting import money, pct
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
fs = eng.settings.forecast
fc = common.cached_forecast(eng.snapshot.id, t, f, eng)
bt = common.cached_forecast_backtest(eng.snapshot.id, t, f, eng)

st.title("Cash-in forecast")
st.caption(
    f"As of {t:%d %B %Y}. What the open invoices of the selection should bring in over the next 13 weeks, in {cur}, "
    "from how this ledger's own invoices got paid; its accuracy on this ledger is measured below, beside two simple rules."
)
if f.currencies:
    st.info(common.currency_note(f, receivables=True), icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)

fw, fd, fp = bt.scores["forecast"], bt.scores["due_date"], bt.scores["due_plus_delay"]
c = st.columns(4)
c[0].metric("Next 13 weeks", money(sum(w[3] for w in fc.weeks), cur, compact=True), border=True, help="Expected cash-in from the open invoices, weeks 1 to 13.")
c[1].metric("Later", money(fc.later, cur, compact=True), border=True, help="Expected after week 13.")
c[2].metric(
    "Doubtful",
    money(fc.doubtful, cur, compact=True),
    border=True,
    help="Open invoices older than any settled document of their pool was when it got paid: no history says when, or whether, "
    "they will be paid. Not in the weeks; the Provisions page covers their expected loss.",
)
c[3].metric("Credit notes", money(fc.credit_notes, cur, compact=True), border=True, help="Open credit notes and overpayments: they are not cash-in.")
WAPE = "Weighted absolute percentage error over the backtest's month-ends and 13 weeks: sum of |actual - forecast| / sum of actuals. Lower is better."
c = st.columns(4)
c[0].metric("Backtest WAPE", "n/a" if fw.wape is None else pct(fw.wape), border=True, help="The forecast's. " + WAPE)
c[1].metric(
    "Backtest bias",
    "n/a" if fw.bias is None else f"{fw.bias * 100:+.1f}%",
    border=True,
    help="Sum of (forecast - actual) / sum of actuals over the same weeks: above 0 the forecast expected too much within 13 weeks, below 0 too little.",
)
c[2].metric("WAPE, pays on the due date", "n/a" if fd.wape is None else pct(fd.wape), border=True, help="Each invoice on its due date. " + WAPE)
c[3].metric(
    "WAPE, due date + mean delay",
    "n/a" if fp.wape is None else pct(fp.wape),
    border=True,
    help="Each invoice on its due date moved by the customer's average delay, weighted by amount. " + WAPE,
)

(st.success if bt.best == "forecast" else st.warning)(best_text(bt), icon=":material/fact_check:")

left, right = st.columns([3, 2])
with left:
    st.plotly_chart(fcharts.cash_in(fc, age_band_names(fs.age_edges), cur), key="fc_chart", config={"displayModeBar": False})
with right:
    weeks = cashin.weeks_frame(fc)
    tables.show(weeks, cur, key="fc_weeks", height=492)  # all 13 weeks at once

st.subheader("By segment")
seg = cashin.by_segment(fc)
tables.show(seg, cur, key="fc_segments")
d1, d2, _ = st.columns([1, 1, 4])
d1.download_button("Download CSV", to_csv(seg, cur), f"cash_in_forecast_{t.isoformat()}.csv", "text/csv", icon=":material/download:", key="fc_csv")
d2.download_button(
    "Download Excel",
    to_excel(seg, "cash-in forecast", cur),
    f"cash_in_forecast_{t.isoformat()}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="fc_xlsx",
)

st.subheader("Track record on this ledger")
if bt.points:
    st.caption(
        f"At each of {len(bt.points)} month-ends from {bt.points[0]:%B %Y} to {bt.points[-1]:%B %Y} (each with 13 weeks of hindsight "
        "before the as-of date) the forecast was made with only what was known then, and compared week by week with what the "
        "invoices open at that month-end actually paid. The two rules place the same invoices on their due date, or on the due "
        "date moved by the customer's average delay."
    )
    scores = pl.DataFrame(
        {
            "method": [METHOD_WORDS[m].capitalize() for m in METHODS],
            "wape": [bt.scores[m].wape for m in METHODS],
            "bias": [bt.scores[m].bias for m in METHODS],
        },
        schema={"method": pl.Utf8, "wape": pl.Float64, "bias": pl.Float64},
    )
    tables.show(scores, cur, key="fc_scores")
    b1, b2 = st.columns([3, 2])
    b1.plotly_chart(fcharts.backtest_weeks(bt, cur), key="fc_bt_chart", config={"displayModeBar": False})
    b2.plotly_chart(fcharts.wape_by_week(bt), key="fc_wape_chart", config={"displayModeBar": False})
    with st.expander("Forecast vs actual, every backtest week", icon=":material/table:"):
        cells = bt.cells.rename({"due_date": "baseline_due_date", "due_plus_delay": "baseline_due_plus_delay"})
        tables.show(cells, cur, key="fc_bt_cells")
        st.download_button(
            "Download CSV", to_csv(cells, cur), f"forecast_backtest_{t.isoformat()}.csv", "text/csv", icon=":material/download:", key="fc_bt_csv"
        )
else:
    st.info(best_text(bt), icon=":material/info:")

with st.expander("How the forecast is made", icon=":material/function:"):
    pools = {"customer": "on their customer's history", "segment": "on their segment's", "all customers": "on all customers'", "none": "doubtful"}
    used = ", ".join(f"{n:,} {pools[k]}" for k, n in fc.levels.items() if n)
    st.markdown(
        f"Each open invoice is spread evenly over the settled invoices of its **pool** that took longer to settle than it is old: "
        f"its customer's (when at least {fs.min_history} such invoices settled in the last {eng.settings.payment_window_days} days), "
        f"else its segment's (at least {fs.segment_min_history}), else all customers'. A pool invoice that took s days places its "
        f"share s days after this invoice's date, so the forecast follows how the customer actually pays, given that this invoice is "
        f"already that old. When no pool invoice ever took that long, the amount is **doubtful**. Open invoices this time: "
        f"{fc.documents:,} ({used or 'none'}). The bars are stacked by the invoice's age (days since its date) at the as-of date."
    )
