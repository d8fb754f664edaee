"""Every KPI of ../shared/spec/kpis.md, defined once.

The heavy lifting is done over the snapshot's compact tables: the open
items at a date and the per-customer positions as array sums over the open
spans held in memory (positions.py, the SQL of queries/receivables/ says what
each sum means), the daily sales, settlements and month-end AR by SQL in
`queries/`; this module turns those few hundred or thousand rows into the
spec's figures. The pages, `o2c kpis --json` and
the tests all call `Engine.headline`, `Engine.trend`, `Engine.aging`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import threading
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol, TypedDict, overload

import duckdb
import numpy as np
import polars as pl

from dashboard.metrics import exposure
from dashboard.metrics.positions import Positions
from dashboard.settings import Settings
from dashboard.store import sql as queries
from dashboard.store.catalog import open_snapshot
from dashboard.store.snapshots import SnapshotInfo

COUNTBACK_MAX_PERIODS = 24
HALF_CENT = 0.005
FLOAT_NOISE = 1e-9  # far below any amount (a cent of a currency at 0.007 is 7e-5), far above float residue (~1e-13)


class Formula(NamedTuple):
    """A figure as the pages name and explain it: the tile's label and how it is computed, in a
    finance user's words ({P} and {W} stand for the DSO and payment windows of the settings)."""

    label: str
    text: str


# One name and one explanation per figure: the overview's tiles, their (?) and the panel that lists them.
FORMULAS: dict[str, Formula] = {
    "ar_total": Formula(
        "AR total",
        "What customers owe on the as-of date: the open amount of every invoice issued by then, less open credit notes, in the base currency.",
    ),
    "pct_overdue": Formula(
        "Overdue",
        "The share of AR past its due date: overdue AR / AR (what is not yet due is current AR). n/a when AR is zero or negative.",
    ),
    "dso_standard": Formula(
        "DSO (standard)",
        "Days sales outstanding: AR / sales of the last {P} days x {P}. How many days of sales are still unpaid.",
    ),
    "dso_countback": Formula(
        "DSO (countback)",
        "Counting back month by month from the as-of date (this month so far, then whole months) until their sales add up to AR: "
        "the days counted. A month without positive sales counts whole; at most 24 months.",
    ),
    "bpdso": Formula(
        "Best possible DSO",
        "Current AR (not yet due) / sales of the last {P} days x {P}: the DSO if every customer paid exactly on its due date.",
    ),
    "add": Formula(
        "Avg days delinquent",
        "DSO (standard) minus best possible DSO: the days of sales that are outstanding because customers pay late.",
    ),
    "cei": Formula(
        "Collection effectiveness",
        "Of what could be collected over the last {P} days, the share that was: (AR {P} days ago + sales since - AR now) / "
        "(AR {P} days ago + sales since - current AR now) x 100. 100 % = everything due was collected.",
    ),
    "adp": Formula(
        "Days to pay",
        "Average days from invoice date to settlement, weighted by amount, over the invoices settled in the last {W} days.",
    ),
    "avg_days_late": Formula(
        "Days late",
        "Average days settled after the due date (0 when on time or early), weighted by amount, over the invoices settled in the last {W} days.",
    ),
    "on_time_rate": Formula(
        "Paid on time",
        "The share of the invoices settled in the last {W} days that were paid on or before their due date.",
    ),
    "disputed_ar": Formula("Disputed AR", "The open amount of the documents flagged as disputed in the ledger or under an open dispute case."),
    "exposure_total": Formula("Exposure", "AR + open orders (the orders dated on or before the as-of date)."),
    "over_limit_customers": Formula(
        "Customers over limit",
        "Customers whose exposure (AR + open orders, in every currency) is above their credit limit. A limit of 0 means no credit: "
        "any exposure is over it. A customer without a limit is never over.",
    ),
    "concentration_top10": Formula(
        "Top-10 share of AR",
        "AR of the 10 customers that owe the most / AR. Not the same as the credit exposure page's top-10 share of exposure, "
        "which ranks customers by AR + open orders.",
    ),
    "aging": Formula(
        "Aging",
        "The open amount by days past due (as-of date minus due date): not yet due, then the configured buckets. Credit notes are "
        "included, so the buckets add up to AR exactly.",
    ),
}


