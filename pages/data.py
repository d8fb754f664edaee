"""Data: load an extract (check first, then load or cancel), snapshot history, rollback, compare, audit log.

A "Check" is a dry run: it reads and checks everything and records nothing. A "Load"
runs the same ingest as `o2c ingest`: loaded, it becomes the current snapshot; refused,
its files and report are kept under `rejected/<id>/` and the refusal is in the audit log.
"""

import os
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard.load.declare import Declared, Question, questions, save_to_layout
from dashboard.load.inbox import inbox_folders, release_upload, stash_uploads
from dashboard.load.ingest import IngestResult, IngestUsageError, ingest
from dashboard.load.layouts import LayoutError, available
from dashboard.load.limits import InputRefused
from dashboard.load.read import READABLE
from dashboard.load.report import Report
from dashboard.present.formatting import NA, count, days, pct, signed_count, signed_days, signed_pts
from dashboard.present.labels import label
from dashboard.settings import SettingsError, load_settings
from dashboard.store.lock import DataBusy
from dashboard.store.snapshots import UnknownSnapshot, rollback, snapshot_rows, unfinished_loads
from dashboard.workbench.identity import AccessDenied
from pages import common, tables
from pages.tables import plain

eng = common.engine()
data = common.data_dir()
settings = load_settings(data.root)
base = settings.base_currency
DETECT = "Detect from the header"
UPLOADED = "(uploaded files)"


def unrooted(text: str) -> str:
    """A message without the data folder's absolute path: the folder's own name instead."""
    return text.replace(str(data.root), data.root.name)


def said(exc: Exception) -> str:
    """An error's message for st.error: unrooted, and as text (it quotes file names and headings from the files)."""
    return plain(unrooted(str(exc)), lines=True)


def where(path: Path) -> str:
    """A path inside the data folder as the analyst finds it there: `rejected/<id>`."""
    try:
        return path.relative_to(data.root).as_posix()
    except ValueError:
        return unrooted(str(path))


def report_table(report: Report) -> None:
    """The validation report, what to do beside the severity where the eye lands, long messages wrapped."""
    # whole-file findings have no row, column or value: a dash, never "None"
    shown = report.frame().with_columns(pl.col("row").cast(pl.Utf8))
    tables.show(
        shown,
        base,
        column_order=("severity", "message", "file", "row", "column", "value", "rule"),
        # "What to do" 440 px wide (the registry's): the table still fits a laptop's window; not pinned (Streamlit greys a pinned column's text)
        widths={"value": 140, "rule": 200},  # the rule wraps beside the rest, never cut at the edge
        row_height=72,  # above 4rem a cell wraps its text: three lines of the message instead of one cut short
    )


# The compare table mixes amounts, a share, days and a count: each figure is written in its own unit.
UNITS = {"Share overdue": "share", "DSO (standard)": "days", "DSO (countback)": "days", "Customers over limit": "count"}  # the others: money


def figure_text(unit: str, v: float | None, change: bool = False) -> str:
    """A figure in its own unit, as the tiles write it (27.7%, +3.9 pts, 52.8 days); amounts as 865.00."""
    if v is None:
        return NA
    if unit == "share":  # a change in a share is in percentage points
        return signed_pts(v) if change else pct(v)
    if unit == "days":
        return signed_days(v) if change else days(v)
    if unit == "count":
        return signed_count(v) if change else count(round(v))
    return f"{round(v, 2) + 0.0:{'+' if change else ''},.2f}"  # + 0.0: a change that rounds to nothing is 0.00, never -0.00


