"""The dunning policy's arithmetic that does not touch the ledger: rate periods and levels (dunning.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.settings import DunningSettings
from dashboard.workbench.errors import Refused

# The earliest day a fixed rate is applied from: any due date of a real ledger is later.
EPOCH = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class RatePeriods:
    """Parallel lists for queries/dunning/interest.sql: each period [start, end] inclusive, annual rate in percent."""

    starts: list[dt.date]
    ends: list[dt.date]
    rates: list[float]


def half_year_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 1 if d.month <= 6 else 7, 1)


def _next_half(h: dt.date) -> dt.date:
    return dt.date(h.year, 7, 1) if h.month == 1 else dt.date(h.year + 1, 1, 1)


def rate_periods(policy: DunningSettings, first_day: dt.date, t: dt.date) -> RatePeriods:
    """The rate of every day in [first_day, T]. Statutory: per half-year, the reference rate in force on its
    first day (1 January, 1 July) plus margin_points (Directive 2011/7/EU art. 2(7)); fixed: fixed_rate."""
    if policy.interest == "none" or first_day > t:
        return RatePeriods([], [], [])
    if policy.interest == "fixed":
        return RatePeriods([EPOCH], [t], [float(policy.fixed_rate or 0) * 100])
    table = policy.reference_rates
    starts, ends, rates = [], [], []
    h = half_year_start(first_day)
    while h <= t:
        in_force = [r for r in table if r.from_ <= h]
        if not in_force:
            raise Refused(
                f"statutory interest needs the reference rate in force on {h}, but [dunning] reference_rates starts on {table[0].from_}: "
                f"add {{ from = {h}, rate = ... }} (the ECB main refinancing rate then)."
            )
        nxt = _next_half(h)
        starts.append(h)
        ends.append(min(nxt - dt.timedelta(days=1), t))
        rates.append(round(in_force[-1].rate + policy.margin_points, 6))
        h = nxt
    return RatePeriods(starts, ends, rates)


def level_fee(policy: DunningSettings, level: int) -> float:
    return float(policy.levels[min(level, len(policy.levels)) - 1].fee) if level >= 1 else 0.0
