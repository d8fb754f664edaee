"""The audit trail: one append-only table, each row chained to the one before by a hash.

hash = sha256(prev_hash + canonical JSON of the row without hash), the JSON canonicalised as
RFC 8785 (the `rfc8785` package), `at` in ISO 8601 UTC, `details` an object; the first row's
prev_hash is 64 zeros (access.md). Changing, removing or reordering any row breaks the chain
from that row on, which `verify` names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import rfc8785
import sqlalchemy as sa

from dashboard.workbench.identity import User
from dashboard.workbench.schema import audit

GENESIS = "0" * 64
FIELDS = ("seq", "at", "user", "role", "action", "object_type", "object_id", "snapshot_id", "details", "prev_hash")


def row_hash(row: dict[str, Any]) -> str:
    """The hash of a row (a dict with FIELDS; details as an object)."""
    body = {k: row[k] for k in FIELDS}
    return hashlib.sha256(row["prev_hash"].encode("ascii") + rfc8785.dumps(body)).hexdigest()


def _plain(value: Any) -> Any:
    """details as JSON values only (dates as ISO text), so the hash can be recomputed from the stored text."""
    return json.loads(json.dumps(value, default=str))


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def append(
    conn: sa.Connection,
    user: User | str,
    action: str,
    object_type: str,
    object_id: str,
    snapshot_id: str | None = None,
    details: dict[str, Any] | None = None,
    role: str | None = None,
    at: str | None = None,
) -> int:
    """Append one event inside the caller's transaction; returns its sequence number."""
    if conn.dialect.name == "postgresql":
        # Appends are serialised: two writers must not both chain onto the same last row.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(815004)"))
    last = conn.execute(sa.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1)).first()
    name = user.name if isinstance(user, User) else user
    if isinstance(user, User) and user.via:  # e.g. "CLI, OS user root": which account acted for the person
        details = (details or {}) | {"via": user.via}
    row = {
        "seq": (last.seq + 1) if last else 1,
        "at": at or now(),
        "user": name,
        "role": role or (user.role if isinstance(user, User) and user.role else "none"),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "snapshot_id": snapshot_id,
        "details": _plain(details or {}),
        "prev_hash": last.hash if last else GENESIS,
    }
    h = row_hash(row)
    conn.execute(audit.insert().values(**{**row, "details": json.dumps(row["details"], sort_keys=True), "hash": h}))
    return int(row["seq"])


@dataclass(frozen=True)
class Broken:
    seq: int
    why: str


def verify(conn: sa.Connection) -> Broken | None:
    """Recompute the chain; the first row that does not match, or None when every row does."""
    prev, expected_seq = GENESIS, 1
    for r in conn.execute(sa.select(audit).order_by(audit.c.seq)).mappings():
        if r["seq"] != expected_seq:
            return Broken(r["seq"], f"row {expected_seq} is missing (the next row is {r['seq']})")
        if r["prev_hash"] != prev:
            return Broken(r["seq"], "its link to the row before does not match (a row before it was changed or removed)")
        row = dict(r) | {"details": json.loads(r["details"])}
        if row_hash(row) != r["hash"]:
            return Broken(r["seq"], "its content does not match its hash (the row was changed)")
        prev, expected_seq = r["hash"], expected_seq + 1
    return None


def events(
    conn: sa.Connection,
    user: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Events newest first, filtered; details as objects."""
    q = sa.select(audit).order_by(audit.c.seq.desc())
    for col, value in ((audit.c.user, user), (audit.c.action, action), (audit.c.object_type, object_type), (audit.c.object_id, object_id)):
        if value is not None:
            q = q.where(col == value)
    if since is not None:
        q = q.where(audit.c.at >= since.isoformat())
    if until is not None:
        q = q.where(audit.c.at < (until + dt.timedelta(days=1)).isoformat())
    if limit is not None:
        q = q.limit(limit)
    return [dict(r) | {"details": json.loads(r["details"])} for r in conn.execute(q).mappings()]


def import_legacy_log(conn: sa.Connection, lines: list[dict[str, Any]], file_sha256: str) -> int:
    """Append the lines of an audit.log written before the trail existed (once: a marker event names the
    file's hash, so a second call with the same file imports nothing). Returns the lines imported."""
    done = conn.execute(sa.select(audit.c.seq).where(audit.c.action == "audit.import", audit.c.object_id == file_sha256)).first()
    if done is not None:
        return 0
    for n, line in enumerate(lines, 1):
        rest = {k: v for k, v in line.items() if k not in ("time", "user", "event")}
        sid = rest.get("snapshot") or rest.get("rejected")
        when = str(line.get("time", ""))
        at = dt.datetime.fromisoformat(when).astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z") if when else now()
        # Earlier versions ran in local mode only: the operating-system account, which acts as admin there.
        append(
            conn,
            str(line.get("user", "unknown")),
            f"snapshot.{line.get('event', 'event')}",
            "snapshot",
            str(sid or ""),
            rest.get("snapshot"),
            rest | {"imported_from": f"audit.log line {n}"},
            role="admin",
            at=at,
        )
    append(conn, "system", "audit.import", "file", file_sha256, None, {"file": "audit.log", "lines": len(lines)}, role="admin")
    return len(lines)