def compare_rows(figures: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for figure, before, after in figures.select("figure", "before", "after").iter_rows():
        unit = UNITS.get(figure, "money")
        change = None if before is None or after is None else after - before
        rows.append(
            {
                "figure": figure,
                "before": figure_text(unit, before),
                "after": figure_text(unit, after),
                "change": figure_text(unit, change, change=True),
            }
        )
    return pl.DataFrame(rows, schema={"figure": pl.Utf8, "before": pl.Utf8, "after": pl.Utf8, "change": pl.Utf8})


def utc(stamp: str) -> str:
    """'2026-12-01T22:19:06.123456Z' (or +00:00) as '2026-12-01 22:19:06' (the heading says UTC)."""
    return stamp.replace("T", " ").removesuffix("+00:00").removesuffix("Z")[:19]


def audit_details(e: dict) -> str:
    declared = f"; formats declared: {Declared.from_json(e['declared_formats']).words()}" if e.get("declared_formats") else ""
    if e.get("event") == "load":
        rows = e.get("rows") or {}
        return f"{rows.get('invoices', 0):,} documents, {e.get('warnings', 0):,} warning(s){declared}"
    if e.get("event") == "refusal":
        return f"{e.get('errors', 0):,} error(s); files and report kept under rejected/{declared}"
    return ""


def declared_for(folder: Path | None) -> Declared:
    """The formats declared on this page for this folder's files (for its checks and its load only)."""
    got = st.session_state.get("dp_declared")
    return got[1] if got and folder is not None and got[0] == str(folder) else Declared()


def ask_formats(asked: list[Question], folder: Path) -> None:
    """The columns whose format the files cannot decide: a choice for each, with two of the file's own values and
    what each reading makes of them, then a check again with the formats chosen (declare.py does the work)."""
    with st.container(border=True):
        st.markdown("**Declare how the export writes these columns**")
        st.caption(
            "Nothing in these values tells the two readings apart, so the product does not guess. Pick how the export writes them: "
            "the choice holds for this check and this load, and is recorded with the load in the audit log. "
            "Every value must still read that way; one that does not is named on its row."
        )
        picks: dict[Question, str | None] = {}
        for q in asked:
            opts = {o.value: o.label for o in q.options}
            picks[q] = st.radio(plain(q.prompt), list(opts), format_func=lambda v, o=opts: plain(o[v]), index=None, key=f"dp_declare_{q.key}")
        used = ", ".join(f"'{n}'" for n in dict.fromkeys(q.layout for q in asked))
        keep = st.checkbox(
            plain(f"Also keep these formats in the layout {used}, so that the next exports of this system are read this way without asking"),
            key="dp_keep_formats",
            help="A built-in layout is copied into the data folder's layouts/ (where it replaces the built-in one); the change is in the audit log.",
        )
        if st.button("Check again with these formats", type="primary", disabled=None in picks.values(), key="dp_declare_check", icon=":material/fact_check:"):
            new = Declared(tuple(q.declare(v) for q, v in picks.items() if v is not None))
            if keep:
                try:
                    kept = save_to_layout(data, new, common.user())
                    st.session_state["dp_kept_layouts"] = (True, "Kept in " + ", ".join(f"`{where(k)}`" for k in kept) + ": " + plain(new.words()) + ".")
                except (LayoutError, AccessDenied) as exc:  # the formats still hold for this load
                    st.session_state["dp_kept_layouts"] = (False, f"Not kept in the layout (used for this load only): {said(exc)}.")
            declared = declared_for(folder).merged(new)
            st.session_state["dp_declared"] = (str(folder), declared)
            try:
                with st.spinner("Checking the whole extract..."):
                    res = ingest([folder], data, settings, as_of=as_of, layout=chosen, dry_run=True, user=common.user(), declared=declared)
            except (IngestUsageError, LayoutError) as exc:
                st.error(said(exc))
                return
            st.session_state["dp_report"] = (str(folder), res.report, None)
            st.rerun()


st.title("Data")
# The folder is named, never its path (a team server's file system is not shown to its users), with where it
# was chosen, so "data" is not read as a word: `o2c serve --data DIR` (O2C_DATA) or the default beside the app.
chosen = "chosen by `--data` / `O2C_DATA`" if os.environ.get("O2C_DATA") else "the default: `data/` beside the app"
folder_said = f"Data folder `{data.root.name}` ({chosen})"
st.caption(
    f"{folder_said}. Every load, refused load and rollback is logged; a refused load's files are kept byte for byte "
    "under `rejected/` with its report. A check only reads: it loads, keeps and logs nothing."
)


tab_load, tab_history, tab_compare, tab_audit = st.tabs(["Load an extract", "Snapshots", "Compare", "Audit log"])

with tab_load:
    if done := st.session_state.pop("dp_loaded", None):
        st.success(done, icon=":material/check_circle:")
    st.markdown(
        "Drop the files of one extract (invoices and, if you have them, payments, customers, orders, fx), "
        "or pick a folder from the data folder's `inbox/`. CSV (any delimiter, UTF-8 or Windows-1252), Excel (.xlsx) or Parquet."
    )
    # the real limit is the setting (Streamlit's own box would say its server-wide cap, "500MB per file")
    upload_mb = common.settings().limits.upload_file_mb
    ups = st.file_uploader(
        f"Extract files (up to {upload_mb:,} MB a file)",
        accept_multiple_files=True,
        type=[e.lstrip(".") for e in sorted(READABLE)],
        key="dp_upload",
        help=f"The settings' [limits] upload_file_mb: {upload_mb:,} MB a file; upload_total_mb for all of them together.",
    )
    folders = inbox_folders(data)
    picked = st.selectbox("...or a folder from the inbox", [UPLOADED] + [p.name for p in folders], key="dp_inbox")
    try:
        layouts = available(data.root)
    except LayoutError as exc:  # a team's layout file with a mistake: say which, keep the built-in ones usable
        st.error(f"{said(exc)}. Fix or remove that file; until then detection cannot use the data folder's layouts.")
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
        if picked != UPLOADED:
            return data.inbox / picked
        if not ups:
            return None
        # file_id is new for every upload: a corrected file with the same name and size is a new file
        sig = tuple((u.name, u.file_id) for u in ups)
        if st.session_state.get("dp_saved_sig") != sig:
            try:
                folder = stash_uploads(data, [(u.name, u.getvalue()) for u in ups], settings.limits)
            except InputRefused as exc:
                st.error(f"The upload was refused; nothing was saved: {exc}.", icon=":material/error:")
                return None
            st.session_state["dp_saved_sig"], st.session_state["dp_saved_dir"] = sig, str(folder)
        return Path(st.session_state["dp_saved_dir"])

    folder = target()
    chosen = None if layout == DETECT else layout
    c1, c2, c3 = st.columns([1, 1, 4])
    # an upload loaded or refused is kept with its snapshot or refusal, and its inbox copy is gone
    if c1.button("Check", type="primary", disabled=folder is None or not folder.exists(), key="dp_check", icon=":material/fact_check:"):
        try:
            with st.spinner("Checking the whole extract..."):
                res = ingest([folder], data, settings, as_of=as_of, layout=chosen, dry_run=True, user=common.user(), declared=declared_for(folder))
            st.session_state["dp_report"] = (str(folder), res.report, None)
        except (IngestUsageError, LayoutError) as exc:
            st.error(said(exc))
    pending = st.session_state.get("dp_report")
    if pending and pending[0] == str(folder):
        _, report, kept = pending
        rows = report.facts.get("rows", {})
        if kept:
            st.error(
                f"The load was refused: {report.error_count:,} error(s). Nothing was loaded, the current data is unchanged. "
                f"The files and this report are kept in `{kept}`, and the refusal is in the audit log.",
                icon=":material/error:",
            )
        elif report.ok:
            st.success(
                f"The extract passes every check: {', '.join(f'{v:,} {k}' for k, v in rows.items() if v)}; "
                f"as of {report.facts.get('as_of')}. " + (f"{report.warning_count:,} warning(s) below." if report.warning_count else "No warnings."),
                icon=":material/check_circle:",
            )
        else:
            asked = len(questions(report))  # one error each
            what = "Declare below how the export writes what its values cannot tell" + (
                ", fix the other errors in the files," if report.error_count > asked else ""
            )
            what = f"{what} and check again" if asked else "Fix them in the files and check again"
            st.error(
                f"The extract cannot be loaded: {report.error_count:,} error(s). {what}; this was a check, nothing was loaded or kept.",
                icon=":material/error:",
            )
        if renamed := report.renamed():  # the file name only: a folder's path on the server is not the visitor's business
            st.caption("Kept under another name: " + "; ".join(f"{plain(k)} is {plain(Path(v).name)}" for k, v in renamed.items()))
        if report.facts.get("layouts"):
            st.caption("Layouts: " + ", ".join(f"{plain(f)} → {plain(lay)}" for f, lay in report.facts["layouts"].items()))
        if kept_note := st.session_state.pop("dp_kept_layouts", None):
            if kept_note[0]:
                st.info(kept_note[1], icon=":material/bookmark:")
            else:
                st.warning(kept_note[1], icon=":material/warning:")
        if declared_for(folder):
            st.caption(plain(f"Formats declared for this load: {declared_for(folder).words()}."))
        if report.issues:
            report_table(report)
        if not kept and (asked := questions(report)):
            ask_formats(asked, folder)
        if c2.button("Load", disabled=not report.ok or bool(kept), key="dp_load", icon=":material/upload:"):
            bar = st.progress(0.0, text="Loading...")
            loaded: IngestResult | None = None
            try:
                # the files are read again: what is loaded is what is in the folder now, checked again whole
                loaded = ingest(
                    [folder],
                    data,
                    settings,
                    as_of=as_of,
                    layout=chosen,
                    source=f"Data page ({common.user_name()})",
                    progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg),
                    user=common.user(),
                    declared=declared_for(folder),
                )
            except (IngestUsageError, LayoutError) as exc:
                st.session_state.pop("dp_report", None)
                st.error(said(exc))
            except (DataBusy, SettingsError) as exc:  # another load holds the data folder: nothing was touched, the check stands
                st.error(said(exc), icon=":material/hourglass_top:")
            bar.empty()
            if loaded is not None:  # kept with its snapshot or its refusal: the upload's inbox copy goes
                release_upload(data, folder)
            if loaded is not None and loaded.snapshot is not None:
                st.session_state.pop("dp_report", None)
                st.session_state.pop("dp_declared", None)
                # said on the next run (a toast can vanish in the rerun that follows a load)
                st.session_state["dp_loaded"] = (
                    f"Snapshot {loaded.snapshot.id} is now current: {loaded.snapshot.manifest['rows']['invoices']:,} documents "
                    f"as of {loaded.snapshot.manifest['as_of']}, loaded in {loaded.seconds:.1f} s."
                )
                st.rerun()
            elif loaded is not None:  # refused: kept and logged by ingest, shown as the report of this folder
                st.session_state["dp_report"] = (str(folder), loaded.report, where(loaded.kept_at) if loaded.kept_at else "rejected/")
                st.rerun()
        if c3.button("Cancel", key="dp_cancel"):
            st.session_state.pop("dp_report", None)
            st.session_state.pop("dp_declared", None)
            st.rerun()

