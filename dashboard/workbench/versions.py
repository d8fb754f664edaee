"""Optimistic versions: every update of an existing workbench row names the version its user saw.

Two people open the same customer, both change its collector: the first write wins and moves the row's
version on; the second is refused with who changed it and when ("changed by olga at 14:05 UTC ...:
reload"), never silently written over the first (access.md "The store"). Rows that take part carry
`version`, `updated_by` and `updated_at`; notes use this today, assignments too, and promises, cases and
requests are meant to (`versioned_write` inside the caller's transaction, before its audit entry).

`seen` is what the user's screen was drawn from: the row's version, 0 when there was no row yet, or None
for a caller that read nothing earlier (a one-shot command that reads and writes in the same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict
from dashboard.workbench.identity import User


@dataclass(frozen=True)
class Versioned:
    before: dict[str, Any] | None  # the row as it was (None: there was none)
    version: int  # the row's version now


def stale(what: str, row: Any) -> str:
    """The refusal a user reads when `what` moved on since their screen was drawn."""
    if row is None:
        return f"{what} was removed since you opened it: reload."
    at = str(row["updated_at"])[11:16]
    return f"{what} was changed by {row['updated_by']} at {at} UTC since you opened it: reload, then edit again."


def version_of(conn: sa.Connection, table: sa.Table, key: dict[str, Any]) -> int:
    """The version a screen is drawn from: the row's, or 0 when there is no row yet."""
    v = conn.execute(sa.select(table.c.version).where(*(table.c[k] == val for k, val in key.items()))).scalar()
    return int(v) if v is not None else 0


def versioned_write(conn: sa.Connection, table: sa.Table, key: dict[str, Any], seen: int | None, values: dict[str, Any], user: User, what: str) -> Versioned:
    """Insert or update the row `key` of `table` with `values`, if it is still at version `seen`; else Conflict.

    The UPDATE itself checks the version (WHERE version = seen), so the check holds even when two writers
    read the same version at the same moment: on PostgreSQL the second UPDATE waits for the first to commit
    and then matches no row; on SQLite the store's BEGIN IMMEDIATE makes the second start after the first.
    """
    where = [table.c[k] == val for k, val in key.items()]
    cur = conn.execute(sa.select(table).where(*where)).mappings().first()
    have = 0 if cur is None else int(cur["version"])
    if seen is not None and seen != have:
        raise Conflict(stale(what, cur))
    stamped = values | {"updated_by": user.name, "updated_at": audit.now()}
    if cur is None:
        try:
            with conn.begin_nested():  # a savepoint: after a lost race the transaction can still read who won
                conn.execute(table.insert().values(**key, **stamped, version=1))
        except sa.exc.IntegrityError:
            # Another writer created the row between our read and our insert (PostgreSQL, read committed).
            raise Conflict(stale(what, conn.execute(sa.select(table).where(*where)).mappings().first())) from None
        return Versioned(None, 1)
    done = conn.execute(table.update().where(*where, table.c.version == have).values(**stamped, version=have + 1))
    if done.rowcount != 1:
        raise Conflict(stale(what, conn.execute(sa.select(table).where(*where)).mappings().first()))
    return Versioned(dict(cur), have + 1)
