"""Aging: open receivables by days past due, by segment and region, down to the documents."""

import polars as pl
import streamlit as st

from dashboard.metrics import aging
from dashboard.present import charts
from dashboard.present.formatting import money
from dashboard.present.labels import bucket_label
from pages import common, tables

eng = common.engine()
t, f = common.as_of(eng), common.filters()
cur = eng.settings.base_currency
names = eng.settings.bucket_names
ov = common.cached_overview(eng.snapshot.id, t, f, eng)
ag = ov.aging

st.title("Aging")
st.caption(
    f"Open receivables as of {t:%d %B %Y} by days past due (as-of date minus due date), in {cur}. Credit notes are included, so buckets add up to AR exactly."
)
if f.currencies:
    st.info(f"Currency of origin {', '.join(f.currencies)}: the documents in {', '.join(f.currencies)} only.", icon=":material/currency_exchange:")
common.nothing_open_notice(eng, t, f)

dim = st.radio("Break down by", ["segment", "region"], horizontal=True, key="aging_dim", format_func=str.capitalize)
st.altair_chart(charts.aging_by(ag, dim, names, cur), width="stretch", key="aging_chart")

table = aging.table(ag, dim, names)
# headings from the registry: "Segment", "Not due", "1-30", ..., "181+", "Total (USD)"
tables.show(table, cur)

st.subheader("Documents behind a bucket")
labels = ["All buckets"] + [bucket_label(n) for n in names]
c1, c2 = st.columns([1, 2])
choice = c1.selectbox("Bucket", labels, index=0, key="aging_bucket")
values = sorted(ag[dim].unique().to_list())
pick = c2.multiselect(f"Only these {dim}s", values, key="aging_dim_values", placeholder=f"All {dim}s")
bucket = labels.index(choice) - 1
docs = common.cached_documents(eng.snapshot.id, t, f.narrowed(dim, pick), bucket, eng)
n_docs, amount = aging.behind(ag, dim, pick, bucket)
shown = f"; the {docs.height:,} largest are listed (the downloads hold all {n_docs:,})" if docs.height < n_docs else ""
st.caption(f"{n_docs:,} open documents, {money(amount, cur)} in all{shown}. Click a column heading to sort, a row to open its customer.")
# What the amount is and how late it is first, then whose it is; the rest stays in the data and the exports.
ev = tables.show(
    docs,
    cur,
    column_order=(
        "invoice_id",
        "open_amount_base",
        "days_past_due",
        "customer_id",
        "customer_name",
        "amount_original",
        "currency",
        "due_date",
        "invoice_date",
        "document_type",
        "disputed",
        "segment",
        "region",
    ),
    hide=("bucket",),
    on_select="rerun",
    selection_mode="single-row",
    key="aging_docs",
)
if (cid := common.picked_row(ev, docs)) is not None:
    common.open_customer(cid)
d1, d2, _ = st.columns([1, 1, 4])
stem = f"aging_{choice.replace(' ', '_').replace('+', '_plus')}_{t.isoformat()}"


# The downloads hold every document of the selection, not only the rows listed on screen.
def export() -> pl.DataFrame:  # gathered when a download is clicked (common.deferred_export), not on every rerun
    every = docs if docs.height >= n_docs else common.cached_documents(eng.snapshot.id, t, f.narrowed(dim, pick), bucket, eng, every=True)
    return every.drop("bucket", strict=False)


key = (t, f.narrowed(dim, pick), bucket)
d1.download_button(
    "Download CSV",
    common.deferred_export(eng.snapshot.id, key, "csv", "documents", export, cur),
    f"{stem}.csv",
    "text/csv",
    icon=":material/download:",
    key="dl_csv",
)
d2.download_button(
    "Download Excel",
    common.deferred_export(eng.snapshot.id, key, "xlsx", "documents", export, cur),
    f"{stem}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="dl_xlsx",
)