with tab_history:
    snaps = snapshot_rows(data)
    newest = list(reversed(snaps))
    # What the audit trail cannot vouch for (o2c snapshots lists the whole history): orphans, and loads
    # interrupted since the newest snapshot (an older interruption was followed by a load that worked).
    orphan = (
        "Snapshot {} has no completed load in the audit trail: its load stopped between the switch and recording "
        "its outcome (or the folder was put there by hand). Check it, then keep it, roll back, or load the extract again."
    )
    for s in snaps:
        if s.status == "orphan":
            st.warning(plain(orphan.format(s.id)), icon=":material/warning:")
    for u in unfinished_loads(data):
        if u.status == "interrupted" and (not snaps or u.id > snaps[-1].id):
            when = utc(u.started_at)[:16]
            st.warning(
                plain(f"The load {u.id} started {when} UTC by {u.user} ({u.source}) was interrupted: nothing of it became current. Load that extract again."),
                icon=":material/warning:",
            )
    # who loaded each snapshot: the user of its load's entry in the audit trail (the manifest names the tool only)
    loaders = {e.get("snapshot"): e.get("user") for e in data.read_audit() if e["event"] == "load"}
    hist = pl.DataFrame(
        [
            {
                "current": s.current,
                "snapshot": s.id,
                "as_of": s.as_of,
                "loaded_at": utc(s.loaded_at),
                "loaded_by": f"{loaders[s.id]} ({s.source})" if loaders.get(s.id) and loaders[s.id] not in s.source else s.source,
                "files": ", ".join(s.files),
                "documents": s.rows.get("invoices", 0),
                "customers": s.rows.get("customers", 0),
                "warnings": s.warnings,
            }
            for s in newest
        ]
    )
    tables.show(hist, base, widths={"files": 300}, row_height=72)  # file names wrap over three lines (above 4rem), never cut
    others = [s.id for s in newest if not s.current]
    said_as = {s.id: f"{s.id}: as of {s.as_of}, loaded {utc(s.loaded_at)[:16]} UTC" for s in newest}
    # the snapshot loaded before the current one first: rolling back is most often undoing the last load
    cur_at = next((i for i, s in enumerate(newest) if s.current), 0)
    older = [s.id for s in newest[cur_at + 1 :]]
    first = others.index(older[0]) if older else 0
    r1, r2 = st.columns([3, 1])
    back = r1.selectbox(
        "Make an earlier snapshot current again",
        others or ["(no other snapshot)"],
        index=first,
        key="dp_rollback_id",
        format_func=lambda i: said_as.get(i, i),
    )
    if r2.button("Roll back", disabled=not others, key="dp_rollback", icon=":material/history:"):
        try:
            rollback(data, back, source=f"Data page ({common.user_name()})", user=common.user())
            st.session_state["dp_rolled_back"] = f"Snapshot {back} is current again; the newer ones are kept (roll forward the same way)."
            for k in ("dp_rollback_id", "dp_cmp_a", "dp_cmp_b"):  # the pickers start again from the new current snapshot
                st.session_state.pop(k, None)
            st.rerun()
        except UnknownSnapshot:
            st.error(f"Snapshot {back} is no longer in the data folder; nothing was changed.")
        except (DataBusy, SettingsError) as exc:  # a load is running: rolling back now would be undone by its switch
            st.error(said(exc), icon=":material/hourglass_top:")
    if done := st.session_state.pop("dp_rolled_back", None):
        st.success(done, icon=":material/history:")

