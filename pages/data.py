"""Data: load an extract (check first, then load or cancel), snapshot history, rollback, compare, audit log."""

from pathlib import Path

import polars as pl
import streamlit as st

from dashboard.load.ingest import IngestUsageError, ingest
from dashboard.load.layouts import LayoutError, available
from dashboard.load.read import READABLE, safe_file_name
from dashboard.settings import load_settings
from dashboard.store.snapshots import new_id
from pages import common

eng = common.engine()
data = common.data_dir()
settings = load_settings(data.root)
inbox = data.root / "inbox"
DETECT = "Detect from the header"

st.title("Data")
st.caption(f"Data folder `{data.root}`. Every load, refusal and rollback is logged; refused files are kept byte for byte under `rejected/`.")


tab_load, tab_history, tab_compare, tab_audit = st.tabs(["Load an extract", "Snapshots", "Compare", "Audit log"])

with tab_load:
    if done := st.session_state.pop("dp_loaded", None):
        st.success(done, icon=":material/check_circle:")
    st.markdown(
        "Drop the files of one extract (invoices and, if you have them, payments, customers, orders, fx), "
        "or pick a folder from the data folder's `inbox/`. CSV (any delimiter, UTF-8 or Windows-1252), Excel (.xlsx) or Parquet."
    )
    ups = st.file_uploader("Extract files", accept_multiple_files=True, type=[e.lstrip(".") for e in sorted(READABLE)], key="dp_upload")
    folders = sorted([p for p in inbox.iterdir() if p.is_dir()], reverse=True) if inbox.exists() else []
    picked = st.selectbox("...or a folder from the inbox", ["(uploaded files)"] + [p.name for p in folders], key="dp_inbox")
    try:
        layouts = available(data.root)
    except LayoutError as exc:  # a team's layout file with a mistake: say which, keep the built-in ones usable
        st.error(f"{exc}. Fix or remove that file; until then detection cannot use the data folder's layouts.")
        layouts = {}
    layout = st.selectbox(
        "Layout",
        [DETECT] + list(layouts),
        key="dp_layout",
        help="How the export's columns map onto the ledger contract. Detection reads the header of each file.",
    )
    as_of = st.date_input(
        "As-of date of the extract (optional)",
        value=None,
        key="dp_asof",
        format="YYYY-MM-DD",
        help="Empty: the latest invoice, settlement or payment date in the files.",
    )

    def target() -> Path | None:
        if picked != "(uploaded files)":
            return inbox / picked
        if not ups:
            return None
        # file_id is new for every upload: a corrected file with the same name and size is a new file
        sig = tuple((u.name, u.file_id) for u in ups)
        if st.session_state.get("dp_saved_sig") != sig:
            # Uploads are kept in the inbox first: nothing an analyst drops is lost, whatever happens next.
            folder = inbox / f"upload-{new_id()}"
            folder.mkdir(parents=True)
            for u in ups:
                (folder / safe_file_name(u.name)).write_bytes(u.getvalue())
            st.session_state["dp_saved_sig"], st.session_state["dp_saved_dir"] = sig, str(folder)
        return Path(st.session_state["dp_saved_dir"])

    folder = target()
    c1, c2, c3 = st.columns([1, 1, 4])
    if c1.button("Check", type="primary", disabled=folder is None, key="dp_check", icon=":material/fact_check:"):
        try:
            with st.spinner("Checking the whole extract..."):
                res = ingest([folder], data, settings, as_of=as_of, layout=None if layout == DETECT else layout, dry_run=True)
            st.session_state["dp_report"] = (str(folder), res.report)
        except (IngestUsageError, LayoutError) as exc:
            st.error(str(exc))
    pending = st.session_state.get("dp_report")
    if pending and pending[0] == str(folder):
        report = pending[1]
        rows = report.facts.get("rows", {})
        if report.ok:
            st.success(
                f"The extract passes every check: {', '.join(f'{v:,} {k}' for k, v in rows.items() if v)}; "
                f"as of {report.facts.get('as_of')}. {report.warning_count:,} warning(s) below.",
                icon=":material/check_circle:",
            )
        else:
            st.error(
                f"The extract cannot be loaded: {report.error_count:,} error(s). Fix them in the files and check again; nothing was loaded.",
                icon=":material/error:",
            )
        if report.facts.get("layouts"):
            st.caption("Layouts: " + ", ".join(f"{f} → {lay}" for f, lay in report.facts["layouts"].items()))
        if report.issues:
            # whole-file findings have no row, column or value: blank, not "None"
            shown = report.frame().with_columns(pl.col("row").cast(pl.Utf8), pl.col("column"), pl.col("value")).fill_null("")
            st.dataframe(
                shown,
                hide_index=True,
                placeholder="–",
                width="stretch",
                column_config={
                    "severity": "Severity",
                    "file": "File",
                    "row": "Row",
                    "column": "Column",
                    "value": "Value",
                    "rule": "Rule",
                    "message": "What to do",
                },
            )
        if c2.button("Load", disabled=not report.ok, key="dp_load", icon=":material/upload:"):
            bar = st.progress(0.0, text="Loading...")
            res = ingest(
                [folder],
                data,
                settings,
                as_of=as_of,
                layout=None if layout == DETECT else layout,
                source=f"Data page ({common.user_name()})",
                progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg),
            )
            bar.empty()
            st.session_state.pop("dp_report", None)
            if res.ok:
                # said on the next run (a toast can vanish in the rerun that follows a load)
                st.session_state["dp_loaded"] = (
                    f"Snapshot {res.snapshot.id} is now current: {res.snapshot.manifest['rows']['invoices']:,} documents "
                    f"as of {res.snapshot.manifest['as_of']}, loaded in {res.seconds:.1f} s."
                )
                st.rerun()
            else:
                st.error(res.report.to_text())
        if c3.button("Cancel", key="dp_cancel"):
            st.session_state.pop("dp_report", None)
            st.rerun()