def formulas(settings: Settings) -> dict[str, Formula]:
    """FORMULAS with this ledger's windows written in (P = DSO window, W = payment window, in days)."""
    p, w = settings.dso_window_days, settings.payment_window_days
    return {k: Formula(f.label, f.text.format(P=p, W=w)) for k, f in FORMULAS.items()}


@dataclass(frozen=True)
class Filters:
    """The sidebar's selection; empty = all."""

    segments: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    def params(self) -> dict:
        return {"segments": list(self.segments), "regions": list(self.regions), "currencies": list(self.currencies)}

    def narrowed(self, dim: str, values: list[str] | tuple[str, ...]) -> Filters:
        """This selection with only these values of dim ("segment" or "region"; none given = unchanged)."""
        if not values:
            return self
        if dim == "segment":
            return replace(self, segments=tuple(values))
        if dim == "region":
            return replace(self, regions=tuple(values))
        raise ValueError(f"narrow by {dim!r}: 'segment' or 'region'")


ALL = Filters()


def ratio(num: float | None, den: float | None) -> float | None:
    """Any ratio whose denominator is <= 0 is undefined (kpis.md): None, shown as n/a."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def prior_month_end(d: dt.date) -> dt.date:
    return d.replace(day=1) - dt.timedelta(days=1)


def month_ends_before(t: dt.date, n: int) -> list[dt.date]:
    """The n month-ends strictly before T's month, oldest first."""
    out, m = [], prior_month_end(t)
    for _ in range(n):
        out.append(m)
        m = prior_month_end(m)
    return out[::-1]


class DaySeries:
    """Daily amounts with prefix sums, so any window [a, b] is two lookups."""

    def __init__(self, days: list[dt.date] | np.ndarray, values: np.ndarray):
        self.ord = np.array([d.toordinal() for d in days], dtype=np.int64) if len(days) else np.zeros(0, np.int64)
        self.cum = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])

    def total(self, a: dt.date, b: dt.date) -> float:
        if b < a:
            return 0.0
        lo = np.searchsorted(self.ord, a.toordinal(), side="left")
        hi = np.searchsorted(self.ord, b.toordinal(), side="right")
        return float(self.cum[hi] - self.cum[lo])

    def window(self, a: dt.date, b: dt.date) -> tuple[int, int]:
        """The rows of [a, b] as (lo, hi): total(a, b) = between(lo, hi), for series on the same days."""
        if b < a:
            return 0, 0
        return int(np.searchsorted(self.ord, a.toordinal(), side="left")), int(np.searchsorted(self.ord, b.toordinal(), side="right"))

    def between(self, lo: int, hi: int) -> float:
        return float(self.cum[hi] - self.cum[lo])

    def totals(self, a: list[dt.date], b: list[dt.date]) -> list[float]:
        """total(a[i], b[i]) for every i, in one pass (the countback's 24 months)."""
        ao = np.array([d.toordinal() for d in a], dtype=np.int64)
        bo = np.array([d.toordinal() for d in b], dtype=np.int64)
        lo = np.searchsorted(self.ord, ao, side="left")
        hi = np.searchsorted(self.ord, bo, side="right")
        return np.where(bo < ao, 0.0, self.cum[hi] - self.cum[lo]).tolist()


def countback(ar: float, periods: list[tuple[float, int]]) -> float:
    """dso_countback of kpis.md from (sales, days) per period, most recent first."""
    if ar <= 0:
        return 0.0
    remaining, dso = ar, 0.0
    for s, d in periods[:COUNTBACK_MAX_PERIODS]:
        if s <= 0:
            dso += d
        elif remaining >= s:
            dso += d
            remaining -= s
        else:
            dso += d * remaining / s
            break
        # Less than half a cent left is nothing left: the float sums of a month's sales that use AR up
        # exactly leave ~1e-14 over, which would otherwise walk on through months with no sales.
        if remaining < HALF_CENT:
            break
    return dso


def countback_periods(t: dt.date, sales: DaySeries) -> list[tuple[float, int]]:
    """Period 0 = first of T's month to T; period k = the whole month k months before."""
    starts, ends = [t.replace(day=1)], [t]
    m_end = prior_month_end(t)
    for _ in range(COUNTBACK_MAX_PERIODS - 1):
        start = m_end.replace(day=1)
        starts.append(start)
        ends.append(m_end)
        m_end = start - dt.timedelta(days=1)
    return list(zip(sales.totals(starts, ends), [t.day] + [e.day for e in ends[1:]]))


