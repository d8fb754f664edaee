"""Aging: open receivables by days past due, by segment and region, down to the documents."""

import streamlit as st

from dashboard.metrics import aging
from dashboard.present import charts
from dashboard.present.exports import to_csv, to_excel
from pages import common

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

dim = st.radio("Break down by", ["segment", "region"], horizontal=True, key="aging_dim")
st.altair_chart(charts.aging_by(ag, dim, names, cur), width="stretch", key="aging_chart")

table = aging.table(ag, dim, names)
st.dataframe(
    table,
    hide_index=True,
    placeholder="–",
    width="stretch",
    column_config={c: st.column_config.NumberColumn(c.replace("_", "-"), format="accounting") for c in [*names, "total"]},
)

st.subheader("Documents behind a bucket")
labels = ["All buckets"] + [n.replace("_", "-") for n in names]
c1, c2 = st.columns([1, 2])
choice = c1.selectbox("Bucket", labels, index=0, key="aging_bucket")
values = sorted(ag[dim].unique().to_list())
pick = c2.multiselect(f"Only these {dim}s", values, key="aging_dim_values", placeholder=f"All {dim}s")
bucket = labels.index(choice) - 1
docs = common.cached_documents(eng.snapshot.id, t, f.narrowed(dim, pick), bucket, eng)
n_docs, amount = aging.behind(ag, dim, pick, bucket)
shown = f"; the {docs.height:,} largest are listed" if docs.height < n_docs else ""
st.caption(f"{n_docs:,} open documents, {amount:,.2f} {cur} in all{shown}. Click a column heading to sort, a row to open its customer.")
ev = st.dataframe(
    docs,
    hide_index=True,
    placeholder="–",
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="aging_docs",
    column_config={
        "invoice_id": "Document",
        "customer_id": "Customer",
        "customer_name": "Name",
        "segment": "Segment",
        "region": "Region",
        "document_type": "Type",
        "invoice_date": st.column_config.DateColumn("Invoice date", format="YYYY-MM-DD"),
        "due_date": st.column_config.DateColumn("Due date", format="YYYY-MM-DD"),
        "currency": "Currency",
        "disputed": "Disputed",
        "amount_original": st.column_config.NumberColumn("Amount (document currency)", format="accounting"),
        "open_amount_base": st.column_config.NumberColumn(f"Open ({cur})", format="accounting"),
        "days_past_due": st.column_config.NumberColumn("Days past due", format="%d"),
        "bucket": None,
    },
)
if (cid := common.picked_row(ev, docs)) is not None:
    common.open_customer(cid)
d1, d2, _ = st.columns([1, 1, 4])
stem = f"aging_{choice.replace(' ', '_')}_{t.isoformat()}"
d1.download_button("Download CSV", to_csv(docs), f"{stem}.csv", "text/csv", icon=":material/download:", key="dl_csv")
d2.download_button(
    "Download Excel",
    to_excel(docs, "documents"),
    f"{stem}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="dl_xlsx",
)
