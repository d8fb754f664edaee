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
import functools
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypedDict, overload

import numpy as np

from dashboard.metrics import limits
from dashboard.metrics.positions import EPOCH, Positions, arrow_numpy
from dashboard.store import sql as queries

if TYPE_CHECKING:  # DuckDB and polars load with the first Engine: a fresh `o2c kpis` reads the files with pyarrow (SnapshotFiles)
    import duckdb
    import polars as pl
    import pyarrow as pa

    from dashboard.settings import Settings
    from dashboard.settings_core import HeadlineSettings
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


def formulas(settings: Settings | HeadlineSettings) -> dict[str, Formula]:
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

    @classmethod
    def of_days(cls, days: np.ndarray, values: np.ndarray) -> DaySeries:
        """From days since 1970-01-01 (ascending), as the Parquet files hold dates."""
        s = cls([], np.asarray(values, dtype=np.float64))
        s.ord = np.asarray(days, dtype=np.int64) + EPOCH
        return s

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
        return self.totals_ord(np.array([d.toordinal() for d in a], dtype=np.int64), np.array([d.toordinal() for d in b], dtype=np.int64))

    def totals_ord(self, ao: np.ndarray, bo: np.ndarray) -> list[float]:
        """totals() for days given as ordinals."""
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


@functools.lru_cache(maxsize=1024)
def _countback_bounds(t: dt.date) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The countback's periods at T as day ordinals (first, last) and their lengths in days: the same for
    every series, so worked out once per date (an overview asks at 14 dates, each several times)."""
    starts, ends = [t.replace(day=1)], [t]
    m_end = prior_month_end(t)
    for _ in range(COUNTBACK_MAX_PERIODS - 1):
        start = m_end.replace(day=1)
        starts.append(start)
        ends.append(m_end)
        m_end = start - dt.timedelta(days=1)
    ao = np.array([d.toordinal() for d in starts], dtype=np.int64)
    bo = np.array([d.toordinal() for d in ends], dtype=np.int64)
    return ao, bo, [t.day] + [e.day for e in ends[1:]]


def countback_periods(t: dt.date, sales: DaySeries) -> list[tuple[float, int]]:
    """Period 0 = first of T's month to T; period k = the whole month k months before."""
    ao, bo, days = _countback_bounds(t)
    return list(zip(sales.totals_ord(ao, bo), days))


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


class CustomerColumns(NamedTuple):
    """What the headline reads per customer of the selection, as arrays (one entry per customer)."""

    ar: np.ndarray
    ar_overdue: np.ndarray
    open_orders: np.ndarray
    exposure: np.ndarray
    credit_limit: np.ndarray  # NaN = no limit
    over_limit: np.ndarray  # bool
    segment: np.ndarray  # codes into `segments`
    segments: list[str]  # sorted: code order = name order


class AgingCells(NamedTuple):
    """What the headline reads of the aging cells (segment, region, bucket with an open document): one entry per cell."""

    bucket: np.ndarray
    ar: np.ndarray
    disputed_ar: np.ndarray


def _cells_of(ag: pl.DataFrame) -> AgingCells:
    return AgingCells(ag["bucket"].to_numpy(), ag["ar"].to_numpy(), ag["disputed_ar"].to_numpy())


