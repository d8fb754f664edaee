"""The data folder: immutable snapshots, the current pointer, kept inputs, audit log.

    data/
      CURRENT                  id of the current snapshot (replaced atomically)
      snapshots/<id>/          one folder per loaded extract, never modified
        manifest.json          as-of date, loaded at, source files + sha256, row counts
        report.json            the validation report (warnings)
        tables/*.parquet       the contract's tables, typed, amounts also in base currency
        derived/*.parquet      compact tables computed once per snapshot
        source/                the analyst's files, byte for byte
      rejected/<stamp>/        refused extracts, byte for byte, with report.txt / report.json
      workbench.sqlite         the workbench store (unless O2C_DB_URL / settings db_url name a server): the team's
                               records and the audit trail of every load, refusal and rollback
      audit.log.imported       the audit.log of earlier versions, kept after its lines moved into the audit trail
      inbox/                   folders of extracts to load (the Data page saves uploads here)
      .staging/<id>/           work in progress, one folder per load or Check, owned by its process while it
                               works (store/staging.py); a killed one's folder is removed by the next load
      .load.lock               one load at a time: who holds the folder and since when (store/lock.py)
      .staging.lock            taken for an instant while a staging folder is made or stale ones removed
      .tmp/                    DuckDB's spill files while a query runs (removed by DuckDB when done)

A snapshot becomes visible only when its folder is renamed into
`snapshots/` (atomic on one file system) and CURRENT is replaced with
`os.replace` (atomic too), so a load killed at any point leaves the
current data as it was. The audit trail gets the intent first
(`load.started`), the outcome only after the snapshot's files, its folder
and CURRENT are on disk (fsync): a snapshot without a completed load entry
is an orphan, a started load without an outcome was interrupted, and
`o2c snapshots` says so.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.store.lock import LOCK_FILE, hold
from dashboard.store.staging import in_use
from dashboard.workbench.identity import User, local_user, require

if TYPE_CHECKING:  # the store's libraries (SQLAlchemy, Alembic) load only when a record is written or read
    from dashboard.workbench.store import Store

MANIFEST = "manifest.json"


class UnknownSnapshot(LookupError):
    """No snapshot of the data folder has this id; `known` lists those it has (when the caller looked)."""

    def __init__(self, sid: str, known: tuple[str, ...] = ()):
        super().__init__(sid)
        self.sid = sid
        self.known = known


def default_data_dir() -> Path:
    return Path(os.environ.get("O2C_DATA", "data")).resolve()


def new_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    # Sortable to the millisecond, so listing order is loading order.
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}-" + secrets.token_hex(2)


def _plain_id(sid: str) -> bool:
    return bool(sid) and sid not in (".", "..") and "/" not in sid and "\\" not in sid and "\0" not in sid


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Every file and folder under root on disk (a folder's fsync makes the names in it durable)."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    path: Path
    manifest: dict

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["as_of"])


class DataDir:
    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def of(cls, snapshot: SnapshotInfo) -> DataDir:
        """The data folder a snapshot is in (snapshots/<id>/ of it)."""
        return cls(snapshot.path.parent.parent)

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def tmp(self) -> Path:
        """DuckDB's spill folder for queries over this folder's snapshots."""
        return self.root / ".tmp"

    def ensure(self) -> None:
        for p in (self.snapshots, self.staging, self.rejected):
            p.mkdir(parents=True, exist_ok=True)

    def current_id(self) -> str | None:
        try:
            sid = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return sid if (self.snapshots / sid / MANIFEST).exists() else None

    def current(self) -> SnapshotInfo | None:
        sid = self.current_id()
        return self.get(sid) if sid else None

    def get(self, sid: str) -> SnapshotInfo:
        if not _plain_id(sid):  # a path ("../other/data/snapshots/<id>") is never an id of this folder
            raise UnknownSnapshot(sid)
        path = self.snapshots / sid
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise UnknownSnapshot(sid) from exc
        return SnapshotInfo(sid, path, manifest)

    def list(self) -> list[SnapshotInfo]:
        if not self.snapshots.exists():
            return []
        out = []
        for p in sorted(self.snapshots.iterdir()):
            if (p / MANIFEST).exists():
                out.append(self.get(p.name))
        return out

    def publish(self, staged: Path, sid: str) -> SnapshotInfo:
        """Make a fully written staging folder a snapshot and the current one, on disk when this returns.

        Its files and folders are fsynced before the rename, both parent folders after it, and CURRENT
        before set_current returns: the outcome recorded next never names a snapshot a power cut could take.
        """
        fsync_tree(staged)
        target = self.snapshots / sid
        os.replace(staged, target)
        fsync_dir(self.snapshots)
        fsync_dir(staged.parent)
        self.set_current(sid)
        return self.get(sid)

    def set_current(self, sid: str) -> None:
        self.get(sid)  # raises UnknownSnapshot
        tmp = self.root / f".CURRENT.{secrets.token_hex(4)}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(sid + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        fsync_dir(self.root)  # the rename itself is durable only once the folder is

    def trail(self) -> Store:
        """The workbench store of this data folder, holding the audit trail; an audit.log of an earlier
        version is moved into it once (kept beside as audit.log.imported)."""
        from dashboard.settings import load_settings
        from dashboard.workbench import audit
        from dashboard.workbench.store import shared_store, store_url

        store = shared_store(store_url(self.root, load_settings(self.root).db_url))
        if self.audit_log.exists():
            text = self.audit_log.read_text(encoding="utf-8")
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            with store.begin() as conn:
                audit.import_legacy_log(conn, lines, hashlib.sha256(text.encode("utf-8")).hexdigest())
            os.replace(self.audit_log, self.root / "audit.log.imported")
        return store

    def record(
        self, action: str, object_type: str, object_id: str, user: User | None = None, snapshot_id: str | None = None, details: dict | None = None
    ) -> int:
        """Record any other action on this data folder's records in the audit trail (a scenario saved, an export)."""
        from dashboard.workbench import audit

        with self.trail().begin() as conn:
            return audit.append(conn, user or local_user(), action, object_type, object_id, snapshot_id, details or {})

    def audit(self, event: str, user: User | None = None, **fields) -> int:
        """Record a load, refusal or rollback in the audit trail, with who did it and on which data."""
        sid = fields.get("snapshot") or fields.get("rejected")
        files = fields.get("files")
        if files is None and fields.get("snapshot"):
            files = self.get(fields["snapshot"]).manifest["source_files"]
        from dashboard.workbench import audit

        details = dict(fields)
        if files:
            details["data_sha256"] = data_sha256(files)
        with self.trail().begin() as conn:
            return audit.append(conn, user or local_user(), f"snapshot.{event}", "snapshot", str(sid), fields.get("snapshot"), details)

    def record_load(self, event: str, sid: str, user: User, **details) -> int:
        """A load's own entries, apart from the snapshot's: `load.started` (its intent, before any work) and
        `load.failed` (it stopped on an error no report could hold). The outcome of a load that ran to the
        end is the snapshot's entry: `snapshot.load` or `snapshot.refusal` (object id = the load's id)."""
        return self.record(f"load.{event}", "load", sid, user, None, details)

    def read_audit(self) -> builtins.list[dict]:
        """The loads, refusals and rollbacks of the audit trail, oldest first, as the Data page lists them."""
        from dashboard.workbench import audit

        with self.trail().begin() as conn:
            events = audit.events(conn, object_type="snapshot")
        return [
            {"time": e["at"], "user": e["user"], "role": e["role"], "event": e["action"].removeprefix("snapshot."), **e["details"]} for e in reversed(events)
        ]