with tab_compare:
    ids = [s.id for s in newest]
    if len(ids) < 2:
        st.info("Comparing needs two snapshots: load another extract first.")
    else:
        a, b = st.columns(2)
        # by default the snapshot before the current one against the current one (not simply the two newest)
        cur_at = next((i for i, s in enumerate(newest) if s.current), 0)
        prev_at = cur_at + 1 if cur_at + 1 < len(ids) else (1 if cur_at == 0 else cur_at - 1)
        said_cmp = {s.id: f"{s.id} (as of {s.as_of}{', current' if s.current else ''})" for s in newest}
        before = a.selectbox("Before", ids, index=prev_at, key="dp_cmp_a", format_func=lambda i: said_cmp.get(i, i))
        after = b.selectbox("After", ids, index=cur_at, key="dp_cmp_b", format_func=lambda i: said_cmp.get(i, i))
        out = common.cached_compare(before, after)
        st.caption(f"Each snapshot at its own as-of date: {out['as_of'][0]} and {out['as_of'][1]}. Amounts in {base}.")
        # figures of different units, each already written in its own: right-aligned text
        right_aligned = {c: st.column_config.TextColumn(label(c, base), alignment="right") for c in ("before", "after", "change")}
        tables.show(compare_rows(out["figures"]), base, override=right_aligned)
        left, right = st.columns(2)
        with left:
            st.markdown(f"**New overdue customers** ({out['new_overdue'].height:,})")
            tables.show(out["new_overdue"], base)
        with right:
            st.markdown(f"**Credit limit changes** ({out['limit_changes'].height:,})")
            tables.show(out["limit_changes"], base)

with tab_audit:
    log = data.read_audit()
    if not log:
        st.info("Nothing loaded, refused or rolled back yet.")
    else:
        tables.show(
            pl.DataFrame(
                [
                    {
                        "time": utc(e["time"]),
                        "user": e.get("user"),
                        "event": e["event"],
                        "outcome": e.get("outcome"),
                        "snapshot": e.get("snapshot") or e.get("rejected"),
                        "source": e.get("source"),
                        "details": audit_details(e),
                        "files": ", ".join(f"{f['name']} ({f['sha256'][:12]})" for f in e.get("files", [])),
                    }
                    for e in reversed(log)
                ]
            ),
            base,
            # here each file is named with the start of its SHA-256 (the snapshot list names files only)
            override={"files": st.column_config.TextColumn("Files (SHA-256)", width=520)},
            widths={"details": "medium"},  # short here ("6 documents, 2 warning(s)"): room for the files
            row_height=72,  # three lines: five files with the start of their SHA-256 are read, not cut
        )
