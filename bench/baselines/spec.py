"""The few formulas of kpis.md that are pure arithmetic on scalars, shared by the baselines.

Written from ../../shared/spec/kpis.md alone (nothing imported from dashboard/): the date
windows, the countback walk, the ratio rule, the rounding of the Headline JSON and its keys.
Each baseline computes the building blocks (AR at a date, sales in a window, positions per
customer...) its own way and hands them to `headline` / `trend_point` here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

BASE = "USD"
P = 90  # DSO and CEI window (days)
W = 365  # payment-behaviour window (days)
EDGES = (0, 30, 60, 90, 180)  # aging edges: not_due = dpd <= 0, then (0, 30], (30, 60] ...
TREND_MONTHS = 12
COUNTBACK_MAX = 24
UNASSIGNED = "Unassigned"
EPOCH = dt.date(1970, 1, 1)
BUCKETS = ["not_due"] + [f"{a + 1}_{b}" for a, b in zip(EDGES, EDGES[1:])] + [f"{EDGES[-1] + 1}_plus"]


def day(d: dt.date) -> int:
    """Days since 1970-01-01 (the integer the baselines compare dates as)."""
    return (d - EPOCH).days


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def prior_month_end(d: dt.date) -> dt.date:
    return d.replace(day=1) - dt.timedelta(days=1)


def trend_dates(t: dt.date, months: int = TREND_MONTHS) -> list[dt.date]:
    """kpis.md Trends: the `months` month-ends before T's month (oldest first), then T."""
    out, m = [], prior_month_end(t)
    for _ in range(months):
        out.append(m)
        m = prior_month_end(m)
    return out[::-1] + [t]


def countback_periods(t: dt.date) -> list[tuple[dt.date, dt.date, int]]:
    """(first day, last day, days) of the countback periods: T's month to date, then whole months back."""
    out = [(t.replace(day=1), t, t.day)]
    end = prior_month_end(t)
    for _ in range(COUNTBACK_MAX - 1):
        out.append((end.replace(day=1), end, end.day))
        end = prior_month_end(end)
    return out


def countback_bounds(t: dt.date):
    """countback_periods as numpy arrays (first day, last day, days; days since 1970)."""
    import numpy as np

    m = np.datetime64(t, "M") - np.arange(COUNTBACK_MAX)
    first = m.astype("datetime64[D]").astype(np.int64)
    last = (m + 1).astype("datetime64[D]").astype(np.int64) - 1
    last[0] = day(t)
    return first, last, last - first + 1


def countback(ar: float, periods: list[tuple[float, int]]) -> float:
    """dso_countback from (sales, days) per period, most recent first (kpis.md DSO)."""
    if ar <= 0:
        return 0.0
    remaining, dso = ar, 0.0
    for s, d in periods[:COUNTBACK_MAX]:
        if s <= 0:
            dso += d
        elif remaining >= s:
            dso += d
            remaining -= s
        else:
            dso += d * remaining / s
            break
        if remaining <= 0:
            break
    return dso


def ratio(num: float | None, den: float | None) -> float | None:
    """Any ratio whose denominator is <= 0 is null."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def dso_window(t: dt.date) -> tuple[dt.date, dt.date]:
    return t - dt.timedelta(days=P - 1), t


def pay_window(t: dt.date) -> tuple[dt.date, dt.date]:
    return t - dt.timedelta(days=W - 1), t


def r2(x):
    return None if x is None else round(float(x), 2) + 0.0


def r4(x):
    return None if x is None else round(float(x), 4) + 0.0


@dataclass
class Segment:
    """One segment's sums over its customers at T (kpis.md "Segment")."""

    segment: str
    ar: float
    ar_overdue: float
    open_orders: float
    exposure: float
    limit_sum: float  # over customers that have a limit
    customers_with_limit: int
    exposure_with_limit: float
    over_limit: int
    sales_window: float  # Sales(T-P+1, T) of the segment's customers


@dataclass
class Parts:
    """The building blocks of one date's headline, however a baseline got them."""

    t: dt.date
    ar: float
    current: float
    disputed: float
    aging: list[float]  # per bucket, BUCKETS order
    sales_window: float
    countback_sales: list[float]  # per countback period, most recent first
    ar_before_window: float  # AR(T-P): the cei's AR(a-1)
    paid_amount: float  # payment behaviour over (T-W, T], documents with amount > 0
    paid_x_days_to_pay: float
    paid_x_days_late: float
    paid_count: int
    paid_on_time: int
    open_orders: float
    customers: int
    customers_with_limit: int
    over_limit: int
    top10_ar: float
    segments: list[Segment] = field(default_factory=list)