# ----------------------------------------------------------------------------- what the CLI and the Data page share


@dataclass(frozen=True)
class SnapshotRow:
    """One snapshot as the history lists it (`o2c snapshots`, the Data page)."""

    id: str
    as_of: str
    loaded_at: str
    source: str  # who or what loaded it: "o2c ingest", "Data page (alice)", "o2c demo ..."
    files: tuple[str, ...]
    rows: dict[str, int]  # table -> rows
    warnings: int
    current: bool
    # "loaded": its load is recorded as completed in the audit trail; "orphan": no completed load entry
    # (a load killed between the switch and its outcome, or a folder put there by hand)
    status: str = "loaded"


@dataclass(frozen=True)
class UnfinishedLoad:
    """A load whose `load.started` entry has no outcome and which left no snapshot."""

    id: str
    started_at: str
    user: str
    source: str
    files: tuple[str, ...]
    status: str  # "loading": its process is still working on it; "interrupted": it died (nothing of it became current)


@dataclass(frozen=True)
class _Trail:
    completed: frozenset[str]  # snapshot ids with a `snapshot.load` entry
    unfinished: tuple[dict, ...]  # `load.started` events without any outcome, oldest first


def _trail(data: DataDir) -> _Trail:
    from dashboard.workbench import audit

    with data.trail().begin() as conn:
        snap_events = audit.events(conn, object_type="snapshot")
        load_events = audit.events(conn, object_type="load")
    completed = frozenset(e["object_id"] for e in snap_events if e["action"] == "snapshot.load")
    ended = {e["object_id"] for e in snap_events if e["action"] in ("snapshot.load", "snapshot.refusal")}
    ended |= {e["object_id"] for e in load_events if e["action"] == "load.failed"}
    started = [e for e in reversed(load_events) if e["action"] == "load.started" and e["object_id"] not in ended]
    return _Trail(completed, tuple(started))


