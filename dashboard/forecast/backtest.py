"""The forecast's track record on this ledger (forecast.md "Backtest"), beside two naive baselines.

At each backtest point M (a month-end with 13 weeks of hindsight before T) the forecast is made with
only what was known at M and compared week by week with what the documents open at M actually
brought in. The baselines place the same documents' open amounts on their due date, or on the due
date moved by the customer's mean delay; the three are scored the same way (WAPE per week, overall
WAPE and bias), so the page can say which one this ledger rewards.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.background import lower_priority
from dashboard.forecast.cashin import HORIZON_DAYS, WEEKS, day_number, open_documents, spread
from dashboard.forecast.history import SPAN, History, history
from dashboard.metrics.kpis import ALL, Engine, Filters, month_end, prior_month_end, ratio
from dashboard.store import sql as queries

METHODS = ("forecast", "due_date", "due_plus_delay")
METHOD_WORDS = {
    "forecast": "the forecast (each customer's own settlement history)",
    "due_date": "pays on the due date",
    "due_plus_delay": "due date + the customer's mean delay",
}


def backtest_points(eng: Engine, t: dt.date, n: int) -> list[dt.date]:
    """The n latest month-ends M < T with M + 91 <= T, oldest first; none before the ledger's first month."""
    out: list[dt.date] = []
    m = month_end(t) if month_end(t) < t else prior_month_end(t)
    first = month_end(eng.first_day)
    while len(out) < n and m >= first:
        if m + dt.timedelta(days=HORIZON_DAYS) <= t:
            out.append(m)
        m = prior_month_end(m)
    return out[::-1]


def half_up(x: np.ndarray) -> np.ndarray:
    """Round half up to whole days (-2.5 -> -2, 2.5 -> 3), as forecast.md says for the mean delay."""
    return np.floor(x + 0.5)


def mean_delay(h: History, m: int, w: int, customer: np.ndarray) -> np.ndarray:
    """d_c at M for each entry of `customer`: the amount-weighted mean of (settlement day - due date), signed,
    over the customer's documents with amount > 0 settled in the W days ending M, rounded half up; 0 without any."""
    who, back = np.unique(customer, return_inverse=True)  # each customer once, in order: short, sorted searches
    base = who * SPAN
    lo = np.searchsorted(h.delay_keys, base + (m - w + 1), side="left")
    hi = np.searchsorted(h.delay_keys, base + m, side="right")
    amount = h.cum_cents[hi] - h.cum_cents[lo]
    x = h.cum_cents_x_delay[hi] - h.cum_cents_x_delay[lo]
    d = np.divide(x, amount, out=np.zeros(len(who)), where=amount > 0)
    return half_up(d).astype(np.int64)[back]


