"""Which as-of dates a snapshot can answer for: one rule for the sidebar's date picker and the `o2c --as-of` option.

A snapshot knows nothing after its own as-of date (no payment, no credit note, no new invoice): figures on a later
day would read every unpaid document as still open and, soon, everything as overdue. So a later date is refused,
not extrapolated.
"""

from __future__ import annotations

import datetime as dt


class AsOfAfterSnapshot(ValueError):
    """An as-of date after the snapshot's as-of date (the message names both)."""


def latest(snapshot_as_of: dt.date) -> dt.date:
    """The last day figures can be computed for: the snapshot's own as-of date."""
    return snapshot_as_of


def checked(snapshot_as_of: dt.date, t: dt.date | None) -> dt.date:
    """`t`, or the snapshot's as-of date when none is given; AsOfAfterSnapshot for a day after the snapshot's."""
    if t is None:
        return snapshot_as_of
    if t > latest(snapshot_as_of):
        raise AsOfAfterSnapshot(
            f"the as-of date {t.isoformat()} is after the snapshot's as-of date {snapshot_as_of.isoformat()}: the snapshot "
            "holds nothing later (no payment, no new document), so figures on that day would be guesses. "
            f"Choose {snapshot_as_of.isoformat()} or an earlier day, or load a newer extract"
        )
    return t


def allowed(first_day: dt.date, snapshot_as_of: dt.date, t: object) -> bool:
    """Whether `t` is a day the pages may show: from the ledger's first day to the snapshot's as-of date."""
    return isinstance(t, dt.date) and first_day <= t <= latest(snapshot_as_of)