with tab_history:
    snaps = data.list()
    cur = data.current_id()
    hist = pl.DataFrame(
        [
            {
                "current": s.id == cur,
                "snapshot": s.id,
                "as_of": s.manifest["as_of"],
                "loaded_at": s.manifest["loaded_at"],
                "loaded_by": s.manifest["loaded_by"],
                "files": ", ".join(f["name"] for f in s.manifest["source_files"]),
                "documents": s.manifest["rows"]["invoices"],
                "customers": s.manifest["rows"]["customers"],
                "warnings": s.manifest.get("warnings", 0),
            }
            for s in reversed(snaps)
        ]
    )
    st.dataframe(hist, hide_index=True, placeholder="–", width="stretch", column_config={"current": st.column_config.CheckboxColumn("Current")})
    others = [s.id for s in reversed(snaps) if s.id != cur]
    r1, r2 = st.columns([3, 1])
    back = r1.selectbox("Make an earlier snapshot current again", others or ["(no other snapshot)"], key="dp_rollback_id")
    if r2.button("Roll back", disabled=not others, key="dp_rollback", icon=":material/history:"):
        data.set_current(back)
        data.audit("rollback", snapshot=back, source=f"Data page ({common.user_name()})", outcome="current")
        st.session_state["dp_rolled_back"] = f"Snapshot {back} is current again; the newer ones are kept (roll forward the same way)."
        st.rerun()
    if done := st.session_state.pop("dp_rolled_back", None):
        st.success(done, icon=":material/history:")

with tab_compare:
    ids = [s.id for s in reversed(snaps)]
    if len(ids) < 2:
        st.info("Comparing needs two snapshots: load another extract first.")
    else:
        a, b = st.columns(2)
        before = a.selectbox("Before", ids, index=1, key="dp_cmp_a")
        after = b.selectbox("After", ids, index=0, key="dp_cmp_b")
        out = common.cached_compare(before, after)
        st.caption(f"Each snapshot at its own as-of date: {out['as_of'][0]} and {out['as_of'][1]}.")
        st.dataframe(
            out["figures"].with_columns((pl.col("after") - pl.col("before")).alias("change")),
            hide_index=True,
            placeholder="–",
            width="stretch",
            column_config={c: st.column_config.NumberColumn(format="localized") for c in ("before", "after", "change")},
        )
        left, right = st.columns(2)
        left.markdown(f"**New overdue customers** ({out['new_overdue'].height:,})")
        left.dataframe(
            out["new_overdue"],
            hide_index=True,
            placeholder="–",
            width="stretch",
            column_config={"overdue_now": st.column_config.NumberColumn("Overdue now", format="accounting")},
        )
        right.markdown(f"**Credit limit changes** ({out['limit_changes'].height:,})")
        right.dataframe(
            out["limit_changes"],
            hide_index=True,
            placeholder="–",
            width="stretch",
            column_config={c: st.column_config.NumberColumn(format="accounting") for c in ("limit_before", "limit_now")},
        )

with tab_audit:
    log = data.read_audit()
    if not log:
        st.info("Nothing loaded, refused or rolled back yet.")
    else:
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "time": e["time"],
                        "user": e.get("user"),
                        "event": e["event"],
                        "outcome": e.get("outcome"),
                        "snapshot": e.get("snapshot") or e.get("rejected"),
                        "source": e.get("source"),
                        "files": ", ".join(f"{f['name']} ({f['sha256'][:12]})" for f in e.get("files", [])),
                    }
                    for e in reversed(log)
                ]
            ),
            hide_index=True,
            placeholder="–",
            width="stretch",
        )