def payment_behaviour(amount: float, x_pay: float, x_late: float, n: int, on_time: int) -> tuple:
    if n == 0:
        return None, None, None
    return ratio(x_pay, amount), ratio(x_late, amount), ratio(on_time, n)


def headline(p: Parts, rounded: bool = False) -> dict:
    """The Headline JSON of kpis.md; unrounded unless asked (the bench compares exact values)."""
    R2, R4 = (r2, r4) if rounded else ((lambda x: None if x is None else float(x)),) * 2
    overdue = p.ar - p.current
    std = ratio(p.ar, p.sales_window)
    best = ratio(p.current, p.sales_window)
    dso = None if std is None else std * P
    bp = None if best is None else best * P
    cb = countback(p.ar, list(zip(p.countback_sales, countback_bounds(p.t)[2].tolist())))
    cei_den = p.ar_before_window + p.sales_window - p.current
    cei = ratio(p.ar_before_window + p.sales_window - p.ar, cei_den)
    adp, late, on_time = payment_behaviour(p.paid_amount, p.paid_x_days_to_pay, p.paid_x_days_late, p.paid_count, p.paid_on_time)
    segs = []
    for s in sorted(p.segments, key=lambda s: s.segment):
        sd = ratio(s.ar, s.sales_window)
        segs.append(
            {
                "segment": s.segment,
                "ar_total": R2(s.ar),
                "ar_overdue": R2(s.ar_overdue),
                "open_orders": R2(s.open_orders),
                "exposure": R2(s.exposure),
                "credit_limit": R2(s.limit_sum) if s.customers_with_limit else None,
                "utilization": R4(ratio(s.exposure_with_limit, s.limit_sum)) if s.customers_with_limit else None,
                "over_limit_customers": int(s.over_limit),
                "dso_standard": R2(None if sd is None else sd * P),
            }
        )
    return {
        "as_of": p.t.isoformat(),
        "base_currency": BASE,
        "ar_total": R2(p.ar),
        "ar_current": R2(p.current),
        "ar_overdue": R2(overdue),
        "pct_overdue": R4(ratio(overdue, p.ar)),
        "aging": {name: R2(v) for name, v in zip(BUCKETS, p.aging)},
        "dso_standard": R2(dso),
        "dso_countback": R2(cb),
        "bpdso": R2(bp),
        "add": R2(None if dso is None or bp is None else dso - bp),
        "cei": R2(None if cei is None else cei * 100),
        "adp": R2(adp),
        "avg_days_late": R2(late),
        "on_time_rate": R4(on_time),
        "disputed_ar": R2(p.disputed),
        "open_orders": R2(p.open_orders),
        "exposure_total": R2(p.ar + p.open_orders),
        "customers": int(p.customers),
        "customers_with_limit": int(p.customers_with_limit),
        "over_limit_customers": int(p.over_limit),
        "concentration_top10": R4(ratio(p.top10_ar, p.ar)),
        "by_segment": segs,
    }


def trend_point(
    m: dt.date, ar: float, current: float, sales_window: float, countback_sales: list[float], ar_month_before: float, sales_month: float, adp: float | None
) -> dict:
    """One month-end of kpis.md Trends: cei over the month [first day, m]."""
    std, best = ratio(ar, sales_window), ratio(current, sales_window)
    cei = ratio(ar_month_before + sales_month - ar, ar_month_before + sales_month - current)
    return {
        "date": m,
        "ar": ar,
        "ar_overdue": ar - current,
        "dso_standard": None if std is None else std * P,
        "dso_countback": countback(ar, list(zip(countback_sales, countback_bounds(m)[2].tolist()))),
        "bpdso": None if best is None else best * P,
        "cei": None if cei is None else cei * 100,
        "adp": adp,
    }


def dates_needed(t: dt.date) -> list[dt.date]:
    """Every date at which the overview for T needs AR (and current AR): T, the prior month-end, the
    trend's month-ends, the day before each trend month, and T-P for both headlines' cei."""
    pme = prior_month_end(t)
    out = {t, pme, t - dt.timedelta(days=P), pme - dt.timedelta(days=P)}
    for m in trend_dates(t):
        out.add(m)
        out.add(m.replace(day=1) - dt.timedelta(days=1))
    return sorted(out)