def snapshot_rows(data: DataDir) -> list[SnapshotRow]:
    """Every snapshot of the folder, oldest first (loading order), which one is current, and which are orphans."""
    cur = data.current_id()
    snaps = data.list()
    completed = _trail(data).completed if snaps else frozenset()
    return [
        SnapshotRow(
            id=s.id,
            as_of=s.manifest["as_of"],
            loaded_at=s.manifest["loaded_at"],
            source=s.manifest["loaded_by"],
            files=tuple(f["name"] for f in s.manifest["source_files"]),
            rows=dict(s.manifest["rows"]),
            warnings=int(s.manifest.get("warnings", 0)),
            current=s.id == cur,
            status="loaded" if s.id in completed else "orphan",
        )
        for s in snaps
    ]


def unfinished_loads(data: DataDir) -> list[UnfinishedLoad]:
    """Loads started and never finished, oldest first: still running, or interrupted (killed, the machine stopped).

    One killed after its switch left a snapshot: that one is listed by snapshot_rows as an orphan instead.
    """
    if not (data.root / LOCK_FILE).exists():  # no load ever started here: nothing to look up (and no store to create)
        return []
    have = {s.id for s in data.list()}
    return [
        UnfinishedLoad(
            id=e["object_id"],
            started_at=e["at"],
            user=e["user"],
            source=str(e["details"].get("source", "")),
            files=tuple(e["details"].get("files", [])),
            status="loading" if in_use(data.staging, e["object_id"]) else "interrupted",
        )
        for e in _trail(data).unfinished
        # a store may serve more than one data folder (one PostgreSQL for two folders): only this folder's loads
        if e["object_id"] not in have and e["details"].get("data_folder", str(data.root)) == str(data.root)
    ]


def history_line(r: SnapshotRow | UnfinishedLoad) -> str:
    """One line of `o2c snapshots`: * marks the current snapshot, ! what the audit trail does not vouch for."""
    if isinstance(r, UnfinishedLoad):
        when = r.started_at[:16].replace("T", " ")
        if r.status == "loading":
            return f"   {r.id}  LOADING: started {when} UTC by {r.user} ({r.source}), still running"
        return f" ! {r.id}  INTERRUPTED: started {when} UTC by {r.user} ({r.source}), no outcome recorded; nothing of it became current"
    mark = ("*" if r.current else " ") + ("!" if r.status == "orphan" else " ")
    line = f"{mark} {r.id}  as of {r.as_of}  loaded {r.loaded_at}  {r.rows.get('invoices', 0):>10,} documents  {r.source}"
    return line + ("  ORPHAN: no completed load in the audit trail" if r.status == "orphan" else "")


def data_sha256(files: builtins.list[dict]) -> str:
    """sha256 over the source files' names and hashes: which data a figure or a decision was made on."""
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f['name']}:{f['sha256']}\n".encode())
    return h.hexdigest()


def rollback(data: DataDir, sid: str, source: str, user: User | None = None) -> SnapshotInfo:
    """Make snapshot `sid` current again and log it (the newer ones are kept: roll forward the same way).

    `sid` must be one of the folder's own snapshots, as listed: anything else (a typo, a path such
    as "../rejected/<id>") raises UnknownSnapshot with the known ids, and nothing changes.
    """
    actor = user or local_user()
    require(actor, "admin", "roll back the company's data")
    known = tuple(s.id for s in data.list())
    if sid not in known:
        raise UnknownSnapshot(sid, known)
    # Under the load lock: a load publishing a moment later would silently undo the rollback (DataBusy instead).
    with hold(data.root, actor.name, source):
        data.set_current(sid)
        data.audit("rollback", actor, snapshot=sid, source=source, outcome="current")
    return data.get(sid)
