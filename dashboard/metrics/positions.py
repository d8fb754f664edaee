"""What is open at a date, per customer and per group: the engine's per-date path, as arrays.

The snapshot's open spans (derive/open_intervals.sql, sorted by end_date) are held once as numpy
columns, with segment, region and currency as dense codes; the orders sorted by order date; the
customers' attributes by their dense customer_key (0, 1, 2, ... as the load assigns them). At a
date T the open items are a slice (the spans closing after T, found by a binary search) masked to
those started by T, and every per-customer or per-group sum is one `bincount` over that slice.
Names and other strings are joined only to the rows a result returns.

Why not a SQL statement per figure: each DuckDB statement costs ~8 ms before it scans anything
(parse, plan, a cursor, Arrow to polars) and the overview needed seven of them; the open items
at a date are a few per cent of the spans (bench/README.md, "Where the product loses").

What each sum means is the SQL's it replaces (queries/receivables/customers_at.sql, aging_at.sql,
ar_at.sql, open_count_at.sql and queries/risk/factors_at.sql, events.sql): open at T =
start_date <= T < end_date (macro open_at), days past due = T - due_date, aging bucket = how many
of the edges the days past due exceed, an order is open from its order_date on. That SQL stays the
definition and is what an engine over views of the files runs (a short-lived CLI process, which
would otherwise read every span to answer one date; DuckDB skips the row groups of spans closed
before T). tests/test_positions.py checks every column of the arrays' answers against it.
Snapshots of any age work: the arrays are read from tables every snapshot has.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import polars as pl

from dashboard.metrics import limits
from dashboard.store import sql as queries

if TYPE_CHECKING:
    from dashboard.metrics.kpis import Filters

EPOCH = dt.date(1970, 1, 1).toordinal()
EVERY_DAY = (dt.date(1, 1, 1), dt.date(9999, 12, 31))
SLICES_KEPT = 8  # open-at-T slices kept per engine: T, the prior month-end and their T-90 of a few overviews


def day(d: dt.date) -> int:
    """Days since 1970-01-01, as the SQL loaders write dates."""
    return d.toordinal() - EPOCH


def find(days: np.ndarray, values: int | list[int], side: Literal["left", "right"]) -> np.ndarray:
    """np.searchsorted with the values in the array's own type: given a Python int (or a list of them),
    numpy converts the whole sorted array to int64 first (~30 ms for 9M days, at every call)."""
    return np.searchsorted(days, np.asarray(values, dtype=days.dtype), side=side)


@dataclass(frozen=True)
class Spans:
    """Open spans [start, end) with what every figure needs, one entry per span (dates in days)."""

    start: np.ndarray
    end: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    disputed: np.ndarray
    customer: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    currency: np.ndarray

    def take(self, rows: np.ndarray | slice) -> Spans:
        return Spans(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.amount)


@dataclass(frozen=True)
class Selection:
    """A sidebar selection as lookup tables over the codes (True = picked); None = everything."""

    segment: np.ndarray | None
    region: np.ndarray | None
    currency: np.ndarray | None


def _codes(values: pl.Series, categories: list[str]) -> np.ndarray:
    """Dense codes of `values` in the order of `categories` (sorted: code order = name order)."""
    return values.cast(pl.Enum(categories)).to_physical().to_numpy().astype(np.int32)


def _where(mask: np.ndarray | None, values: np.ndarray) -> np.ndarray:
    return values if mask is None else np.where(mask, values, 0.0)


class Positions:
    """The per-date arrays of one snapshot (see the module's docstring). Thread-safe: built once, read only."""

    def __init__(self, con: duckdb.DuckDBPyConnection, edges: tuple[int, ...] | list[int]):
        self.con = con
        self.edges = tuple(edges)
        cur = con.cursor()
        kind = cur.execute("select table_type from information_schema.tables where table_name = 'customers'").fetchall()
        # A snapshot opened in memory (catalog.IN_MEMORY: the dashboard): hold every span as arrays;
        # views over the files (a CLI process): run the SQL for each date asked.
        self.held = bool(kind) and kind[0][0] == "BASE TABLE"
        self._lock = threading.Lock()
        self._slices: dict[int, Spans] = {}
        self._paid: pl.DataFrame | None = None
        if self.held:
            self._hold(cur)

    def _hold(self, cur: duckdb.DuckDBPyConnection) -> None:
        con = self.con
        # one chunk per column: DuckDB hands over record batches, and a gather across chunks (every
        # filter and sort of the scorecard frame built on these columns) costs several times as much
        cust = queries.run(con, "customer/attributes").pl().rechunk()
        if not np.array_equal(cust["customer_key"].to_numpy(), np.arange(cust.height)):
            raise ValueError("customers.customer_key is not 0, 1, 2, ...: rebuild the snapshot with `o2c ingest` (the load assigns dense keys)")
        self.customers = cust
        self.cust_limit = cust["credit_limit"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        self._positions_base = cust.select("customer_key", "customer_id", "name", "segment", "region", "credit_limit")
        self.segments = sorted(cust["segment"].unique().to_list())
        self.regions = sorted(cust["region"].unique().to_list())
        orders = queries.run(con, "receivables/orders_by_day").pl()
        # Every document's currency is in daily_sales (one row per day, segment, region, currency with a document).
        currencies = {r[0] for r in cur.sql("select distinct currency from daily_sales").fetchall()}
        self.currencies = sorted(currencies | set(orders["currency"].unique().to_list()))
        self.cust_segment = _codes(cust["segment"], self.segments)
        self.cust_region = _codes(cust["region"], self.regions)
        self.order_day = orders["order_day"].to_numpy()
        self.order_customer = orders["customer_key"].to_numpy()
        self.order_amount = orders["amount_base"].to_numpy()
        self.order_currency = _codes(orders["currency"], self.currencies)
        self._all = self._spans(queries.run(con, "receivables/open_spans").pl())

    @property
    def n_customers(self) -> int:
        return self.customers.height

    def _spans(self, df: pl.DataFrame) -> Spans:
        end = df["end_day"].to_numpy()
        s = Spans(
            start=df["start_day"].to_numpy(),
            end=end,
            due=df["due_day"].to_numpy(),
            amount=df["open_amount"].to_numpy(),
            disputed=df["disputed"].fill_null(False).to_numpy(),
            customer=df["customer_key"].to_numpy(),
            segment=_codes(df["segment"], self.segments),
            region=_codes(df["region"], self.regions),
            currency=_codes(df["currency"], self.currencies),
        )
        if len(end) > 1 and not bool(np.all(end[1:] >= end[:-1])):
            s = s.take(np.argsort(end, kind="stable"))  # a table not written by derive/open_intervals.sql
        return s

    def open_at(self, t: dt.date) -> Spans:
        """The spans open at T (start <= T < end), in the table's order."""
        d = day(t)
        with self._lock:
            hit = self._slices.get(d)
        if hit is not None:
            return hit
        assert self._all is not None, "open spans are held only for an engine over in-memory tables"
        first = int(find(self._all.end, d, side="right"))  # the spans still open after T ...
        s = self._all.take(first + np.flatnonzero(self._all.start[first:] <= d))  # ... that started by T: one index, then gathers
        with self._lock:
            if len(self._slices) >= SLICES_KEPT:
                self._slices.pop(next(iter(self._slices)))
            self._slices[d] = s
        return s

    def selection(self, f: Filters) -> Selection:
        def table(values: tuple[str, ...], names: list[str]) -> np.ndarray | None:
            if not values:
                return None
            picked = np.zeros(len(names), dtype=bool)
            index = {n: i for i, n in enumerate(names)}
            picked[[index[v] for v in values if v in index]] = True
            return picked

        return Selection(table(f.segments, self.segments), table(f.regions, self.regions), table(f.currencies, self.currencies))

    # --- per group --------------------------------------------------------------

    def ar_at(self, t: dt.date, f: Filters) -> tuple[float, float, float]:
        """(AR, current AR, disputed AR) at T, as receivables/ar_at.sql."""
        if not self.held:
            ar, current, disputed = queries.run(self.con, "receivables/ar_at", as_of=t, **f.params()).fetchall()[0]
            return float(ar), float(current), float(disputed)
        s = self.open_at(t)
        m = self._picked_spans(s, self.selection(f))
        amount = _where(m, s.amount)
        return float(amount.sum()), float(amount[(day(t) - s.due) <= 0].sum()), float(amount[s.disputed].sum())

    def open_count(self, t: dt.date, f: Filters) -> int:
        """Open items of the selection at T, as receivables/open_count_at.sql."""
        if not self.held:
            return int(queries.run(self.con, "receivables/open_count_at", as_of=t, **f.params()).fetchall()[0][0])
        s = self.open_at(t)
        m = self._picked_spans(s, self.selection(f))
        return len(s) if m is None else int(m.sum())

    @staticmethod
    def _picked_spans(s: Spans, sel: Selection) -> np.ndarray | None:
        """Which spans the selection picks (None: all)."""
        m = None
        for table, codes in ((sel.segment, s.segment), (sel.region, s.region), (sel.currency, s.currency)):
            if table is not None:
                m = table[codes] if m is None else m & table[codes]
        return m

    def aging(self, t: dt.date, f: Filters) -> pl.DataFrame:
        """segment, region, bucket, ar, disputed_ar, documents at T, as receivables/aging_at.sql
        (groups with an open document, sorted by segment, region, bucket)."""
        if not self.held:
            return queries.run(self.con, "receivables/aging_at", as_of=t, edges=list(self.edges), **f.params()).pl()
        s = self.open_at(t)
        m = self._picked_spans(s, self.selection(f))
        if m is not None:
            s = s.take(m)
        nb, nr = len(self.edges) + 1, len(self.regions)
        # bucket = how many edges the days past due exceed (macro aging_bucket)
        bucket = np.searchsorted(np.asarray(self.edges, dtype=np.int64), day(t) - s.due.astype(np.int64), side="left")
        key = (s.segment.astype(np.int64) * nr + s.region) * nb + bucket
        size = len(self.segments) * nr * nb
        docs = np.bincount(key, minlength=size)
        ar = np.bincount(key, weights=s.amount, minlength=size).astype(np.float64, copy=False)
        disputed = np.bincount(key, weights=np.where(s.disputed, s.amount, 0.0), minlength=size).astype(np.float64, copy=False)
        return self._aging_frame(ar, disputed, docs)

    def _aging_frame(self, ar: np.ndarray, disputed: np.ndarray, docs: np.ndarray) -> pl.DataFrame:
        """The cells (segment, region, bucket; bucket fastest) with an open document, as a frame."""
        nb, nr = len(self.edges) + 1, len(self.regions)
        used = np.flatnonzero(docs)
        return pl.DataFrame(
            {
                # a name per cell (a few dozen): plain lists, not a polars gather (a query plan each)
                "segment": pl.Series([self.segments[i] for i in (used // (nr * nb)).tolist()], dtype=pl.Utf8),
                "region": pl.Series([self.regions[i] for i in ((used // nb) % nr).tolist()], dtype=pl.Utf8),
                "bucket": (used % nb).astype(np.int32),
                "ar": ar[used],
                "disputed_ar": disputed[used],
                "documents": docs[used].astype(np.int64),
            }
        )

    # --- per customer -----------------------------------------------------------

    def _by_customer(self, keys: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        out = np.bincount(keys, weights=weights, minlength=self.n_customers)
        return out if weights is None else out.astype(np.float64, copy=False)  # numpy counts (int) when there is nothing to sum

    def _orders_open(self, t: dt.date) -> slice:
        return slice(0, int(find(self.order_day, day(t), side="right")))

    def _picked_customers(self, sel: Selection) -> np.ndarray | None:
        m = None
        if sel.segment is not None:
            m = sel.segment[self.cust_segment]
        if sel.region is not None:
            m = sel.region[self.cust_region] if m is None else m & sel.region[self.cust_region]
        return m

    def customers_at(self, t: dt.date, f: Filters) -> pl.DataFrame:
        """Every customer's credit position at T, as receivables/customers_at.sql (same columns and
        meaning; rows by customer_key): receivables in the selected currencies, exposure in all."""
        if not self.held:
            return queries.run(self.con, "receivables/customers_at", as_of=t, **f.params()).pl()
        s = self.open_at(t)
        sel = self.selection(f)
        cur = None if sel.currency is None else sel.currency[s.currency]
        picked_amount = _where(cur, s.amount)
        overdue = (day(t) - s.due) > 0
        ar = self._by_customer(s.customer, picked_amount)
        ar_overdue = self._by_customer(s.customer, np.where(overdue, picked_amount, 0.0))
        disputed = self._by_customer(s.customer, np.where(s.disputed, picked_amount, 0.0))
        open_items = self._by_customer(s.customer if cur is None else s.customer[cur])
        ar_every = ar if cur is None else self._by_customer(s.customer, s.amount)
        o = self._orders_open(t)
        ok, oa = self.order_customer[o], self.order_amount[o]
        ocur = None if sel.currency is None else sel.currency[self.order_currency[o]]
        open_orders = self._by_customer(ok, _where(ocur, oa))
        order_count = self._by_customer(ok if ocur is None else ok[ocur])
        orders_every = open_orders if ocur is None else self._by_customer(ok, oa)
        rows = self._picked_customers(sel)
        if sel.currency is not None:  # macro open_in_currencies: something open in a chosen currency
            has = (open_items + order_count) > 0
            rows = has if rows is None else rows & has
        columns = {
            "ar": ar,
            "ar_overdue": ar_overdue,
            "disputed_ar": disputed,
            "open_orders": open_orders,
            "open_order_count": order_count.astype(np.int64),
            "exposure": ar_every + orders_every,
        }
        # the limit rules of limits.py in their numpy form (NaN = no limit): no query plan per date
        exposure = columns["exposure"]
        columns |= {
            "utilization": limits.utilisation_np(exposure, self.cust_limit),
            "headroom": limits.headroom_np(exposure, self.cust_limit),
            "over_limit": limits.over_limit_np(exposure, self.cust_limit),
        }
        base = self._positions_base
        if rows is not None:
            base = base.filter(pl.Series(rows))
            columns = {k: v[rows] for k, v in columns.items()}
        return base.hstack([pl.Series(k, v, nan_to_null=k in ("utilization", "headroom")) for k, v in columns.items()])

    # --- the risk scorecard's measures ------------------------------------------------

    def _paid_docs(self, after: dt.date, upto: dt.date) -> pl.DataFrame:
        """Paid documents settled in (after, upto], in an order fixed by their values (paid day,
        customer, amount, days late), so a customer's sums never depend on how ties were stored."""
        with self._lock:
            paid = self._paid
        if paid is None:
            paid = queries.run(self.con, "risk/paid_window", after=EVERY_DAY[0], upto=EVERY_DAY[1]).pl()
            paid = paid.sort("paid_day", "customer_key", "amount_base", "days_late")
            with self._lock:
                self._paid = paid
        days = paid["paid_day"].to_numpy()
        lo, hi = find(days, [day(after), day(upto)], side="right")
        return paid.slice(int(lo), int(hi - lo))

    def risk_measures(self, t: dt.date, f: Filters) -> pl.DataFrame:
        """The raw measures of the risk scorecard at T, as queries/risk/factors_at.sql (same columns,
        nulls where its sums have no rows; rows by customer_key)."""
        if not self.held:
            return queries.run(self.con, "risk/factors_at", as_of=t, **f.params()).pl()
        d = day(t)
        null_unless = lambda counts, values: np.where(counts > 0, values, np.nan)  # noqa: E731 - SQL sum() of no rows is NULL
        paid = self._paid_docs(t - dt.timedelta(days=365), t)
        # sorted by paid day: the prior window (T-365, T-90] is the first rows, the recent (T-90, T] the rest
        cut = int(find(paid["paid_day"].to_numpy(), d - 90, side="right"))
        sums = {}
        for name, part in (("prior", paid.slice(0, cut)), ("recent", paid.slice(cut))):
            pk, pa = part["customer_key"].to_numpy(), part["amount_base"].to_numpy()
            sums[name] = (self._by_customer(pk), self._by_customer(pk, pa), self._by_customer(pk, pa * part["days_late"].to_numpy()))
        (n_prior, a_prior, x_prior), (n_recent, a_recent, x_recent) = sums["prior"], sums["recent"]
        paid_docs = n_prior + n_recent
        s = self.open_at(t)
        dpd = d - s.due
        positive = s.amount > 0
        n_positive = self._by_customer(s.customer[positive])
        ar = self._by_customer(s.customer, s.amount)
        o = self._orders_open(t)
        sel = self.selection(f)
        columns = {
            "paid_docs": paid_docs.astype(np.int64),
            "open_docs": self._by_customer(s.customer).astype(np.int64),
            "paid_amount": null_unless(paid_docs, a_prior + a_recent),
            "paid_late_x_amount": null_unless(paid_docs, x_prior + x_recent),
            "recent_amount": null_unless(n_recent, a_recent),
            "recent_late_x_amount": null_unless(n_recent, x_recent),
            "prior_amount": null_unless(n_prior, a_prior),
            "prior_late_x_amount": null_unless(n_prior, x_prior),
            "open_late_amount": null_unless(n_positive, self._by_customer(s.customer, np.where(positive, s.amount, 0.0))),
            "open_late_x_amount": null_unless(n_positive, self._by_customer(s.customer, np.where(positive, s.amount * np.maximum(dpd, 0), 0.0))),
            "ar": ar,
            "ar_overdue": self._by_customer(s.customer, np.where(dpd > 0, s.amount, 0.0)),
            "ar_over_60": self._by_customer(s.customer, np.where(dpd > 60, s.amount, 0.0)),
            "disputed_ar": self._by_customer(s.customer, np.where(s.disputed, s.amount, 0.0)),
        }
        open_orders = self._by_customer(self.order_customer[o], self.order_amount[o])
        columns |= {"open_orders": open_orders, "exposure": ar + open_orders}
        rows = self._picked_customers(sel)
        if sel.currency is not None:  # macro open_in_currencies, over the chosen currencies only
            in_cur = self._by_customer(s.customer[sel.currency[s.currency]])
            in_cur += self._by_customer(self.order_customer[o][sel.currency[self.order_currency[o]]])
            rows = in_cur > 0 if rows is None else rows & (in_cur > 0)
        base = self.customers
        if rows is not None:
            base = base.filter(pl.Series(rows))
            columns = {k: v[rows] for k, v in columns.items()}
        # Series one by one: a dict of many numpy columns makes polars start a thread pool to convert them
        return base.hstack([pl.Series(k, v, nan_to_null=True) for k, v in columns.items()])

    def over_60_at_any(self, month_ends: list[dt.date]) -> np.ndarray:
        """customer_keys with more than 0.005 open over 60 days past due at one of the month-ends
        (queries/risk/events.sql: the backtest's events)."""
        if not self.held:
            keys = queries.run(self.con, "risk/events", month_ends=month_ends).pl()["customer_key"] if month_ends else []
            return np.sort(np.asarray(keys, dtype=np.int32))
        hit = np.zeros(self.n_customers, dtype=bool)
        for m in month_ends:
            s = self.open_at(m)
            late = (day(m) - s.due) > 60
            hit |= self._by_customer(s.customer[late], s.amount[late]) > 0.005
        return np.flatnonzero(hit).astype(np.int32)

    # --- the collections worklist's positions (added for issue 14) ---------------------------

    def worklist_positions(self, t: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Per customer_key at T, as queries/collections/positions_at.sql: the oldest open item's days
        past due among those open above 0 (NaN where the SQL's max is null) and the open amount of
        overdue items flagged disputed in the ledger (0 without one). Every customer of the snapshot."""
        if not self.held:
            pos = queries.run(self.con, "collections/positions_at", as_of=t).pl()
            n = int(queries.run(self.con, "collections/key_count").fetchall()[0][0])
            oldest = np.full(n, np.nan)
            disputed = np.zeros(n)
            k = pos["customer_key"].to_numpy()
            oldest[k] = pos["oldest_dpd"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            disputed[k] = pos["disputed_overdue"].to_numpy()
            return oldest, disputed
        s = self.open_at(t)
        d = day(t)
        positive = s.amount > 0
        # the oldest item is the one due first: max(T - due) = T - min(due)
        first_due = np.full(self.n_customers, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_due, s.customer[positive], s.due[positive].astype(np.int64))
        oldest = np.where(first_due == np.iinfo(np.int64).max, np.nan, d - first_due.astype(np.float64))
        late = s.disputed & ((d - s.due) > 0)
        return oldest, self._by_customer(s.customer[late], s.amount[late])

    def _span_docs(self) -> np.ndarray | None:
        """The doc_key of every held span (read on first use: only the promises' settlements need it);
        None when the held spans are not in the table's order (then the SQL answers)."""
        with self._lock:
            read, docs = getattr(self, "_docs", (False, None))
        if not read:
            df = queries.run(self.con, "collections/span_docs").pl()
            same = (
                df.height == len(self._all)
                and np.array_equal(df["start_day"].to_numpy(), self._all.start)
                and np.array_equal(df["end_day"].to_numpy(), self._all.end)
            )
            docs = df["doc_key"].to_numpy().astype(np.int64) if same else None
            with self._lock:
                self._docs = (True, docs)
        return docs

    def settlements(self, customer_keys: list[int], since: dt.date, t: dt.date) -> pl.DataFrame:
        """customer_key, doc_key, settled_on, settled: each drop of a positive open amount of the given
        customers' documents dated in [since, T], as queries/collections/settlements.sql (its rows, in
        no particular order): a span ending that day less the same document's span starting that day."""
        docs = self._span_docs() if self.held else None
        if docs is None:
            return queries.run(self.con, "collections/settlements", customer_keys=customer_keys, since=since, as_of=t).pl()
        a, d0, d1 = self._all, day(since), day(t)
        picked = np.zeros(self.n_customers + 1, dtype=bool)
        picked[[k for k in customer_keys if 0 <= k < self.n_customers]] = True
        lo, hi = int(find(a.end, d0, side="left")), int(find(a.end, d1, side="right"))  # end in [since, T]
        e = lo + np.flatnonzero((a.amount[lo:hi] > 0) & picked[a.customer[lo:hi]])
        tail = int(find(a.end, d0, side="right"))  # open_during(start, end, since, T): end > since ...
        st = a.start[tail:]
        s = tail + np.flatnonzero((st >= d0) & (st <= d1) & picked[a.customer[tail:]])  # ... started in [since, T]
        # the same document's span starting the day one ends: one key per (document, day)
        s_key = docs[s] * (1 << 32) + a.start[s].astype(np.int64)
        order = np.argsort(s_key, kind="stable")
        s_key, s = s_key[order], s[order]
        e_key = docs[e] * (1 << 32) + a.end[e].astype(np.int64)
        at = np.minimum(np.searchsorted(s_key, e_key), max(len(s_key) - 1, 0))
        hit = (s_key[at] == e_key) if len(s_key) else np.zeros(len(e), dtype=bool)
        rest = np.where(hit, a.amount[s[at]] if len(s) else 0.0, 0.0)
        return pl.DataFrame(
            {
                "customer_key": a.customer[e].astype(np.int32),
                "doc_key": docs[e],
                "settled_on": pl.Series(a.end[e].astype(np.int32)).cast(pl.Date),
                "settled": a.amount[e] - rest,
            }
        )