@overload
def r2(x: float) -> float: ...
@overload
def r2(x: float | None) -> float | None: ...
def r2(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2) + 0.0  # + 0.0: never "-0.0" in the JSON


@overload
def r4(x: float) -> float: ...
@overload
def r4(x: float | None) -> float | None: ...
def r4(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4) + 0.0


@overload
def _exact(x: float) -> float: ...
@overload
def _exact(x: float | None) -> float | None: ...
def _exact(x: float | None) -> float | None:
    return None if x is None else float(x)


class _Round(Protocol):
    """r2, r4 or _exact: a value stays a value, None (undefined) stays None."""

    @overload
    def __call__(self, x: float) -> float: ...
    @overload
    def __call__(self, x: float | None) -> float | None: ...


def _rounding(rounded: bool) -> tuple[_Round, _Round]:
    """(amounts and days, fractions): 2 and 4 decimals as the spec says, or exact values for the pages."""
    return (r2, r4) if rounded else (_exact, _exact)


class SegmentRow(TypedDict):
    """One entry of the headline's by_segment (kpis.md "Headline JSON")."""

    segment: str
    ar_total: float
    ar_overdue: float
    open_orders: float
    exposure: float
    credit_limit: float | None  # None: no customer of the segment has a limit
    utilization: float | None
    over_limit_customers: int
    dso_standard: float | None


class Headline(TypedDict):
    """kpis.md "Headline JSON": every key present, None where undefined (the keys are the spec's)."""

    as_of: str
    base_currency: str
    ar_total: float
    ar_current: float
    ar_overdue: float
    pct_overdue: float | None
    aging: dict[str, float]  # bucket name -> AR (not_due, 1_30, ... with the default edges)
    dso_standard: float | None
    dso_countback: float
    bpdso: float | None
    add: float | None
    cei: float | None
    adp: float | None
    avg_days_late: float | None
    on_time_rate: float | None
    disputed_ar: float
    open_orders: float
    exposure_total: float
    customers: int
    customers_with_limit: int
    over_limit_customers: int
    concentration_top10: float | None
    by_segment: list[SegmentRow]


