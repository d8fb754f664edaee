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
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from dashboard.metrics import limits
from dashboard.store import sql as queries

if TYPE_CHECKING:  # polars and DuckDB load when an engine first needs them: never on a fresh `o2c kpis` (from_files)
    import duckdb
    import polars as pl
    import pyarrow as pa

    from dashboard.metrics.kpis import Filters

EPOCH = dt.date(1970, 1, 1).toordinal()
EVERY_DAY = (dt.date(1, 1, 1), dt.date(9999, 12, 31))
SLICES_KEPT = 8  # open-at-T slices kept per engine: T, the prior month-end and their T-90 of a few overviews


def day(d: dt.date) -> int:
    """Days since 1970-01-01, as the SQL loaders write dates."""
    return d.toordinal() - EPOCH


def find(days: np.ndarray, values: int | list[int], side: Literal["left", "right"] = "left") -> np.ndarray:
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
        n = len(self)  # a column left empty (start and end of an open_at slice) stays empty
        return Spans(**{f.name: (c[rows] if len(c) == n else c) for f in fields(self) for c in (getattr(self, f.name),)})

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
    import polars as pl

    return values.cast(pl.Enum(categories)).to_physical().to_numpy().astype(np.int32)


def _arrow_codes(values: pa.ChunkedArray, categories: list[str]) -> np.ndarray:
    """_codes for a string column read from Parquet as a dictionary: each chunk's dictionary mapped once."""
    import pyarrow as pa

    index = {c: i for i, c in enumerate(categories)}
    parts = []
    for chunk in values.chunks:
        try:
            lookup = np.array([index[v] for v in chunk.dictionary.to_pylist()], dtype=np.int32)
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]!r} is not among {categories}") from None
        parts.append(lookup[arrow_numpy(pa.chunked_array([chunk.indices]))] if len(lookup) else np.zeros(len(chunk), np.int32))
    return np.concatenate(parts) if parts else np.zeros(0, np.int32)


def _dictionary(values: pa.ChunkedArray) -> set[str]:
    """The distinct values of a string column read as a dictionary (every chunk's dictionary)."""
    return {v for c in values.chunks for v in c.dictionary.to_pylist() if v is not None}