def _customers_of(cust: pl.DataFrame) -> CustomerColumns:
    """A customers_frame as the headline's arrays (a frame from customers_at.sql, or one a caller made)."""
    import polars as pl

    segments = sorted(cust["segment"].unique().to_list())
    return CustomerColumns(
        cust["ar"].to_numpy(),
        cust["ar_overdue"].to_numpy(),
        cust["open_orders"].to_numpy(),
        cust["exposure"].to_numpy(),
        cust["credit_limit"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        cust["over_limit"].fill_null(False).to_numpy(),
        cust["segment"].cast(pl.Enum(segments)).to_physical().to_numpy().astype(np.int64),
        segments,
    )


class _Figures:
    """The spec's formulas over a snapshot's daily series, month-end table and per-date arrays, whatever holds
    them: the Engine (DuckDB, polars; the pages and every command) and SnapshotFiles (pyarrow and numpy; a fresh
    `o2c kpis`). Each figure is defined here once; the two differ only in how they read the tables."""

    snapshot: SnapshotInfo
    settings: Settings | HeadlineSettings
    _cube_range: tuple[dt.date, dt.date] | None

    # what a holder provides
    @property
    def positions(self) -> Positions:
        raise NotImplementedError

    def sales(self, f: Filters = ALL) -> DaySeries:
        raise NotImplementedError

    def segment_sales(self, f: Filters = ALL) -> dict[str, DaySeries]:
        raise NotImplementedError

    def _paid_series(self, f: Filters) -> dict[str, DaySeries]:
        raise NotImplementedError

    def _month_end_cube(self, f: Filters) -> dict[dt.date, tuple[float, float, float]]:
        raise NotImplementedError

    @property
    def as_of(self) -> dt.date:
        return self.snapshot.as_of

    @property
    def first_day(self) -> dt.date:
        return self._cube_range[0].replace(day=1) if self._cube_range else self.as_of

    def _ar_source(self, t: dt.date) -> str:
        """Where AR at T comes from: "cube" (the month-end table covers T), "none" (before the ledger: 0), "spans"."""
        rng = self._cube_range
        if rng and t == month_end(t) and rng[0] <= t <= rng[1]:
            return "cube"
        if rng is None or t < self.first_day:
            return "none"
        return "spans"

    def ar_at(self, t: dt.date, f: Filters = ALL) -> tuple[float, float, float]:
        """(AR, Current AR, disputed AR) at T: from the month-end table when T is a month-end it covers."""
        source = self._ar_source(t)
        if source == "cube":
            return self._month_end_cube(f).get(t, (0.0, 0.0, 0.0))
        if source == "none":
            return (0.0, 0.0, 0.0)
        return self.positions.ar_at(t, f)

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

    def cei_lookback(self, t: dt.date) -> dt.date:
        """The day before the headline's CEI window, whose AR the CEI at T reads."""
        return t - dt.timedelta(days=self.settings.dso_window_days)

    # --- the spec's outputs -----------------------------------------------------

    def _headline(self, t: dt.date, f: Filters, rounded: bool, cells: AgingCells, cust: CustomerColumns) -> Headline:
        """The 'Headline JSON' of kpis.md at T from the aging cells and the customers' columns at T."""
        p = self.settings.dso_window_days
        R2, R4 = _rounding(rounded)
        names = self.settings.bucket_names
        # a few dozen cells: numpy sums (a polars query plan per sum cost more than the sums)
        ar = float(cells.ar.sum())
        bucket_ar = np.bincount(cells.bucket, weights=cells.ar, minlength=len(names)) if len(cells.ar) else np.zeros(len(names))
        current = float(bucket_ar[0])
        overdue = ar - current
        aging = {name: R2(float(bucket_ar[i])) for i, name in enumerate(names)}
        d = self.dso(t, ar, current, f)
        cei = self.cei(t - dt.timedelta(days=p - 1), t, ar, current, f)
        pb = self.payment_behaviour(t, f)
        open_orders = float(cust.open_orders.sum())
        n = len(cust.ar)
        top10 = float(np.sort(np.partition(cust.ar, -10)[-10:]).sum()) if n > 10 else float(cust.ar.sum())
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
            "disputed_ar": R2(float(cells.disputed_ar.sum())),
            "open_orders": R2(open_orders),
            "exposure_total": R2(ar + open_orders),
            "customers": n,
            "customers_with_limit": int(np.count_nonzero(~np.isnan(cust.credit_limit))),
            "over_limit_customers": int(np.count_nonzero(cust.over_limit)),
            "concentration_top10": R4(ratio(top10, ar)),
            "by_segment": self._by_segment(t, cust, f, rounded),
        }

    def _by_segment(self, t: dt.date, cust: CustomerColumns, f: Filters = ALL, rounded: bool = True) -> list[SegmentRow]:
        """Per segment with a customer, in name order: sums over its customers; utilisation = exposure of the
        customers with a limit / their limits (kpis.md "Segment"; the rule is limits.py's, as exposure.by's)."""
        p = self.settings.dso_window_days
        R2, R4 = _rounding(rounded)
        seg_sales = self.segment_sales(f)
        k, seg = len(cust.segments), cust.segment
        has = ~np.isnan(cust.credit_limit)

        def total(w: np.ndarray) -> np.ndarray:
            return np.bincount(seg, weights=w, minlength=k).astype(np.float64, copy=False)

        customers = np.bincount(seg, minlength=k)
        with_limit = np.bincount(seg[has], minlength=k)
        ar, ar_overdue, open_orders, exposure = total(cust.ar), total(cust.ar_overdue), total(cust.open_orders), total(cust.exposure)
        credit_limit = total(np.where(has, cust.credit_limit, 0.0))
        utilization = limits.utilisation_np(total(np.where(has, cust.exposure, 0.0)), credit_limit)
        over = np.bincount(seg[cust.over_limit.astype(bool)], minlength=k)
        out: list[SegmentRow] = []
        for i in np.flatnonzero(customers).tolist():
            name = cust.segments[i]
            series = seg_sales.get(name)
            sales = series.total(t - dt.timedelta(days=p - 1), t) if series else 0.0
            dso = ratio(float(ar[i]), sales)
            out.append(
                SegmentRow(
                    segment=name,
                    ar_total=R2(float(ar[i])),
                    ar_overdue=R2(float(ar_overdue[i])),
                    open_orders=R2(float(open_orders[i])),
                    exposure=R2(float(exposure[i])),
                    credit_limit=R2(float(credit_limit[i]) if with_limit[i] else None),
                    utilization=R4(None if np.isnan(utilization[i]) else float(utilization[i])),
                    over_limit_customers=int(over[i]),
                    dso_standard=R2(None if dso is None else dso * p),
                )
            )
        return out


