"""Audit trail: every load, refusal, rollback and workbench write, with who, when and on which data."""

import datetime as dt
import json

import polars as pl
import streamlit as st

from dashboard.present.exports import to_csv
from dashboard.workbench import audit
from dashboard.workbench.audit_labels import action_label, details_text
from pages import common, tables

store = common.store()
cur = common.settings().base_currency
st.title("Audit trail")
st.caption(
    f"Append-only and hash-chained in the workbench store ({store.kind}): each entry's hash covers the one before it, "
    "so a changed or removed entry is found by the check below."
)

with store.begin() as conn:
    everyone = audit.events(conn, limit=None)
users = sorted({e["user"] for e in everyone})
actions = sorted({e["action"] for e in everyone})
c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
who = c1.selectbox("User", ["Everyone", *users], key="au_user")
what = c2.selectbox("Action", ["Every action", *actions], key="au_action", format_func=lambda a: a if a == "Every action" else action_label(a))
obj = c3.text_input("Object (customer, snapshot, ...)", key="au_object", placeholder="Any")
since = c4.date_input("Since", value=None, key="au_since", format="YYYY-MM-DD")
with store.begin() as conn:
    rows = audit.events(
        conn,
        user=None if who == "Everyone" else who,
        action=None if what == "Every action" else what,
        object_id=obj.strip() or None,
        since=since if isinstance(since, dt.date) else None,
        limit=None,
    )
frame = pl.DataFrame(
    [
        {
            "seq": r["seq"],
            "time": r["at"][:19].replace("T", " "),
            "user": r["user"],
            "role": r["role"],
            "event": action_label(r["action"]),
            "object_type": r["object_type"].replace("_", " "),  # "dispute_case" reads "dispute case"
            "object_id": r["object_id"],
            "snapshot": r["snapshot_id"] or "",
            "details": details_text(r["details"], cur),
            # for machines: the action's code and the details as stored (the CSV keeps both)
            "action_code": r["action"],
            "details_json": json.dumps(r["details"], ensure_ascii=False, sort_keys=True, default=str),
        }
        for r in rows
    ],
    schema={
        "seq": pl.Int64,
        "time": pl.Utf8,
        "user": pl.Utf8,
        "role": pl.Utf8,
        "event": pl.Utf8,
        "object_type": pl.Utf8,
        "object_id": pl.Utf8,
        "snapshot": pl.Utf8,
        "details": pl.Utf8,
        "action_code": pl.Utf8,
        "details_json": pl.Utf8,
    },
)
st.caption(f"{frame.height:,} of {len(everyone):,} entries, newest first (times in UTC).")
tables.show(frame, cur, hide=("action_code", "details_json"), row_height=72, key="au_table")  # details wrap over three lines
d1, d2, _ = st.columns([1, 1, 3])
d1.download_button("Download CSV", to_csv(frame, cur), "audit_trail.csv", "text/csv", icon=":material/download:", key="au_csv")
if d2.button("Check the chain", icon=":material/verified:", key="au_verify"):
    with store.begin() as conn:
        broken = audit.verify(conn)
    if broken is None:
        st.success(f"All {len(everyone):,} entries check out: none was changed or removed.", icon=":material/check_circle:")
    else:
        st.error(f"Entry {broken.seq} does not check out: {broken.why}.", icon=":material/error:")