class Engine:
    """KPIs over one snapshot. Safe to share between threads (a cursor per query)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, snapshot: SnapshotInfo, settings: Settings):
        self.con = con
        self.snapshot = snapshot
        self.settings = settings
        self._lock = threading.Lock()
        self._positions_lock = threading.Lock()
        self._positions: Positions | None = None
        # Per-instance caches keyed by the selection (functools.lru_cache on a method would hold every
        # engine, and so every old snapshot's tables, alive for the life of the process).
        self._cache: dict[tuple[str, Filters], object] = {}
        # The month-end table covers every month-end of the ledger's span (derive_month_end_ar.sql), with
        # rows only where something was open: the span comes from the documents, not from its rows.
        first, last = con.cursor().sql("select min(invoice_date), greatest(max(invoice_date), max(paid_date)) from invoices").fetchall()[0]
        self._cube_range = (month_end(first), month_end(last)) if first is not None else None

    @classmethod
    def open(cls, snapshot: SnapshotInfo, settings: Settings, in_memory: bool = False) -> Engine:
        return cls(open_snapshot(snapshot, in_memory=in_memory), snapshot, settings)

    @property
    def as_of(self) -> dt.date:
        return self.snapshot.as_of

    def q(self, name: str, f: Filters = ALL, **params) -> pl.DataFrame:
        return queries.run(self.con, name, **f.params(), **params).pl()

    # --- building blocks -----------------------------------------------------

    @property
    def positions(self) -> Positions:
        """The snapshot's open spans, orders and customers as arrays (positions.py), built on first use."""
        if self._positions is None:
            with self._positions_lock:
                if self._positions is None:
                    self._positions = Positions(self.con, self.settings.aging_edges)
        return self._positions

    def aging_frame(self, t: dt.date, f: Filters = ALL) -> pl.DataFrame:
        """segment, region, bucket, ar, disputed_ar, documents at T (receivables/aging_at.sql's rows)."""
        return self.positions.aging(t, f)

    def customers_frame(self, t: dt.date, f: Filters = ALL) -> pl.DataFrame:
        """Every customer's credit position at T (receivables/customers_at.sql's rows, by customer_key)."""
        return self.positions.customers_at(t, f)

    def _cached(self, what: str, f: Filters, build):
        key = (what, f)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = build(f)  # outside the lock: two threads may build the same value once each, never block
        with self._lock:
            if len(self._cache) >= 192:  # a bound, as the lru_cache(64) x 3 had
                self._cache.pop(next(iter(self._cache)))
            return self._cache.setdefault(key, value)

    def _daily(self, f: Filters) -> tuple[pl.DataFrame, DaySeries, pl.DataFrame, dict[str, DaySeries]]:
        return self._cached("daily", f, self._build_daily)

    def _build_daily(self, f: Filters) -> tuple[pl.DataFrame, DaySeries, pl.DataFrame, dict[str, DaySeries]]:
        sales = self.q("receivables/daily_sales", f)
        total = sales.group_by("day").agg(pl.col("sales").sum()).sort("day")
        by_seg = {seg: DaySeries(g["day"].to_list(), g["sales"].to_numpy()) for (seg,), g in sales.partition_by("segment", as_dict=True).items()}
        paid = self.q("receivables/daily_paid", f)
        return total, DaySeries(total["day"].to_list(), total["sales"].to_numpy()), paid, by_seg

    def sales(self, f: Filters = ALL) -> DaySeries:
        return self._daily(f)[1]

    def segment_sales(self, f: Filters = ALL) -> dict[str, DaySeries]:
        return self._daily(f)[3]

    def _paid_series(self, f: Filters) -> dict[str, DaySeries]:
        return self._cached("paid", f, self._build_paid_series)

    def _build_paid_series(self, f: Filters) -> dict[str, DaySeries]:
        paid = self._daily(f)[2]
        days = paid["day"].to_list()
        return {c: DaySeries(days, paid[c].to_numpy()) for c in ("paid_amount", "amount_x_days_to_pay", "amount_x_days_late", "paid_documents", "paid_on_time")}

    def _month_end_cube(self, f: Filters) -> dict[dt.date, tuple[float, float, float]]:
        return self._cached("month_end", f, self._build_month_end_cube)

    def _build_month_end_cube(self, f: Filters) -> dict[dt.date, tuple[float, float, float]]:
        me = self.q("receivables/month_end_ar", f)
        return {d: (a, c, x) for d, a, c, x in me.iter_rows()}

    def ar_at(self, t: dt.date, f: Filters = ALL) -> tuple[float, float, float]:
        """(AR, Current AR, disputed AR) at T: from the month-end table when T is a month-end it covers."""
        rng = self._cube_range
        if rng and t == month_end(t) and rng[0] <= t <= rng[1]:
            return self._month_end_cube(f).get(t, (0.0, 0.0, 0.0))
        if rng is None or t < self.first_day:
            return (0.0, 0.0, 0.0)
        return self.positions.ar_at(t, f)

    @property
    def first_day(self) -> dt.date:
        return self._cube_range[0].replace(day=1) if self._cube_range else self.as_of

    def payment_behaviour(self, t: dt.date, f: Filters = ALL) -> dict:
        w = self.settings.payment_window_days
        s = self._paid_series(f)
        a = t - dt.timedelta(days=w - 1)
        # the five series share their days (one row of daily_paid per day): find the window once
        lo, hi = s["paid_amount"].window(a, t)
        amt, n, to_pay, late, on_time = (
            s[c].between(lo, hi) for c in ("paid_amount", "paid_documents", "amount_x_days_to_pay", "amount_x_days_late", "paid_on_time")
        )
        return {
            "adp": ratio(to_pay, amt) if n else None,
            "avg_days_late": ratio(late, amt) if n else None,
            "on_time_rate": ratio(on_time, n),
        }

    def dso(self, t: dt.date, ar: float, ar_current: float, f: Filters = ALL) -> dict:
        p = self.settings.dso_window_days
        sales = self.sales(f)
        window = sales.total(t - dt.timedelta(days=p - 1), t)
        std = ratio(ar, window)
        best = ratio(ar_current, window)
        return {
            "dso_standard": None if std is None else std * p,
            "bpdso": None if best is None else best * p,
            "add": None if std is None or best is None else (std - best) * p,
            "dso_countback": countback(ar, countback_periods(t, sales)),
            "sales_window": window,
        }

    def cei(self, a: dt.date, b: dt.date, ar_b: float, current_b: float, f: Filters = ALL) -> float | None:
        ar_before = self.ar_at(a - dt.timedelta(days=1), f)[0]
        sales = self.sales(f).total(a, b)
        den = ar_before + sales - current_b
        # Nothing to collect is exactly 0 in the spec's arithmetic; in floats the sums behind it can leave
        # ~1e-14 over (a credit note and an invoice of the same amount), which would read as 100 % collected.
        r = ratio(ar_before + sales - ar_b, 0.0 if abs(den) < FLOAT_NOISE else den)
        return None if r is None else r * 100

    # --- the spec's outputs -----------------------------------------------------

    def headline(
        self, t: dt.date | None = None, f: Filters = ALL, rounded: bool = True, cust: pl.DataFrame | None = None, ag: pl.DataFrame | None = None
    ) -> Headline:
        """The 'Headline JSON' of kpis.md at T for the selection; rounded as the spec says
        unless `rounded=False` (pages format exact values, so 27.746% shows as 27.7%)."""
        t = t or self.as_of
        p = self.settings.dso_window_days
        R2, R4 = _rounding(rounded)
        ag = self.aging_frame(t, f) if ag is None else ag
        # a few dozen cells: numpy sums (a polars query plan per sum cost more than the sums)
        cell_ar, cell_bucket = ag["ar"].to_numpy(), ag["bucket"].to_numpy()
        ar = float(cell_ar.sum())
        bucket_ar = (
            np.bincount(cell_bucket, weights=cell_ar, minlength=len(self.settings.bucket_names)) if len(cell_ar) else np.zeros(len(self.settings.bucket_names))
        )
        current = float(bucket_ar[0])
        overdue = ar - current
        aging = {name: R2(float(bucket_ar[i])) for i, name in enumerate(self.settings.bucket_names)}
        d = self.dso(t, ar, current, f)
        cei = self.cei(t - dt.timedelta(days=p - 1), t, ar, current, f)
        pb = self.payment_behaviour(t, f)
        cust = self.customers_frame(t, f) if cust is None else cust
        open_orders = float(cust["open_orders"].sum())
        cust_ar = cust["ar"].to_numpy()
        top10 = float(np.sort(np.partition(cust_ar, -10)[-10:]).sum()) if cust.height > 10 else float(cust_ar.sum())
        return {
            "as_of": t.isoformat(),
            "base_currency": self.settings.base_currency,
            "ar_total": R2(ar),
            "ar_current": R2(current),
            "ar_overdue": R2(overdue),
            "pct_overdue": R4(ratio(overdue, ar)),
            "aging": aging,
            "dso_standard": R2(d["dso_standard"]),
            "dso_countback": R2(d["dso_countback"]),
            "bpdso": R2(d["bpdso"]),
            "add": R2(d["add"]),
            "cei": R2(cei),
            "adp": R2(pb["adp"]),
            "avg_days_late": R2(pb["avg_days_late"]),
            "on_time_rate": R4(pb["on_time_rate"]),
            "disputed_ar": R2(float(ag["disputed_ar"].sum())),
            "open_orders": R2(open_orders),
            "exposure_total": R2(ar + open_orders),
            "customers": cust.height,
            "customers_with_limit": cust.height - cust["credit_limit"].null_count(),
            "over_limit_customers": int(cust["over_limit"].sum()),
            "concentration_top10": R4(ratio(top10, ar)),
            "by_segment": self.by_segment(t, cust, f, rounded),
        }

    def by_segment(self, t: dt.date, cust: pl.DataFrame, f: Filters = ALL, rounded: bool = True) -> list[SegmentRow]:
        p = self.settings.dso_window_days
        R2, R4 = _rounding(rounded)
        seg_sales = self.segment_sales(f)
        g = exposure.by(cust, "segment", order="segment")
        out: list[SegmentRow] = []
        for row in g.iter_rows(named=True):
            seg = row["segment"]
            series = seg_sales.get(seg)
            sales = series.total(t - dt.timedelta(days=p - 1), t) if series else 0.0
            dso = ratio(row["ar"], sales)
            out.append(
                SegmentRow(
                    segment=seg,
                    ar_total=R2(row["ar"]),
                    ar_overdue=R2(row["ar_overdue"]),
                    open_orders=R2(row["open_orders"]),
                    exposure=R2(row["exposure"]),
                    credit_limit=R2(row["credit_limit"]),
                    utilization=R4(row["utilization"]),
                    over_limit_customers=int(row["over_limit"]),
                    dso_standard=R2(None if dso is None else dso * p),
                )
            )
        return out

    def trend(self, t: dt.date | None = None, f: Filters = ALL) -> pl.DataFrame:
        """Month-end series (kpis.md, Trends): the trend_months month-ends before T, then T."""
        t = t or self.as_of
        points = month_ends_before(t, self.settings.trend_months) + [t]
        rows = []
        for m in points:
            ar, current, _ = self.ar_at(m, f)
            d = self.dso(m, ar, current, f)
            rows.append(
                {
                    "date": m,
                    "ar": ar,
                    "ar_overdue": ar - current,
                    "dso_countback": d["dso_countback"],
                    "dso_standard": d["dso_standard"],
                    "bpdso": d["bpdso"],
                    "cei": self.cei(m.replace(day=1), m, ar, current, f),
                    "adp": self.payment_behaviour(m, f)["adp"],
                }
            )
        return pl.DataFrame(
            rows,
            schema={
                "date": pl.Date,
                "ar": pl.Float64,
                "ar_overdue": pl.Float64,
                "dso_countback": pl.Float64,
                "dso_standard": pl.Float64,
                "bpdso": pl.Float64,
                "cei": pl.Float64,
                "adp": pl.Float64,
            },
        )

    def aging(self, t: dt.date | None = None, f: Filters = ALL, ag: pl.DataFrame | None = None) -> pl.DataFrame:
        """Aging by segment and region with bucket names, for charts and tables (`ag`: aging_frame(t, f) if at hand)."""
        t = t or self.as_of
        names = self.settings.bucket_names
        ag = self.aging_frame(t, f) if ag is None else ag
        # a name per cell (a few dozen) from a plain list: no query plan on the per-date path
        return ag.hstack([pl.Series("bucket_name", [names[b] for b in ag["bucket"].to_list()], dtype=pl.Utf8)])

    def documents(self, t: dt.date, f: Filters = ALL, bucket: int = -1, limit: int | None = 5000) -> pl.DataFrame:
        """The open documents behind an aging figure, largest first (limit=None: every one, for a download)."""
        return self.q("receivables/open_documents_at", f, as_of=t, edges=list(self.settings.aging_edges), bucket=bucket, limit=limit)

    def dimensions(self) -> dict[str, list[str]]:
        """Values for the sidebar filters."""
        cur = self.con.cursor()
        return {
            "segments": [r[0] for r in cur.sql("select distinct segment from customers order by 1").fetchall()],
            "regions": [r[0] for r in cur.sql("select distinct region from customers order by 1").fetchall()],
            "currencies": [r[0] for r in cur.sql("select distinct currency from daily_sales order by 1").fetchall()],
        }


