"""Ingest an extract: read, check it whole, and only then publish a snapshot.

The steps live apart: read.py finds and reads the files, parse.py types each table
and names the values that do not parse, checks.py checks the extract as a whole
(ledger-contract.md) and builds the snapshot's tables, store/derive.py computes the
compact tables. This module only runs them in order: keep the analyst's files,
read and parse each file, check, then publish (or keep the refused extract with
its report). Nothing becomes visible until the whole snapshot is written: see
store/snapshots.py for the atomic switch.

A load holds the data folder's lock (store/lock.py) from before it touches anything to its
recorded outcome, records its intent (`load.started`) before any work, and works in a staging
folder of its own (store/staging.py); a Check works in its own staging folder without the lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dashboard.load.checks import check_and_build
from dashboard.load.declare import Declared
from dashboard.load.inbox import original_names, unique_name
from dashboard.load.layouts import Layout, LayoutError, Part, read_tables
from dashboard.load.layouts import detect as detect_layout
from dashboard.load.layouts import resolve as resolve_layout
from dashboard.load.limits import InputRefused
from dashboard.load.parse import parse_table
from dashboard.load.read import IngestUsageError, expand, read_raw, table_from_name
from dashboard.load.report import Report, unreadable_words
from dashboard.settings import Settings
from dashboard.store.derive import derive
from dashboard.store.lock import DataBusy, Holder, LoadLock, hold
from dashboard.store.snapshots import DataDir, SnapshotInfo, fsync_dir, fsync_tree, new_id, sha256
from dashboard.store.staging import own, remove_stale
from dashboard.workbench.identity import User, local_user, require

__all__ = ["DataBusy", "IngestResult", "IngestUsageError", "Progress", "ingest", "load_lock"]

Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    report: Report
    snapshot: SnapshotInfo | None = None
    kept_at: Path | None = None  # the snapshot's source/ when loaded; rejected/<id>/ when refused
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.snapshot is not None


@dataclass
class _Extract:
    """The typed tables read so far, and for each the file it came from and its row offset."""

    typed: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # table -> file name
    offsets: dict[str, int] = field(default_factory=dict)
    layouts: dict[str, str] = field(default_factory=dict)  # file name -> layout used


def ingest(
    paths: list[Path],
    data: DataDir,
    settings: Settings,
    as_of: dt.date | None = None,
    source: str = "ingest",
    progress: Progress | None = None,
    layout: str | None = None,
    dry_run: bool = False,
    user: User | None = None,
    lock: LoadLock | None = None,
    declared: Declared | None = None,
) -> IngestResult:
    """Check an extract whole; publish it as the current snapshot, or keep it with its report.

    dry_run: only check and report (the Data page's "Check" step); nothing is kept, loaded or recorded,
    and the data folder's lock is not taken (store/staging.py says why).
    lock: the data folder's lock when the caller holds it already (the demo, which takes it before it
    writes its extract); otherwise a load takes it, and raises DataBusy, having touched nothing, when
    another load keeps it longer than O2C_LOCK_WAIT_SECONDS.
    declared: the formats the analyst declared for this check or load only (declare.py, the Data page's choice where
    a file's values cannot decide them); kept in the report's facts and, for a load, in the audit trail with it.
    """
    actor = user or local_user()  # the CLI and the demo act as the operating-system user (local mode: admin)
    require(actor, "credit_analyst", "load extracts")
    t0 = time.perf_counter()
    step = progress or _quiet
    elapsed = lambda: time.perf_counter() - t0  # noqa: E731
    files = expand(paths)
    declared = declared or Declared()
    if dry_run:
        data.ensure()
        with own(data.staging, new_id()) as staging:
            step(0.02, "Keeping a copy of the files")
            report, timings = Report(), dict[str, float]()
            hashes = _keep_inputs(files, staging / "source", report)
            files = [staging / "source" / name for name in hashes]  # a Check reads what a load would read
            _read_and_check(files, data, settings, as_of, layout, report, timings, step, elapsed, declared)
        return IngestResult(report, None, None, elapsed(), timings)
    with load_lock(data, actor, source, step) if lock is None else nullcontext(lock) as held:
        data.ensure()
        remove_stale(data.staging, held)  # refuses a lock not held, or another folder's
        sid = new_id()
        with own(data.staging, sid) as staging:
            # The intent first: a load killed from here on is in the trail, as interrupted (o2c snapshots).
            said = {"declared_formats": declared.to_json()} if declared else {}
            data.record_load("started", sid, actor, source=source, files=[f.name for f in files], data_folder=str(data.root), **said)
            try:
                return _load(files, data, settings, as_of, layout, source, actor, sid, staging, step, elapsed, declared)
            except Exception as exc:  # the outcome, even of a load that stopped on an error (disk full, ...)
                data.record_load("failed", sid, actor, source=source, outcome="failed", error=f"{type(exc).__name__}: {exc}")
                raise


@contextmanager
def load_lock(data: DataDir, actor: User, source: str, step: Progress | None = None) -> Iterator[LoadLock]:
    """The data folder's lock for a load by `actor`; while it waits for another load, `step` says for whom."""

    def waiting(h: Holder | None) -> None:
        if step is not None:
            who = f" by {h.user} since {h.since_text()} UTC" if h else ""
            step(0.0, f"Waiting for the load{who}")

    with hold(data.root, actor.name, source, waiting=waiting) as lock:
        yield lock


def _load(
    files: list[Path],
    data: DataDir,
    settings: Settings,
    as_of: dt.date | None,
    layout: str | None,
    source: str,
    actor: User,
    sid: str,
    staging: Path,
    step: Progress,
    elapsed: Callable[[], float],
    declared: Declared,
) -> IngestResult:
    """Keep, read, check, then publish or refuse: the work of a load that holds the lock and its staging folder."""
    # The analyst's files, byte for byte, before anything else can fail.
    step(0.02, "Keeping a copy of the files")
    report = Report()
    hashes = _keep_inputs(files, staging / "source", report)
    files = [staging / "source" / name for name in hashes]  # what is read is what was kept and hashed
    timings: dict[str, float] = {}
    built = _read_and_check(files, data, settings, as_of, layout, report, timings, step, elapsed, declared)
    if built is None or not report.ok:
        return IngestResult(report, None, _reject(data, staging, sid, report, hashes, source, actor), elapsed(), timings)
    try:
        manifest = _write_snapshot(built, staging, sid, report, settings, source, hashes, timings, step, elapsed)
    except Exception:  # a snapshot that cannot be built is refused whole, inputs kept
        log.exception("snapshot %s could not be built", sid)
        report.add(
            "error",
            ", ".join(f.name for f in files),
            "internal error",
            "the snapshot could not be built; nothing was loaded (the details are in the server log)",
        )
        return IngestResult(report, None, _reject(data, staging, sid, report, hashes, source, actor), elapsed(), timings)
    info = _publish(data, staging, sid, manifest, report, source, step, actor)
    return IngestResult(report, info, info.path / "source", elapsed(), timings)


def _quiet(frac: float, msg: str) -> None:
    pass


def _keep_inputs(files: list[Path], folder: Path, report: Report | None = None) -> dict[str, str]:
    """Copy the files byte for byte into `folder`; their sha256 by kept name, in the order given.

    Two inputs of one name (from two folders, or two uploads whose names reduce to one) are kept side by
    side as "x.csv" and "x (2).csv"; the report's facts say where each came from (`inputs`: kept name ->
    the path given, or for an upload the name the browser gave). A file is opened without following a link
    and copied only if it is still a regular file then (expand() refused the others by name already).
    """
    folder.mkdir()
    hashes: dict[str, str] = {}
    taken: set[str] = set()
    origins: dict[str, str] = {}
    for f in files:
        name = unique_name(f.name, taken)
        taken.add(name.casefold())
        fd = os.open(f, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IngestUsageError(f"{f}: not a regular file (nothing was read or kept)")
            with open(folder / name, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        hashes[name] = sha256(folder / name)
        origins[name] = original_names(f.parent).get(f.name, str(f))
    if report is not None:
        report.facts["inputs"] = origins
    return hashes


def _read_and_check(
    files: list[Path],
    data: DataDir,
    settings: Settings,
    as_of: dt.date | None,
    layout: str | None,
    report: Report,
    timings: dict[str, float],
    step: Progress,
    elapsed: Callable[[], float],
    declared: Declared,
) -> dict[str, pl.DataFrame] | None:
    """Read and parse every file, then check the extract whole; the snapshot's tables, or None if refused."""
    if declared:
        report.facts["declared_formats"] = declared.to_json()
    try:
        extract = _Extract()
        fixed = resolve_layout(layout, data.root) if layout else None
        for i, f in enumerate(files):
            step(0.05 + 0.3 * i / len(files), f"Reading and checking {f.name}")
            _read_file(f, files, fixed, data.root, extract, report, declared)
        report.facts["layouts"] = extract.layouts
        if "invoices" not in extract.files and report.ok:
            report.add(
                "error",
                ", ".join(f.name for f in files),
                "missing table",
                "no invoices table: name the file with the documents invoices.csv (or .parquet), or choose a layout with --layout",
            )
        timings["read_parse"] = elapsed()
        built = None
        if report.ok:
            step(0.4, "Checking the extract as a whole")
            built = check_and_build(extract.typed, extract.files, extract.offsets, report, settings, as_of)
        extract.typed.clear()  # the typed frames live on in `built` only as far as they are still needed
        timings["checks"] = elapsed()
        return built
    except Exception:  # never a traceback for the analyst, never a half load; the details go to the log
        log.exception("checking %s failed", ", ".join(f.name for f in files))
        report.add(
            "error",
            ", ".join(f.name for f in files),
            "internal error",
            "the extract could not be processed (an unexpected problem, written to the log); nothing was loaded",
        )
        return None


def _read_file(f: Path, files: list[Path], fixed: Layout | None, root: Path, extract: _Extract, report: Report, declared: Declared) -> None:
    """Read one file, find its layout, and parse each table it holds into `extract` (problems into the report).

    The file's text goes when this returns, before the next file is read.
    """
    if f.stat().st_size == 0:
        report.add(
            "error",
            f.name,
            "empty file",
            "the file is empty (0 bytes), not even a header line: export it again, or leave "
            "it out if that table has nothing (payments, customers, orders and fx are optional)",
        )
        return
    try:
        raw, offset = read_raw(f)
        header = raw.collect_schema().names()
    except InputRefused as exc:  # beyond a limit, a formula without a value, an encoding that cannot be told
        exc.add_to(report, f.name)
        return
    except Exception:  # a file no reader can read at all (the reader's own words are jargon to an analyst)
        report.add("error", f.name, "unreadable file", unreadable_words(f.suffix))
        return
    hint = table_from_name(f, lone=len(files) == 1)
    lay = fixed or _detect(f, header, hint, len(files) > 1, root, report)
    if lay is None:
        return
    extract.layouts[f.name] = lay.name
    parts = _tables_of(f, raw, offset, lay, hint, report, declared)
    for name, part in parts.items():
        if name in extract.files:
            report.add("error", f.name, "duplicate table", f"two files hold the {name} table ({extract.files[name]} and {f.name}); give one file per table")
            continue
        extract.files[name], extract.offsets[name] = f.name, offset
        t = parse_table(name, part.frame, f.name, offset, report, source=f, notes=part.notes)
        if t is not None:
            extract.typed[name] = t


def _detect(f: Path, header: list[str], hint: str | None, many: bool, root: Path, report: Report) -> Layout | None:
    """The layout whose headings fit the header; None (reported) when none or two fit a file not named like a table."""
    try:
        return detect_layout(header, f.name, root, hint or "invoices")
    except LayoutError as exc:
        if table_from_name(f, lone=False) is None:
            move = "\nIf this file is not part of the extract (notes, a readme), move it out of the folder."
            report.add("error", f.name, "unknown layout", str(exc).removeprefix(f"{f.name}: ") + (move if many else ""))
            return None
        # Named like a contract table (invoices.csv): the generic check says exactly which column is missing.
        return resolve_layout("generic", root)


def _tables_of(f: Path, raw: pl.LazyFrame, offset: int, lay: Layout, hint: str | None, report: Report, declared: Declared) -> dict[str, Part]:
    """The contract tables a file holds, by name: the file itself (generic layout) or what its layout maps."""
    if lay.generic:
        if hint is None:
            report.add(
                "error",
                f.name,
                "unknown table",
                "cannot tell which table this file holds; name it invoices, payments, customers, orders or fx (e.g. invoices.csv)",
            )
            return {}
        return {hint: Part(raw)}
    return read_tables(lay, raw.with_row_index("_row").collect(), f.name, report, offset, declared.numbers(f.name), declared.order(f.name))


def _write_snapshot(
    built: dict[str, pl.DataFrame],
    staging: Path,
    sid: str,
    report: Report,
    settings: Settings,
    source: str,
    hashes: dict[str, str],
    timings: dict[str, float],
    step: Progress,
    elapsed: Callable[[], float],
) -> dict:
    """Write the tables, the derived tables, the report and the manifest into the staging folder; the manifest."""
    step(0.5, "Writing the snapshot")
    tdir = staging / "tables"
    tdir.mkdir()
    for name in list(built):
        built.pop(name).write_parquet(tdir / f"{name}.parquet", compression="zstd", statistics=True)  # and let it go
    timings["write_tables"] = elapsed()
    step(0.7, "Building the compact tables")
    derived = derive(tdir, staging / "derived", spill=staging / "spill")
    timings["derive"] = elapsed()
    manifest = {
        "id": sid,
        "as_of": report.facts["as_of"],
        "base_currency": settings.base_currency,
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loaded_by": source,
        "source_files": _files(hashes),
        "rows": report.facts["rows"],
        "derived_rows": derived,
        "warnings": report.warning_count,
    }
    if report.facts.get("declared_formats"):  # how the files were read where their values could not tell
        manifest["declared_formats"] = report.facts["declared_formats"]
    (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _publish(data: DataDir, staging: Path, sid: str, manifest: dict, report: Report, source: str, step: Progress, actor: User) -> SnapshotInfo:
    """Switch to the new snapshot atomically and log the load."""
    step(0.95, "Switching to the new snapshot")
    info = data.publish(staging, sid)
    data.audit(
        "load",
        actor,
        snapshot=sid,
        source=source,
        files=manifest["source_files"],
        outcome="loaded",
        warnings=report.warning_count,
        rows=manifest["rows"],
        **_declared(report),
    )
    step(1.0, "Loaded")
    return info


def _reject(data: DataDir, staging: Path, sid: str, report: Report, hashes: dict[str, str], source: str, actor: User) -> Path:
    """Keep the refused files byte for byte with their report; the current snapshot is untouched."""
    (staging / "report.txt").write_text(report.to_text() + "\n", encoding="utf-8")
    (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
    target = data.rejected / sid
    fsync_tree(staging)  # on disk before the refusal is recorded, as a snapshot is before its load
    shutil.move(str(staging), target)
    fsync_dir(data.rejected)
    data.audit("refusal", actor, rejected=sid, source=source, files=_files(hashes), outcome="refused", errors=report.error_count, **_declared(report))
    return target


def _declared(report: Report) -> dict[str, list]:
    """The formats declared for this load, for its entry in the audit trail (none: no key)."""
    return {"declared_formats": report.facts["declared_formats"]} if report.facts.get("declared_formats") else {}


def _files(hashes: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "sha256": h} for n, h in hashes.items()]
