"""The 13-week cash-in forecast at T (forecast.md), for the selection, by segment and by age of the invoice.

Each open document (open > 0) is spread evenly over its pool: the settled documents of its customer
(else its segment, else everyone) that settled in the W days ending T and took longer to settle than
this one is old. A pool document that took s days puts its share on day T - a + s, so the shares of
week k are the pool documents with s in (a + 7(k-1), a + 7k]: counts read from the sorted history
(dashboard/forecast/history.py) with binary searches, one vectorised pass per week over all open
documents. No pool document older than the open one: the amount is `doubtful`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.forecast.history import EPOCH, SPAN, History, history
from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.metrics.positions import Spans
from dashboard.settings import ForecastSettings
from dashboard.store import sql as queries

WEEKS = 13
HORIZON_DAYS = 7 * WEEKS
LATER, DOUBTFUL = WEEKS, WEEKS + 1  # columns after the 13 weeks in spread()'s result
LEVELS = ("customer", "segment", "all customers")
SHIFT = int(SPAN).bit_length() - 1
LOW = SPAN - 1  # key >> SHIFT, key & LOW: the group and the days of a key, as key // SPAN and key % SPAN (SPAN is a power of 2)
assert 1 << SHIFT == SPAN


def day_number(d: dt.date) -> int:
    return int((np.datetime64(d, "D") - EPOCH).astype(np.int64))


class Searched:
    """Pool counts by binary search in sorted keys (group * SPAN + days to settle): for many groups (customers).

    upto() and total() are positions in the keys, so only their differences are counts."""

    def __init__(self, keys: np.ndarray, groups: int | None = None):
        self.keys = keys
        # with the number of groups: where each group's keys end, one search per group instead of one per document
        self.ends = None if groups is None else np.searchsorted(keys, np.arange(1, groups + 1, dtype=np.int64) * SPAN, side="left")

    def upto(self, grp: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.keys, grp * SPAN + x, side="right")

    def upto_key(self, key: np.ndarray) -> np.ndarray:
        """upto(grp, x) for key = grp * SPAN + x."""
        return np.searchsorted(self.keys, key, side="right")

    def total(self, grp: np.ndarray) -> np.ndarray:
        if self.ends is not None:
            return self.ends[grp]
        return np.searchsorted(self.keys, (grp + 1) * SPAN, side="left")

    def days(self, at: np.ndarray) -> np.ndarray:
        """The days to settle of the keys at these positions."""
        return self.keys[at] & LOW


class Dense:
    """Pool counts as a table of running counts per group and day to settle: for few groups (segments,
    everyone), where a lookup is an index instead of a search."""

    def __init__(self, cum: np.ndarray):
        self.cum = cum  # cum[g, x]: the group's pool documents with s <= x
        self.days = cum.shape[1]

    @classmethod
    def of(cls, keys: np.ndarray, groups: int, days: int) -> Dense:
        return cls.of_parts(keys // SPAN, keys % SPAN, groups, days)

    @classmethod
    def of_parts(cls, g: np.ndarray, s: np.ndarray, groups: int, days: int) -> Dense:
        """From each pool document's group and days to settle."""
        return cls(np.cumsum(np.bincount(g * days + s, minlength=groups * days).reshape(groups, days), axis=1))

    def overall(self) -> Dense:
        """Everyone's pool: the groups' running counts added up."""
        return Dense(self.cum.sum(axis=0, keepdims=True))

    def upto(self, grp: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.cum[grp, np.minimum(x, self.days - 1)]

    def total(self, grp: np.ndarray) -> np.ndarray:
        return self.cum[grp, -1]


DENSE_CELLS = 4_000_000  # groups x days of a dense table (32 MB) beyond which the binary search is used


def key_order(key: np.ndarray) -> np.ndarray:
    """np.argsort(key, kind="stable"), by an unstable sort of each key with its position in the low bits (unique
    values, so the same order; numpy's vectorised sort of 64-bit integers is several times faster than its stable one)."""
    n = len(key)
    bits = max(int(n - 1).bit_length(), 1)
    if n == 0 or int(key.min()) < 0 or int(key.max()) >= 1 << (63 - bits):
        return np.argsort(key, kind="stable")
    return np.sort((key << bits) | np.arange(n, dtype=np.int64)) & ((1 << bits) - 1)


def pools(h: History, lo: int, t: int):
    """The three pools of forecast.md for the settlement window [lo, t], built when first asked for:
    (the counts, the group of each customer in it), customer first, then segment, then everyone."""
    keys = h.by_customer.window(lo, t)
    yield Searched(keys, len(h.customer_segment)), None
    # The segment's pool documents are the customers' (the same documents settled in the window, grouped by their
    # customer's segment): the table is counted from the customers' keys, no second mask over the whole history.
    s = keys & LOW
    days = int(s.max()) + 1 if len(keys) else 1
    n = len(h.segment_names)
    segment = Dense.of_parts(h.customer_segment[keys >> SHIFT], s, n, days) if n * days <= DENSE_CELLS else None
    yield (segment or Searched(h.by_segment.window(lo, t))), h.customer_segment
    yield (segment.overall() if segment else Dense.of_parts(np.zeros_like(s), s, 1, days)), np.zeros_like(h.customer_segment)


def spread(
    h: History, t: int, w: int, fs: ForecastSettings, customer: np.ndarray, age: np.ndarray, amount: np.ndarray, group: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Spread each open amount over weeks 1..13, later and doubtful, summed per group.

    t: T as a day number; w: the payment window W in days; customer, age (days since the invoice at T),
    amount (open at T, > 0), group (0..groups-1): one entry per open document.
    Returns (sums[groups, 15]: weeks 1-13, later, doubtful; the pool level each document used:
    0 customer, 1 segment, 2 all customers, -1 none (doubtful)).
    """
    out = np.zeros((groups, WEEKS + 2))
    level = np.full(len(amount), -1, dtype=np.int64)
    if len(amount) == 0:
        return out, level
    needs = (fs.min_history, fs.segment_min_history, 1)
    todo = np.arange(len(amount))
    for i, (counts, of_customer) in enumerate(pools(h, t - w + 1, t)):
        grp = customer[todo] if of_customer is None else of_customer[customer[todo]]
        # the documents in key order, so that each binary search starts where the previous one ended (several times faster)
        a = age[todo]
        keyed = len(a) and 0 <= int(a.min()) and int(a.max()) < SPAN  # then (group, age) order is the order of one key
        key = grp * SPAN + a if keyed else None
        order = key_order(key) if key is not None else np.lexsort((a, grp))
        idx, grp, a = todo[order], grp[order], a[order]
        end, older = counts.total(grp), counts.upto(grp, a)  # the pool: s > a
        ok = end - older >= needs[i]
        level[idx[ok]] = i
        idx, grp, a, end, prev = idx[ok], grp[ok], a[ok], end[ok], older[ok]
        share = amount[idx] / (end - prev)  # each pool document's part of the open amount
        g = group[idx]
        # (listing every (open document, pool document) pair instead was measured 2x slower on the demo ledger:
        # a customer's pool holds dozens of documents, 13 searches per open document are fewer steps)
        if isinstance(counts, Searched) and key is not None:
            # A week that ends before the pool's first document (s > a, the smallest) counts none of it: upto is
            # `older`; one that ends at or after its last counts all of it: `end`. Only the others are searched
            # (at 10M documents 57% of the customers' week ends fall inside their pool).
            key, first, last = key[order][ok], counts.days(older[ok]), counts.days(end - 1)
            older = prev
            for k in range(1, WEEKS + 1):  # week k: s in (a + 7(k-1), a + 7k]
                x = a + 7 * k
                upto = np.where(x < first, older, end)
                inside = np.flatnonzero((x >= first) & (x < last))
                upto[inside] = counts.upto_key(key[inside] + 7 * k)
                out[:, k - 1] += np.bincount(g, share * (upto - prev), minlength=groups)
                prev = upto
        else:
            for k in range(1, WEEKS + 1):  # week k: s in (a + 7(k-1), a + 7k]
                upto = counts.upto(grp, a + 7 * k)
                out[:, k - 1] += np.bincount(g, share * (upto - prev), minlength=groups)
                prev = upto
        out[:, LATER] += np.bincount(g, share * (end - prev), minlength=groups)
        todo = todo[level[todo] < 0]
        if not len(todo):
            break
    none = level < 0
    out[:, DOUBTFUL] += np.bincount(group[none], amount[none], minlength=groups)
    return out, level


def age_band_names(edges: tuple[int, ...]) -> list[str]:
    """(30, 60, 90, 180) -> 0-30, 31-60, 61-90, 91-180, 181+ (days since the invoice date)."""
    lows = (0, *[e + 1 for e in edges])
    return [f"{a}-{b} days" for a, b in zip(lows, edges)] + [f"{edges[-1] + 1}+ days"]


@dataclass(frozen=True)
class OpenDocs:
    """The selection's documents open at T with what the forecast needs (numpy arrays, one entry each)."""

    customer: np.ndarray
    segment: np.ndarray  # segment code (History.segment_names)
    age: np.ndarray
    due: np.ndarray  # day numbers
    amount: np.ndarray  # open at T, > 0
    credit: pl.DataFrame  # segment, amount: open < 0 (credit notes and overpayments), summed


def open_documents(eng: Engine, h: History, dates: list[dt.date], f: Filters) -> dict[dt.date, OpenDocs]:
    """The selection's open documents at each date (one query for all of them)."""
    if len(dates) == 1:  # the forecast at T: from the spans the engine holds in memory, if it does
        held = eng.positions.forecast_open_at(dates[0], f)
        if held is not None:
            return {dates[0]: _held_open_docs(h, dates[0], *held, eng.positions.segments)}
    rows = queries.run(eng.con, "forecast/open_at", dates=dates, **f.params()).pl()
    if len(dates) == 1:  # the forecast at T: one date, nothing to split (a partition of ~1M rows cost 0.5 s at 10M)
        return {dates[0]: _open_docs(h, dates[0], rows)}
    parts = rows.partition_by("as_of", as_dict=True)
    empty = rows.clear()
    return {t: _open_docs(h, t, parts.get((t,), empty)) for t in dates}


def _open_docs(h: History, t: dt.date, rows: pl.DataFrame) -> OpenDocs:
    pos = rows.filter(pl.col("open_amount") > 0)
    credit = rows.filter(pl.col("open_amount") < 0).group_by("segment").agg(amount=pl.col("open_amount").sum()).sort("segment")
    inv = h.invoice_day[h.rows(pos["doc_key"].to_numpy().astype(np.int64))]
    customer = pos["customer_key"].to_numpy().astype(np.int64)
    due = (pos["due_date"].to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int64)
    return OpenDocs(
        customer=customer,
        segment=h.customer_segment[customer],
        age=day_number(t) - inv,
        due=due,
        amount=pos["open_amount"].to_numpy().astype(np.float64),
        credit=credit,
    )


def _held_open_docs(h: History, t: dt.date, doc_key: np.ndarray, s: Spans, segments: list[str]) -> OpenDocs:
    """_open_docs from the held spans open at T (positions.py's forecast_open_at): the same documents and
    figures as from queries/forecast/open_at.sql's rows (tests/test_forecast_held.py), without a scan of
    every span (0.4-0.6 s at 10M documents)."""
    pos, neg = s.amount > 0, s.amount < 0
    credit = np.bincount(s.segment[neg], s.amount[neg], minlength=len(segments))
    has = np.flatnonzero(np.bincount(s.segment[neg], minlength=len(segments)))
    customer = s.customer[pos].astype(np.int64)
    return OpenDocs(
        customer=customer,
        segment=h.customer_segment[customer],
        age=day_number(t) - h.invoice_day[h.rows(doc_key[pos].astype(np.int64))],
        due=s.due[pos].astype(np.int64),
        amount=s.amount[pos].astype(np.float64),
        credit=pl.DataFrame({"segment": [segments[i] for i in has.tolist()], "amount": credit[has]}, schema={"segment": pl.Utf8, "amount": pl.Float64}),
    )


class WeekJson(TypedDict):
    week: int
    start: str
    end: str
    amount: float


@dataclass(frozen=True)
class Forecast:
    """The forecast at T for a selection: totals, and the long table the pages stack and export."""

    as_of: dt.date
    weeks: list[tuple[int, dt.date, dt.date, float]]  # (k, first day, last day, amount)
    later: float
    doubtful: float
    credit_notes: float  # the open amount of documents with open < 0 (negative)
    detail: pl.DataFrame  # segment, age_band, bucket (Week 1..13, Later, Doubtful), week (1..13; 14 later, 15 doubtful), amount
    credit_by_segment: pl.DataFrame  # segment, amount
    documents: int  # open documents with open > 0
    levels: dict[str, int]  # pool level -> documents that used it ("none": doubtful)

    def weeks_json(self) -> list[WeekJson]:
        return [WeekJson(week=k, start=a.isoformat(), end=b.isoformat(), amount=round(x, 2) + 0.0) for k, a, b, x in self.weeks]


def week_dates(t: dt.date, k: int) -> tuple[dt.date, dt.date]:
    """Week k at T: the days T + 7(k-1) + 1 .. T + 7k."""
    return t + dt.timedelta(days=7 * (k - 1) + 1), t + dt.timedelta(days=7 * k)


def bucket_names() -> list[str]:
    return [f"Week {k}" for k in range(1, WEEKS + 1)] + ["Later", "Doubtful"]


def forecast(eng: Engine, t: dt.date | None = None, f: Filters = ALL) -> Forecast:
    """The 13-week cash-in forecast of forecast.md at T for the selection."""
    t = t or eng.as_of
    fs = eng.settings.forecast
    h = history(eng)
    docs = open_documents(eng, h, [t], f)[t]
    edges = np.asarray(fs.age_edges)
    bands = age_band_names(fs.age_edges)
    band = np.searchsorted(edges, docs.age, side="left")  # age <= 30 -> 0, 31..60 -> 1, ...
    n_bands = len(bands)
    groups = len(h.segment_names) * n_bands
    sums, level = spread(h, day_number(t), eng.settings.payment_window_days, fs, docs.customer, docs.age, docs.amount, docs.segment * n_bands + band, groups)
    names = bucket_names()
    g, j = np.nonzero(sums)
    detail = pl.DataFrame(
        {
            "segment": [h.segment_names[x // n_bands] for x in g.tolist()],
            "age_band": [bands[x % n_bands] for x in g.tolist()],
            "bucket": [names[x] for x in j.tolist()],
            "week": (j + 1).astype(np.int64),
            "amount": sums[g, j],
        },
        schema={"segment": pl.Utf8, "age_band": pl.Utf8, "bucket": pl.Utf8, "week": pl.Int64, "amount": pl.Float64},
    )
    total = sums.sum(axis=0)
    counts = np.bincount(level + 1, minlength=len(LEVELS) + 1)
    return Forecast(
        as_of=t,
        weeks=[(k, *week_dates(t, k), float(total[k - 1])) for k in range(1, WEEKS + 1)],
        later=float(total[LATER]),
        doubtful=float(total[DOUBTFUL]),
        credit_notes=float(docs.credit["amount"].sum()),
        detail=detail,
        credit_by_segment=docs.credit,
        documents=len(docs.amount),
        levels={"none": int(counts[0])} | {name: int(counts[i + 1]) for i, name in enumerate(LEVELS)},
    )


COLUMN_KEYS = [f"week_{k}" for k in range(1, WEEKS + 1)] + ["later", "doubtful"]  # the registry's names (present/labels.py)


def by_segment(fc: Forecast) -> pl.DataFrame:
    """One row per segment: week_1..week_13, later, doubtful and credit_notes (for the table and the export)."""
    keyed = fc.detail.with_columns(pl.col("week").replace_strict(list(range(1, WEEKS + 3)), COLUMN_KEYS, return_dtype=pl.Utf8).alias("key"))
    wide = keyed.group_by("segment", "key").agg(pl.col("amount").sum()).pivot("key", index="segment", values="amount")
    if "segment" not in wide.columns:
        wide = pl.DataFrame(schema={"segment": pl.Utf8})
    for n in COLUMN_KEYS:
        if n not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(n))
    credit = fc.credit_by_segment.rename({"amount": "credit_notes"})
    out = wide.join(credit, on="segment", how="full", coalesce=True).with_columns(pl.exclude("segment").cast(pl.Float64).fill_null(0.0))
    return out.select("segment", *COLUMN_KEYS, "credit_notes").sort("segment")


def weeks_frame(fc: Forecast) -> pl.DataFrame:
    """week, week_start, week_end, amount: the 13 weeks of the selection (the table beside the chart)."""
    return pl.DataFrame(
        {"week": [w[0] for w in fc.weeks], "week_start": [w[1] for w in fc.weeks], "week_end": [w[2] for w in fc.weeks], "amount": [w[3] for w in fc.weeks]},
        schema={"week": pl.Int64, "week_start": pl.Date, "week_end": pl.Date, "amount": pl.Float64},
    )