@dataclass(frozen=True)
class Overview:
    """Everything the executive overview shows, for one as-of date and selection."""

    headline: Headline
    prior: Headline  # the same KPIs at the prior month-end, for the tiles' changes
    trend: pl.DataFrame
    aging: pl.DataFrame
    top_overdue: pl.DataFrame


def overview(engine: Engine, t: dt.date | None = None, f: Filters = ALL, top: int = 10) -> Overview:
    t = t or engine.as_of
    # The prior month-end's headline in this thread: over the arrays it costs a few milliseconds,
    # less than starting a thread for it did on two shared cores (bench/README.md).
    cust = engine.customers_frame(t, f)
    ag = engine.aging_frame(t, f)  # read once: the headline's buckets and the aging chart
    # the `top` largest overdue amounts by a partial sort of the column, then only those rows gathered
    overdue = cust["ar_overdue"].to_numpy()
    rows = np.flatnonzero(overdue > 0)
    if len(rows) > top:
        rows = rows[np.argpartition(-overdue[rows], top - 1)[:top]]
    rows = rows[np.argsort(-overdue[rows], kind="stable")]
    top_overdue = cust[rows][["customer_id", "name", "segment", "region", "ar", "ar_overdue", "exposure", "credit_limit", "utilization"]]
    return Overview(
        headline=engine.headline(t, f, rounded=False, cust=cust, ag=ag),
        prior=engine.headline(prior_month_end(t), f, False),
        trend=engine.trend(t, f),
        aging=engine.aging(t, f, ag),
        top_overdue=top_overdue,
    )
