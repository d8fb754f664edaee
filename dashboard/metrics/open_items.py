"""Whether anything is open at a date, and when something last was: a ledger whose documents are all
settled by its as-of date (a historical extract) shows zeros everywhere, and the pages say why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.store import sql as queries


@dataclass(frozen=True)
class NothingOpen:
    """Nothing of the selection is open at `as_of`."""

    as_of: dt.date
    first_open: dt.date | None  # the first day a document of the selection was open (None: never)
    latest_open: dt.date | None  # the latest day up to the snapshot's as-of date with one open (None: never)

    @property
    def message(self) -> str:
        day = f"{self.as_of:%d %B %Y}"
        if self.latest_open is None or self.first_open is None:
            return f"Nothing is open on {day}, nor on any earlier date: no document of this selection was ever open."
        why = "no document was open yet" if self.as_of < self.first_open else "every document was settled by then"
        return f"Nothing is open on {day}: {why}. The latest date with open items is {self.latest_open:%d %B %Y}."


def open_items(eng: Engine, t: dt.date, f: Filters = ALL) -> int:
    """Open items of the selection at T (receivables/open_count_at.sql's count, from the engine's arrays)."""
    return eng.positions.open_count(t, f)


def latest_open_date(eng: Engine, f: Filters = ALL) -> dt.date | None:
    """The latest date, up to the snapshot's as-of date, on which the selection has an open item."""
    return _open_dates(eng, f)[1]


def nothing_open(eng: Engine, t: dt.date | None = None, f: Filters = ALL) -> NothingOpen | None:
    """None when the selection has something open at T; else the dates to explain it and to go to."""
    t = t or eng.as_of
    if open_items(eng, t, f):
        return None
    first, latest = _open_dates(eng, f)
    return NothingOpen(t, first, latest)


def _open_dates(eng: Engine, f: Filters) -> tuple[dt.date | None, dt.date | None]:
    first, latest = queries.run(eng.con, "receivables/open_dates", last_day=eng.as_of, **f.params()).fetchall()[0]
    return first, latest