def arrow_numpy(values: pa.ChunkedArray) -> np.ndarray:
    """A Parquet column of numbers, dates or booleans as numpy, straight from the Arrow buffers: pyarrow's
    own to_numpy imports pandas (~0.5 s) and its compute module (~0.1 s). Dates as days since 1970-01-01
    (int32, as the SQL's `(d - DATE '1970-01-01')::integer`), floats with nulls as NaN, booleans as bool
    (null: False, as the engine's fill_null(False))."""
    import pyarrow as pa

    t = values.type
    if pa.types.is_boolean(t):
        dtype: np.dtype = np.dtype(bool)
    elif pa.types.is_date32(t):
        dtype = np.dtype(np.int32)
    elif pa.types.is_floating(t) or pa.types.is_integer(t):
        dtype = np.dtype(f"{'f' if pa.types.is_floating(t) else 'i' if pa.types.is_signed_integer(t) else 'u'}{t.bit_width // 8}")
    else:
        raise TypeError(f"arrow_numpy: {t} is not a number, date or boolean")
    parts = []
    for c in values.chunks:
        n, off = len(c), c.offset
        validity, data = c.buffers()[0], c.buffers()[1]
        if dtype.kind == "b":
            v = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[off : off + n].astype(bool) if n else np.zeros(0, bool)
        else:
            v = np.frombuffer(data, dtype=dtype, count=off + n)[off:] if n else np.zeros(0, dtype)
        if c.null_count:
            valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")[off : off + n].astype(bool)
            if dtype.kind == "f":
                v = np.where(valid, v, np.nan)
            elif dtype.kind == "b":
                v = v & valid
            else:
                raise ValueError(f"a {t} column with nulls: read it with the engine")
        parts.append(v)
    if not parts:
        return np.zeros(0, dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Cells(NamedTuple):
    """The aging cells (segment, region, bucket; bucket fastest) with an open document: flat cell number, sums."""

    cell: np.ndarray
    ar: np.ndarray
    disputed_ar: np.ndarray
    documents: np.ndarray


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
        self._since: int | None = None  # from_files: the spans closed by then were not read
        self._base_lists: tuple[dict[str, list], dict] | None = None  # customer_rows' columns as lists, and their types
        self.has_currency = True  # from_files without currencies: a span's currency was not read
        if self.held:
            self._hold(cur)

    @classmethod
    def from_files(cls, snapshot_dir: Path, edges: tuple[int, ...] | list[int], since: dt.date, currencies: bool = True) -> Positions:
        """The arrays a headline needs at dates from `since` on, read from the snapshot's Parquet files with
        pyarrow (a fresh `o2c kpis`: no DuckDB, no polars, no pyarrow.compute): the customers' segment, region
        and limit, the orders, and only the row groups of spans still open after `since` (the file is sorted
        by end_date). The same arrays, in the same order, as `_hold` makes from the same tables, so every sum
        is the one the dashboard's engine makes. A span's segment and region are its customer's (the derive
        joins them from customers); its currency is read only with `currencies` (a currency filter needs it)."""
        import pyarrow.parquet as pq

        self = cls.__new__(cls)
        self.con, self.edges, self.held = None, tuple(edges), True  # type: ignore[assignment]
        self._lock, self._slices, self._paid, self._since = threading.Lock(), {}, None, day(since)
        self.has_currency = currencies
        cust = pq.ParquetFile(snapshot_dir / "tables/customers.parquet", read_dictionary=["segment", "region"]).read(
            ["customer_key", "segment", "region", "credit_limit"]
        )
        keys = arrow_numpy(cust["customer_key"])
        if not np.array_equal(keys, np.arange(len(keys))):
            raise ValueError("customers.customer_key is not 0, 1, 2, ...: rebuild the snapshot with `o2c ingest` (the load assigns dense keys)")
        self.segments, self.regions = sorted(_dictionary(cust["segment"])), sorted(_dictionary(cust["region"]))
        self.cust_segment = _arrow_codes(cust["segment"], self.segments)
        self.cust_region = _arrow_codes(cust["region"], self.regions)
        self.cust_limit = arrow_numpy(cust["credit_limit"]).astype(np.float64)  # null -> NaN
        orders = pq.ParquetFile(snapshot_dir / "tables/orders.parquet", read_dictionary=["currency"]).read(
            ["order_date", "customer_key", "amount_base", "currency"]
        )
        sales_cur = pq.ParquetFile(snapshot_dir / "derived/daily_sales.parquet", read_dictionary=["currency"]).read(["currency"])["currency"]
        self.currencies = sorted(_dictionary(sales_cur) | _dictionary(orders["currency"]))
        order_day, order_customer, order_amount = (arrow_numpy(orders[c]) for c in ("order_date", "customer_key", "amount_base"))
        by = np.lexsort((order_amount, order_customer, order_day))  # receivables/orders_by_day.sql's order
        self.order_day, self.order_customer, self.order_amount = order_day[by], order_customer[by], order_amount[by]
        self.order_currency = _arrow_codes(orders["currency"], self.currencies)[by]
        pf = pq.ParquetFile(snapshot_dir / "derived/open_intervals.parquet", read_dictionary=["currency"])
        end_col = pf.schema_arrow.names.index("end_date")
        groups = []
        for g in range(pf.metadata.num_row_groups):
            st = pf.metadata.row_group(g).column(end_col).statistics
            if st is None or not st.has_min_max or st.null_count or st.max > since:  # no statistics: read it
                groups.append(g)
        columns = ["start_date", "end_date", "due_date", "open_amount", "disputed", "customer_key"] + (["currency"] if currencies else [])
        spans = pf.read_row_groups(groups, columns=columns)
        end = arrow_numpy(spans["end_date"])
        keep: slice | np.ndarray = slice(int(find(end, day(since), side="right")), None)  # views, no copy
        if len(end) > 1 and not bool(np.all(end[1:] >= end[:-1])):  # a table not written by derive/open_intervals.sql
            order = np.argsort(end, kind="stable")
            keep = order[int(find(end[order], day(since), side="right")) :]
        end = end[keep]
        customer = arrow_numpy(spans["customer_key"])[keep]
        self._all = Spans(
            start=arrow_numpy(spans["start_date"])[keep],
            end=end,
            due=arrow_numpy(spans["due_date"])[keep],
            amount=arrow_numpy(spans["open_amount"])[keep],
            disputed=arrow_numpy(spans["disputed"])[keep],
            customer=customer,
            segment=self.cust_segment[customer],
            region=self.cust_region[customer],
            currency=_arrow_codes(spans["currency"], self.currencies)[keep] if currencies else np.zeros(len(customer), np.int32),
        )
        return self

    def _hold(self, cur: duckdb.DuckDBPyConnection) -> None:
        import polars as pl

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
        return len(self.cust_limit)

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
        """The spans open at T (start <= T < end), in the table's order (their start and end left empty)."""
        d = day(t)
        with self._lock:
            hit = self._slices.get(d)
        if hit is not None:
            return hit
        # start and end are not gathered: every span of the slice is open at T, and nothing reads them after
        a, rows = self._all, self._open_rows(d)
        s = Spans(**{f.name: getattr(a, f.name)[:0] if f.name in ("start", "end") else getattr(a, f.name)[rows] for f in fields(a)})
        with self._lock:
            if len(self._slices) >= SLICES_KEPT:
                self._slices.pop(next(iter(self._slices)))
            self._slices[d] = s
        return s

    def _open_rows(self, d: int) -> np.ndarray:
        """Positions in the held spans of those open on day d."""
        assert self._all is not None, "open spans are held only for an engine over in-memory tables"
        assert self._since is None or d >= self._since, f"the spans open on day {d} were not read (from_files since a later day)"
        first = int(find(self._all.end, d, side="right"))  # the spans still open after T ...
        return first + np.flatnonzero(self._all.start[first:] <= d)  # ... that started by T: one index, then gathers

    def selection(self, f: Filters) -> Selection:
        assert self.has_currency or not f.currencies, "the spans' currencies were not read (from_files(currencies=False))"

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
        d = day(t)
        with self._lock:
            s = self._slices.get(d)
        sel = self.selection(f)
        if s is None:  # a date only AR is asked for (the CEI's look-back): the columns it reads, not all nine
            rows = self._open_rows(d)
            a = self._all
            s = Spans(
                start=a.start[:0],
                end=a.end[:0],
                due=a.due[rows],
                amount=a.amount[rows],
                disputed=a.disputed[rows],
                customer=a.customer[:0],
                segment=a.segment[rows] if sel.segment is not None else a.segment[:0],
                region=a.region[rows] if sel.region is not None else a.region[:0],
                currency=a.currency[rows] if sel.currency is not None else a.currency[:0],
            )
        m = self._picked_spans(s, sel)
        amount = _where(m, s.amount)
        return float(amount.sum()), float(amount[(d - s.due) <= 0].sum()), float(amount[s.disputed].sum())

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
        return self._aging_frame(self.aging_cells(t, f))

    def aging_frame_of(self, cells: Cells) -> pl.DataFrame:
        """aging's frame from aging_cells' arrays (the same rows)."""
        return self._aging_frame(cells)

    def aging_cells(self, t: dt.date, f: Filters) -> Cells:
        """aging's cells as arrays (only those with an open document), for an engine holding the spans."""
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
        used = np.flatnonzero(docs)
        return Cells(used, ar[used], disputed[used], docs[used])

    def bucket_of(self, cells: Cells) -> np.ndarray:
        return (cells.cell % (len(self.edges) + 1)).astype(np.int32)

    def _aging_frame(self, cells: Cells) -> pl.DataFrame:
        """The cells (segment, region, bucket; bucket fastest) with an open document, as a frame."""
        import polars as pl

        nb, nr = len(self.edges) + 1, len(self.regions)
        used = cells.cell
        return pl.DataFrame(
            {
                # a name per cell (a few dozen): plain lists, not a polars gather (a query plan each)
                "segment": pl.Series([self.segments[i] for i in (used // (nr * nb)).tolist()], dtype=pl.Utf8),
                "region": pl.Series([self.regions[i] for i in ((used // nb) % nr).tolist()], dtype=pl.Utf8),
                "bucket": (used % nb).astype(np.int32),
                "ar": cells.ar,
                "disputed_ar": cells.disputed_ar,
                "documents": cells.documents.astype(np.int64),
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
        import polars as pl

        rows, columns = self.customer_columns(t, f)
        base = self._positions_base
        if rows is not None:
            base = base.filter(pl.Series(rows))
        return base.hstack([pl.Series(k, v, nan_to_null=k in ("utilization", "headroom")) for k, v in columns.items() if k not in ("segment", "credit_limit")])

    def customer_rows(self, keys: np.ndarray, columns: dict[str, np.ndarray] | None = None, order: list[str] | None = None) -> pl.DataFrame:
        """customer_id, name, segment, region, credit_limit of these customers (by customer_key), then `columns`
        (arrays of the same length; NaN as null), in `order` (default: as listed): names joined to the few rows a
        result shows. From the columns as Python lists, made once: a polars gather or select of 10 rows cost
        ~5-10 ms on the shared cores (a numpy index takes a slow path, a select plans a query)."""
        import polars as pl

        with self._lock:
            made = self._base_lists
        if made is None:
            base = self._positions_base
            names = ["customer_id", "name", "segment", "region", "credit_limit"]
            made = ({c: base[c].to_list() for c in names}, {c: base.schema[c] for c in names})
            with self._lock:
                self._base_lists = made
        lists, schema = made
        ks = keys.tolist()
        data: dict[str, pl.Series] = {c: pl.Series(c, [v[k] for k in ks], dtype=schema[c]) for c, v in lists.items()}
        data |= {c: pl.Series(c, v, nan_to_null=True) for c, v in (columns or {}).items()}
        return pl.DataFrame([data[c] for c in (order or list(data))])

    def customer_columns(self, t: dt.date, f: Filters) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """customers_at's figures as arrays (which customers: a mask by customer_key, None = all), with the
        customers' segment codes and limits (NaN = none), for an engine holding the spans."""
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
            "segment": self.cust_segment,
            "credit_limit": self.cust_limit,
        }
        if rows is not None:
            columns = {k: v[rows] for k, v in columns.items()}
        return rows, columns

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
        import polars as pl

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
        import polars as pl

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
        import polars as pl

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

    # --- the cash-in forecast's open documents (added for issue 16) ---------------------------

    def forecast_open_at(self, t: dt.date, f: Filters) -> tuple[np.ndarray, Spans] | None:
        """The documents of the selection open at T, as queries/forecast/open_at.sql's rows for that one date
        (in another order): their doc_key and their spans (open_at's slice, shared with the other pages at T;
        segment as a code of self.segments). None when the spans are not held or their documents do not line
        up with them (then the SQL answers)."""
        docs = self._span_docs() if self.held and self.con is not None else None
        if docs is None:
            return None
        s = self.open_at(t)
        rows = self._open_rows(day(t))  # the rows open_at gathered, in its order: their doc_key is one more gather
        keys = docs[rows]
        m = self._picked_spans(s, self.selection(f))
        return (keys, s) if m is None else (keys[m], s.take(m))