def _picked(names: pa.ChunkedArray, values: tuple[str, ...]) -> np.ndarray | None:
    """macro picked over a string column (empty selection = every row: None)."""
    if not values:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(names, value_set=pa.array(list(values), pa.string())).to_numpy(zero_copy_only=False)


def _filtered(table: pa.Table, f: Filters) -> pa.Table:
    """The rows of a derived table (segment, region, currency per row) the selection picks."""
    m = None
    for col, values in (("segment", f.segments), ("region", f.regions), ("currency", f.currencies)):
        p = _picked(table[col], values)
        if p is not None:
            m = p if m is None else m & p
    return table if m is None else table.filter(m)


def _group_sums(keys: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct keys ascending, and each value summed per key."""
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, [np.bincount(inv, weights=np.asarray(v, dtype=np.float64), minlength=len(uniq)) for v in values]


def invoice_span(snapshot_dir: Path) -> tuple[dt.date, dt.date] | None:
    """(first invoice date, last invoice or paid date) of the snapshot's invoices, from the Parquet file's
    statistics (the columns read only where a row group has none): Engine's `_cube_range` without a scan."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(snapshot_dir / "tables/invoices.parquet")
    names = pf.schema_arrow.names
    lows, highs = [], []
    for col in ("invoice_date", "paid_date"):
        i = names.index(col)
        for g in range(pf.metadata.num_row_groups):
            rg = pf.metadata.row_group(g)
            st = rg.column(i).statistics
            if rg.num_rows == 0 or (st is not None and st.null_count == rg.num_rows):
                continue
            if st is None or not st.has_min_max:
                import pyarrow.compute as pc

                mm = pc.min_max(pf.read_row_group(g, columns=[col])[col]).as_py()
                lo, hi = mm["min"], mm["max"]
            else:
                lo, hi = st.min, st.max
            if lo is None:
                continue
            if col == "invoice_date":
                lows.append(lo)
            highs.append(hi)
    if not lows:
        return None
    return month_end(min(lows)), month_end(max(highs))


class SnapshotFiles(_Figures):
    """The headline of a snapshot read straight from its Parquet files with pyarrow and numpy, for a process that
    answers one date and ends (`o2c kpis`): no DuckDB, no polars (~0.3 s of imports), and of the open spans
    only those still open after the first day asked (the Engine over views runs the SQL for each date instead).
    The figures are _Figures' and the per-date sums positions.py's, as for the dashboard's engine. Without the
    workbench's decisions (effective limits, dispute cases): the caller opens an Engine when there are some."""

    def __init__(self, snapshot: SnapshotInfo, settings: Settings | HeadlineSettings, since: dt.date, currencies: bool = True):
        """Figures at any date from `since` on (`currencies`: for selections by currency too)."""
        self.snapshot, self.settings = snapshot, settings
        self._cube_range = invoice_span(snapshot.path)
        self._positions = Positions.from_files(snapshot.path, settings.aging_edges, since, currencies)
        self._memo: dict[tuple[str, Filters], object] = {}

    @classmethod
    def for_headline(cls, snapshot: SnapshotInfo, settings: Settings | HeadlineSettings, t: dt.date, f: Filters = ALL) -> SnapshotFiles:
        """Reading the spans the headline at T needs: those open at T, and at the CEI's look-back day when no month-end row answers it."""
        self = cls.__new__(cls)
        self.snapshot, self.settings, self._cube_range = snapshot, settings, invoice_span(snapshot.path)
        back = self.cei_lookback(t)
        since = min(t, back) if self._ar_source(back) == "spans" else t
        self._positions = Positions.from_files(snapshot.path, settings.aging_edges, since, currencies=bool(f.currencies))
        self._memo = {}
        return self

    @property
    def positions(self) -> Positions:
        return self._positions

    def _read(self, name: str, columns: list[str], f: Filters) -> pa.Table:
        import pyarrow.parquet as pq

        return _filtered(pq.ParquetFile(self.snapshot.path / "derived" / f"{name}.parquet").read(columns), f)

    def _series(self, f: Filters) -> tuple[DaySeries, dict[str, DaySeries]]:
        key = ("sales", f)
        if key not in self._memo:
            tb = self._read("daily_sales", ["day", "segment", "region", "currency", "sales"], f)
            days = arrow_numpy(tb["day"])
            sales = np.nan_to_num(arrow_numpy(tb["sales"]))
            u, (tot,) = _group_sums(days, sales)
            by_seg = {}
            segs = np.array(tb["segment"].to_pylist(), dtype=object)
            for seg in sorted(set(segs.tolist())):
                m = segs == seg
                su, (st,) = _group_sums(days[m], sales[m])
                by_seg[seg] = DaySeries.of_days(su, st)
            self._memo[key] = (DaySeries.of_days(u, tot), by_seg)
        return self._memo[key]  # type: ignore[return-value]

    def sales(self, f: Filters = ALL) -> DaySeries:
        return self._series(f)[0]

    def segment_sales(self, f: Filters = ALL) -> dict[str, DaySeries]:
        return self._series(f)[1]

    def _paid_series(self, f: Filters) -> dict[str, DaySeries]:
        key = ("paid", f)
        if key not in self._memo:
            cols = ["paid_amount", "amount_x_days_to_pay", "amount_x_days_late", "paid_documents", "paid_on_time"]
            tb = self._read("daily_paid", ["day", "segment", "region", "currency", *cols], f)
            u, sums = _group_sums(arrow_numpy(tb["day"]), *(np.nan_to_num(arrow_numpy(tb[c])) for c in cols))
            self._memo[key] = {c: DaySeries.of_days(u, v) for c, v in zip(cols, sums)}
        return self._memo[key]  # type: ignore[return-value]

    def _month_end_cube(self, f: Filters) -> dict[dt.date, tuple[float, float, float]]:
        key = ("month_end", f)
        if key not in self._memo:
            tb = self._read("month_end_ar", ["month_end", "segment", "region", "currency", "ar", "ar_current", "disputed_ar"], f)
            u, (a, c, x) = _group_sums(arrow_numpy(tb["month_end"]), *(np.nan_to_num(arrow_numpy(tb[k])) for k in ("ar", "ar_current", "disputed_ar")))
            self._memo[key] = {dt.date.fromordinal(int(d) + EPOCH): (float(a[i]), float(c[i]), float(x[i])) for i, d in enumerate(u.tolist())}
        return self._memo[key]  # type: ignore[return-value]

    def headline(self, t: dt.date | None = None, f: Filters = ALL, rounded: bool = True) -> Headline:
        t = t or self.as_of
        pos = self.positions
        c = pos.aging_cells(t, f)
        _, cols = pos.customer_columns(t, f)
        cust = CustomerColumns(
            cols["ar"], cols["ar_overdue"], cols["open_orders"], cols["exposure"], cols["credit_limit"], cols["over_limit"], cols["segment"], pos.segments
        )
        return self._headline(t, f, rounded, AgingCells(pos.bucket_of(c), c.ar, c.disputed_ar), cust)


class Engine(_Figures):
    """KPIs over one snapshot. Safe to share between threads (a cursor per query)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, snapshot: SnapshotInfo, settings: Settings):
        self.con = con
        self.snapshot = snapshot
        self.settings: Settings = settings
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
        from dashboard.store.catalog import open_snapshot

        return cls(open_snapshot(snapshot, in_memory=in_memory), snapshot, settings)

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
        import polars as pl

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

    def customer_columns(self, t: dt.date, f: Filters = ALL) -> tuple[np.ndarray | None, CustomerColumns]:
        """The headline's per-customer arrays at T (which customers: a mask by customer_key, None = all; from
        customers_at.sql's rows for an engine over views)."""
        pos = self.positions
        if not pos.held:
            return None, _customers_of(self.customers_frame(t, f))
        rows, c = pos.customer_columns(t, f)
        return rows, CustomerColumns(c["ar"], c["ar_overdue"], c["open_orders"], c["exposure"], c["credit_limit"], c["over_limit"], c["segment"], pos.segments)

    def aging_cells(self, t: dt.date, f: Filters = ALL) -> AgingCells:
        pos = self.positions
        if not pos.held:
            return _cells_of(self.aging_frame(t, f))
        c = pos.aging_cells(t, f)
        return AgingCells(pos.bucket_of(c), c.ar, c.disputed_ar)

    def headline(
        self, t: dt.date | None = None, f: Filters = ALL, rounded: bool = True, cust: pl.DataFrame | None = None, ag: pl.DataFrame | None = None
    ) -> Headline:
        """The 'Headline JSON' of kpis.md at T for the selection; rounded as the spec says
        unless `rounded=False` (pages format exact values, so 27.746% shows as 27.7%).
        `cust`, `ag`: customers_frame(t, f) and aging_frame(t, f) if at hand."""
        t = t or self.as_of
        cells = self.aging_cells(t, f) if ag is None else _cells_of(ag)
        columns = self.customer_columns(t, f)[1] if cust is None else _customers_of(cust)
        return self._headline(t, f, rounded, cells, columns)

    def by_segment(self, t: dt.date, cust: pl.DataFrame, f: Filters = ALL, rounded: bool = True) -> list[SegmentRow]:
        return self._by_segment(t, _customers_of(cust), f, rounded)

    def month_end_headline(self, m: dt.date, f: Filters = ALL) -> Headline:
        """headline(m, f, rounded=False) at a month-end, kept per month-end and selection: the overview's prior
        month-end, the same for every as-of date of the month after it."""
        return self._cached(f"headline:{m.isoformat()}", f, lambda f_: self.headline(m, f_, rounded=False))

    def trend(self, t: dt.date | None = None, f: Filters = ALL, at_t: tuple[float, float] | None = None) -> pl.DataFrame:
        """Month-end series (kpis.md, Trends): the trend_months month-ends before T, then T
        (`at_t`: AR and current AR at T when the caller has them: the headline's)."""
        import polars as pl

        t = t or self.as_of
        points = month_ends_before(t, self.settings.trend_months) + [t]
        rows = []
        for m in points:
            ar, current = at_t if (m == t and at_t is not None) else self.ar_at(m, f)[:2]
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
        import polars as pl

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


TOP_COLUMNS = ["customer_id", "name", "segment", "region", "ar", "ar_overdue", "exposure", "credit_limit", "utilization"]


def largest_overdue(overdue: np.ndarray, top: int) -> np.ndarray:
    """Positions of the `top` largest positive overdue amounts, largest first (ties: the lower position first):
    a partial sort (argpartition) of the column, then a sort of those few."""
    rows = np.flatnonzero(overdue > 0)
    if len(rows) > top:
        rows = rows[np.argpartition(-overdue[rows], top - 1)[:top]]
        rows = np.sort(rows)  # a stable order among ties before the sort by amount
    return rows[np.argsort(-overdue[rows], kind="stable")]


def overview(engine: Engine, t: dt.date | None = None, f: Filters = ALL, top: int = 10) -> Overview:
    """Everything the executive overview shows. Over the arrays (a dashboard engine) a new date costs what is open
    at it: the customers' sums at T as arrays by dense key, the `top` rows found in them and only those rows
    joined to names; the aging cells by bincount; the prior month-end's headline kept per month-end and selection
    (every date of a month shares it); the trend's point at T from the headline's own AR."""
    t = t or engine.as_of
    pos = engine.positions
    if not pos.held:  # an engine over views: the SQL's frames
        cust_frame = engine.customers_frame(t, f)
        ag = engine.aging_frame(t, f)
        rows = largest_overdue(cust_frame["ar_overdue"].to_numpy(), top)
        top_overdue = cust_frame[rows][TOP_COLUMNS]
        head = engine.headline(t, f, rounded=False, cust=cust_frame, ag=ag)
    else:
        picked, cols = pos.customer_columns(t, f)
        cust = CustomerColumns(
            cols["ar"], cols["ar_overdue"], cols["open_orders"], cols["exposure"], cols["credit_limit"], cols["over_limit"], cols["segment"], pos.segments
        )
        cells = pos.aging_cells(t, f)
        ag = pos.aging_frame_of(cells)
        head = engine._headline(t, f, False, AgingCells(pos.bucket_of(cells), cells.ar, cells.disputed_ar), cust)
        rows = largest_overdue(cust.ar_overdue, top)
        keys = rows if picked is None else np.flatnonzero(picked)[rows]
        top_overdue = pos.customer_rows(keys, {c: cols[c][rows] for c in ("ar", "ar_overdue", "exposure", "utilization")}, TOP_COLUMNS)
    return Overview(
        headline=head,
        prior=engine.month_end_headline(prior_month_end(t), f),
        trend=engine.trend(t, f, at_t=(head["ar_total"], head["ar_current"])),
        aging=engine.aging(t, f, ag),
        top_overdue=top_overdue,
    )