def weeks_of(day: np.ndarray, m: int) -> np.ndarray:
    """Horizon week (1..13) of each day at M, a day on or before M in week 1; 14 = after week 13."""
    return np.clip((day - m + 6) // 7, 1, WEEKS + 1)


class MethodJson(TypedDict):
    wape: float | None
    bias: float | None


class BaselinesJson(TypedDict):
    due_date: MethodJson
    due_plus_delay: MethodJson


class BacktestJson(TypedDict):
    """forecast.md "Output": the backtest block of `o2c forecast --json`."""

    points: list[str]
    wape: float | None
    bias: float | None
    wape_by_week: list[float | None]
    baselines: BaselinesJson


@dataclass(frozen=True)
class Score:
    wape: float | None
    bias: float | None
    wape_by_week: list[float | None]


@dataclass(frozen=True)
class Backtest:
    points: list[dt.date]
    cells: pl.DataFrame  # point, week, actual, forecast, due_date, due_plus_delay: one row per point and week
    scores: dict[str, Score]  # method -> its figures

    @property
    def best(self) -> str | None:
        """The method with the lowest overall WAPE (the forecast on a tie); None without any actuals."""
        known = [(s.wape, i, m) for i, (m, s) in enumerate(self.scores.items()) if s.wape is not None]
        return min(known)[2] if known else None

    def to_json(self) -> BacktestJson:
        r4 = lambda x: None if x is None else round(x, 4) + 0.0  # noqa: E731
        f, d, p = self.scores["forecast"], self.scores["due_date"], self.scores["due_plus_delay"]
        return BacktestJson(
            points=[m.isoformat() for m in self.points],
            wape=r4(f.wape),
            bias=r4(f.bias),
            wape_by_week=[r4(x) for x in f.wape_by_week],
            baselines=BaselinesJson(due_date=MethodJson(wape=r4(d.wape), bias=r4(d.bias)), due_plus_delay=MethodJson(wape=r4(p.wape), bias=r4(p.bias))),
        )


def score(cells: pl.DataFrame, method: str) -> Score:
    """WAPE_k = sum over points |A - F| / sum A per week (null when the week's actuals sum to 0);
    WAPE = sum over weeks and points |A - F| / sum A; bias = sum (F - A) / sum A."""
    err = cells.with_columns(abs_err=(pl.col("actual") - pl.col(method)).abs(), diff=pl.col(method) - pl.col("actual"))
    by_week = err.group_by("week").agg(pl.col("abs_err").sum(), pl.col("actual").sum()).sort("week")
    per_week = dict(
        zip(by_week["week"].to_list(), [ratio(e, a) for e, a in zip(by_week["abs_err"], by_week["actual"])])
    )  # null when the actuals sum to 0 (or less)
    total = float(err["actual"].sum())
    return Score(
        wape=ratio(float(err["abs_err"].sum()), total),
        bias=ratio(float(err["diff"].sum()), total),
        wape_by_week=[per_week.get(k) for k in range(1, WEEKS + 1)],
    )


SCHEMA = {"point": pl.Date, "week": pl.Int64, "actual": pl.Float64, **{m: pl.Float64 for m in METHODS}}
# A backtest point's 13 weeks are facts of the snapshot: every as-of date whose backtest uses that month-end
# (six months' worth of dates) reuses them, so a new date mostly costs its newest point. Kept per engine
# (one snapshot, one settings) and selection, at most this many.
_KEPT = 384
_POINTS: weakref.WeakKeyDictionary[Engine, dict[tuple[dt.date, Filters], pl.DataFrame]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def point_cells(eng: Engine, points: list[dt.date], f: Filters = ALL) -> dict[dt.date, pl.DataFrame]:
    """For each point M: its 13 weeks of actual, forecast and the two baselines (SCHEMA), as known at M."""
    fs, w, h = eng.settings.forecast, eng.settings.payment_window_days, history(eng)
    actual = queries.run(eng.con, "forecast/actuals", points=points, **f.params()).pl().with_columns(pl.col("week").cast(pl.Int64))
    at = open_documents(eng, h, points, f)
    out = {}
    for m in points:
        md = day_number(m)
        docs = at[m]
        sums, _ = spread(h, md, w, fs, docs.customer, docs.age, docs.amount, np.zeros(len(docs.amount), dtype=np.int64), 1)
        due = np.bincount(weeks_of(docs.due, md), docs.amount, minlength=WEEKS + 2)
        delayed = np.bincount(weeks_of(docs.due + mean_delay(h, md, w, docs.customer), md), docs.amount, minlength=WEEKS + 2)
        block = pl.DataFrame(
            {
                "point": [m] * WEEKS,
                "week": list(range(1, WEEKS + 1)),
                "forecast": sums[0, :WEEKS],
                "due_date": due[1 : WEEKS + 1],
                "due_plus_delay": delayed[1 : WEEKS + 1],
            },
            schema={"point": pl.Date, "week": pl.Int64, "forecast": pl.Float64, "due_date": pl.Float64, "due_plus_delay": pl.Float64},
        )
        out[m] = (
            block.join(actual.filter(pl.col("point") == m), on=["point", "week"], how="left")
            # the steps of a week that cancel out (a span starting and ending in it) leave float noise such as 1e-13:
            # a week where nothing was paid must read 0 (its WAPE null), not a tiny amount that divides into millions
            .with_columns(pl.col("actual").fill_null(0.0).round(6))
            .select(list(SCHEMA))
            .cast(SCHEMA)  # type: ignore[arg-type]
        )
    return out


def backtest(eng: Engine, t: dt.date | None = None, f: Filters = ALL) -> Backtest:
    t = t or eng.as_of
    points = backtest_points(eng, t, eng.settings.forecast.backtest_points)
    with _LOCK:
        kept = _POINTS.setdefault(eng, {})
        have = {m: kept[(m, f)] for m in points if (m, f) in kept}
    missing = [m for m in points if m not in have]
    if missing:
        new = point_cells(eng, missing, f)  # outside the lock: two threads may compute a point once each, never block
        with _LOCK:
            for m, cells in new.items():
                if len(kept) >= _KEPT:
                    kept.pop(next(iter(kept)))
                kept[(m, f)] = cells
        have |= new
    cells = pl.concat([have[m] for m in points]) if points else pl.DataFrame(schema=SCHEMA)
    return Backtest(points=points, cells=cells, scores={m: score(cells, m) for m in METHODS})


def best_text(bt: Backtest) -> str:
    """Which of the three did best on this ledger, in words, with the figures (the page says it honestly)."""
    if bt.best is None:
        return "No backtest yet: the ledger has no month-end with 13 weeks of hindsight before this date, or nothing was paid after it."
    fig = {m: s.wape for m, s in bt.scores.items()}
    shown = ", ".join(f"{METHOD_WORDS[m]} {fig[m]:.2f}" for m in METHODS if fig[m] is not None)
    span = f"{len(bt.points)} month-end{'s' if len(bt.points) != 1 else ''} ({bt.points[0]:%b %Y} to {bt.points[-1]:%b %Y})"
    if bt.best == "forecast":
        return f"Best on this ledger over {span}: the forecast. WAPE (lower is better): {shown}."
    lead = fig[bt.best] or 0.0
    gap = (fig["forecast"] or math.inf) - lead
    return (
        f"Best on this ledger over {span}: {METHOD_WORDS[bt.best]}, not the forecast (WAPE {gap:.2f} lower). "
        f"WAPE (lower is better): {shown}. Read the weeks below with that in mind."
    )


# Per-snapshot precomputation: the backtest points of the as-of dates a user is likely to pick. A new date needs
# at most one month-end point it has not seen (1.7-2.1 s of CPU each at 10M documents); computed once in the
# background after a load, the backtest at any of those dates is a lookup, and a new date costs the forecast alone.
PREPARED_POINTS = 24  # the latest month-ends with 13 weeks of hindsight at the snapshot's date (two years of dates)
_PREPARING: weakref.WeakSet[Engine] = weakref.WeakSet()


def prepare(eng: Engine, n: int = PREPARED_POINTS, chunk: int = 6) -> int:
    """Compute (for the whole ledger, no selection) every backtest point of the latest n month-ends not known yet,
    `chunk` at a time (one pair of scans each, bounded memory); the number computed."""
    points = backtest_points(eng, eng.as_of, n)
    done = 0
    for i in range(0, len(points), chunk):
        with _LOCK:
            kept = _POINTS.setdefault(eng, {})
            missing = [m for m in points[i : i + chunk] if (m, ALL) not in kept]
        if not missing:
            continue
        new = point_cells(eng, missing, ALL)
        with _LOCK:
            for m, cells in new.items():
                if len(kept) >= _KEPT:
                    kept.pop(next(iter(kept)))
                kept[(m, ALL)] = cells
        done += len(new)
    return done


def start_prepare(eng: Engine) -> None:
    """prepare() on a thread of its own (once per engine): the pages are served meanwhile."""
    with _LOCK:
        if eng in _PREPARING:
            return
        _PREPARING.add(eng)

    def run() -> None:
        lower_priority()  # a one-time cost per snapshot (about 34 s of CPU at 10M): the page reruns go first
        try:
            prepare(eng)
        except Exception:  # a failure here only costs speed: the page computes its points itself
            import logging

            logging.getLogger(__name__).exception("preparing the forecast's backtest points failed")

    threading.Thread(target=run, name="forecast-backtest-points", daemon=True).start()
