"""Baselines: DuckDB SQL over the extract's Parquet files, written from kpis.md and the ledger
contract alone.

    python bench/baselines/duckdb_raw.py EXTRACT_FOLDER --as-of YYYY-MM-DD

`Raw(folder)` (DuckDB on the raw Parquet): nothing is kept between calls; the connection only
names the five files (views over read_parquet). Every call converts to the base currency
(as-of join on the distinct currency/date pairs; a payment at its document's rate) into
temporary tables, takes the documents open at each date it needs (a range join of the
documents with those dates: issued by the date, not cleared by it) as signed rows (the
document's amount, minus each of its payments dated on or before the date), and aggregates
them: totals and aging per date, positions per customer at T and the prior month-end. The
day series (sales per day and segment, settled documents per day) are two GROUP BYs; windows
and the countback walk run on those few thousand rows in Python.

`Raw(folder, prepared=True)` (DuckDB, prepared in memory): the same SQL, with the conversion
and the day series done once (timed apart), the documents sorted by the day they stop being
open; per date only the range join and the aggregates run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import numpy as np

try:
    from . import spec
except ImportError:  # run as a script
    import spec  # type: ignore[no-redef]

BUCKET_SQL = "(" + " + ".join(f"((d - due_date) > {e})::integer" for e in spec.EDGES) + ")"  # how many edges dpd is above

# Conversion to the base currency, once per call (raw) or once in all (mem): the customers
# (master + anyone in invoices or orders), the documents with their customer's segment and region,
# the payments with their document's attributes (at its rate), the orders.
PREPARE = [
    f"""create or replace temp table fx_t as
    select upper(currency) as currency, rate_to_base, coalesce(rate_date, DATE '0001-01-01') as rate_date from fx_raw
    union all
    select '{spec.BASE}', 1.0, DATE '0001-01-01' where not exists (select 1 from fx_raw where upper(currency) = '{spec.BASE}')""",
    f"""create or replace temp table cust_t as
    select row_number() over (order by customer_id)::integer as ck, *
    from (
        select customer_id, coalesce(segment, '{spec.UNASSIGNED}') as segment, coalesce(region, '{spec.UNASSIGNED}') as region, credit_limit
        from (select distinct on (customer_id) * from customers_raw)
        union all
        select customer_id, '{spec.UNASSIGNED}', '{spec.UNASSIGNED}', null
        from (select customer_id from invoices_raw union select customer_id from orders_raw)
        where customer_id not in (select customer_id from customers_raw where customer_id is not null)
    )""",
    f"""create or replace temp table doc_t as
    with rates as (
        select p.cur, p.invoice_date, fx_t.rate_to_base as rate
        from (select distinct upper(coalesce(currency, '{spec.BASE}')) as cur, invoice_date from invoices_raw) p
        asof join fx_t on fx_t.currency = p.cur and p.invoice_date >= fx_t.rate_date
    )
    select i.invoice_id, c.ck, c.segment, i.invoice_date, i.due_date, i.paid_date,
           coalesce(i.paid_date, DATE '9999-12-31') as end_date, coalesce(i.disputed, false) as disputed, i.amount * r.rate as amt, r.rate
    from invoices_raw i
    join rates r on r.cur = upper(coalesce(i.currency, '{spec.BASE}')) and r.invoice_date = i.invoice_date
    join cust_t c on c.customer_id = i.customer_id""",
    """create or replace temp table pay_t as
    select d.ck, d.invoice_date, d.due_date, d.end_date, d.disputed, p.payment_date, p.amount * d.rate as amt
    from payments_raw p join doc_t d using (invoice_id)""",
    f"""create or replace temp table ord_t as
    select c.ck, o.order_date, o.amount * r.rate_to_base as amt
    from orders_raw o asof join fx_t r on r.currency = upper(coalesce(o.currency, '{spec.BASE}')) and o.order_date >= r.rate_date
    join cust_t c using (customer_id)""",
]

# Open amounts at each of $dates as signed rows: a document open at d (issued by d, not cleared by d)
# adds its amount, each of its payments dated on or before d subtracts its own.
OPEN_AT = """
create or replace temp table open_t as
with dates as (select unnest($dates::date[]) as d)
select d.d, ck, due_date, disputed, amt as open
from doc_t join dates d on invoice_date <= d.d and end_date > d.d
union all
select d.d, ck, due_date, disputed, -amt
from pay_t join dates d on payment_date <= d.d and invoice_date <= d.d and end_date > d.d
"""

TOTALS = f"""
select d, sum(open) as ar,
       coalesce(sum(open) filter (where due_date >= d), 0) as current,
       coalesce(sum(open) filter (where disputed), 0) as disputed,
       {", ".join(f"coalesce(sum(open) filter (where {BUCKET_SQL} = {b}), 0)" for b in range(len(spec.BUCKETS)))}
from open_t group by d
"""

POSITIONS = """
create or replace temp table pos_t as
with dates as (select unnest($dates::date[]) as d),
ar as (
    select d, ck, sum(open) as ar, coalesce(sum(open) filter (where due_date < d), 0) as ar_overdue
    from open_t where list_contains($dates::date[], d) group by all
),
oo as (
    select d.d, o.ck, sum(o.amt) as open_orders
    from ord_t o join dates d on o.order_date <= d.d
    group by all
),
pos as (
    select d.d, c.customer_id, c.segment, c.credit_limit,
           coalesce(ar.ar, 0) as ar, coalesce(ar.ar_overdue, 0) as ar_overdue, coalesce(oo.open_orders, 0) as open_orders,
           coalesce(ar.ar, 0) + coalesce(oo.open_orders, 0) as exposure
    from cust_t c cross join dates d
    left join ar on ar.ck = c.ck and ar.d = d.d
    left join oo on oo.ck = c.ck and oo.d = d.d
)
select *, credit_limit is not null and exposure > credit_limit as over,
       row_number() over (partition by d order by ar desc) as ar_rank
from pos
"""

SEGMENTS = """
select d, segment, sum(ar), sum(ar_overdue), sum(open_orders), sum(exposure),
       coalesce(sum(credit_limit), 0), count(credit_limit), coalesce(sum(exposure) filter (where credit_limit is not null), 0),
       count(*) filter (where over)
from pos_t group by all order by all
"""

CUSTOMER_TOTALS = """
select d, count(*), count(credit_limit), count(*) filter (where over), sum(open_orders), coalesce(sum(ar) filter (where ar_rank <= 10), 0)
from pos_t group by d
"""

DAILY_SALES = "select invoice_date - DATE '1970-01-01' as day, segment, sum(amt) from doc_t group by all"
DAILY_PAID = """
select paid_date - DATE '1970-01-01' as day, sum(amt), sum(amt * (paid_date - invoice_date)), sum(amt * greatest(0, paid_date - due_date)),
       count(*), count(*) filter (where paid_date <= due_date)
from doc_t where amt > 0 and paid_date is not null group by all
"""


# an optional table left out of the extract: empty, with the contract's columns
EMPTY = {
    "payments": "null::varchar as payment_id, null::varchar as invoice_id, null::date as payment_date, null::double as amount",
    "customers": "null::varchar as customer_id, null::varchar as segment, null::varchar as region, null::double as credit_limit",
    "orders": "null::varchar as order_id, null::varchar as customer_id, null::date as order_date, null::double as amount, null::varchar as currency",
    "fx": "null::varchar as currency, null::double as rate_to_base, null::date as rate_date",
}


class Raw:
    """prepared=False: every call starts from the Parquet files (DuckDB on the raw extract).
    prepared=True: the conversion (PREPARE) and the day series are done once, into DuckDB's memory."""

    def __init__(self, folder: Path, prepared: bool = False, threads: int | None = None):
        # insertion order is never needed here (every result is grouped or ordered explicitly)
        self.con = duckdb.connect(config={"preserve_insertion_order": False} | ({"threads": threads} if threads else {}))
        self.prepared = prepared
        folder = Path(folder)
        for name in ("invoices", "payments", "customers", "orders", "fx"):
            f = folder / f"{name}.parquet"
            if f.exists():
                path = f.as_posix().replace("'", "''")
                self.con.sql(f"create view {name}_raw as select * from read_parquet('{path}')")
            else:  # an optional table left out: empty, with the contract's columns
                self.con.sql(f"create view {name}_raw as select {EMPTY[name]} where false")
        if prepared:
            self._prepare()
            self._day_series = self._series()

    def _prepare(self) -> None:
        """Into temporary tables: per call (raw) or once (prepared)."""
        for stmt in PREPARE:
            self.con.execute(stmt)
        if self.prepared:  # kept for many dates: sorted by the day documents stop being open (zone maps skip the rest)
            for name in ("doc_t", "pay_t"):
                self.con.execute(f"create or replace temp table {name} as select * from {name} order by end_date")

    def _start(self) -> Series:
        """Per call: from the files again (raw), or nothing to do (prepared)."""
        if self.prepared:
            return self._day_series
        self._prepare()
        return self._series()

    def _series(self):
        """Sales per day (total and per segment) and settled documents per day, as cumulative arrays."""
        sales = self.con.sql(DAILY_SALES).fetchall()
        paid = np.array(self.con.sql(DAILY_PAID).fetchall(), dtype=np.float64).reshape(-1, 6)
        d0 = int(min(min(r[0] for r in sales), paid[:, 0].min() if len(paid) else 10**9))
        d1 = int(max(max(r[0] for r in sales), paid[:, 0].max() if len(paid) else 0))
        n = d1 - d0 + 1
        segs = sorted({r[1] for r in sales})
        by = np.zeros((len(segs), n))
        for day, seg, v in sales:
            by[segs.index(seg), day - d0] += v
        pd_ = np.zeros((5, n))
        for r in paid:
            pd_[:, int(r[0]) - d0] += r[1:]
        cum = lambda a: np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)], axis=-1)  # noqa: E731
        return Series(d0, n, segs, cum(by), cum(pd_))

    def _open(self, dates: list[dt.date]) -> None:
        self.con.execute(OPEN_AT, {"dates": dates})

    def _positions(self, dates: list[dt.date]) -> None:
        self.con.execute(POSITIONS, {"dates": dates})

    def _collect(self, dates: list[dt.date], full: list[dt.date]):
        """AR figures at `dates`, positions at `full` (T and the prior month-end)."""
        self._open(dates)
        self._positions(full)
        totals = {r[0]: r[1:] for r in self.con.sql(TOTALS).fetchall()}
        segs: dict = {}
        for r in self.con.sql(SEGMENTS).fetchall():
            segs.setdefault(r[0], []).append(r[1:])
        ctot = {r[0]: r[1:] for r in self.con.sql(CUSTOMER_TOTALS).fetchall()}
        return totals, segs, ctot

    def _parts(self, t, totals, segs, ctot, s: Series) -> spec.Parts:
        zero = (0.0,) * (3 + len(spec.BUCKETS))
        ar, current, disputed, *aging = totals.get(t, zero)
        before = totals.get(t - dt.timedelta(days=spec.P), zero)[0]
        a, b = spec.dso_window(t)
        pw = s.paid(*spec.pay_window(t))
        n, nlim, nover, oo, top10 = ctot[t]
        seg_sales = s.sales(a, b, per_segment=True)
        return spec.Parts(
            t=t,
            ar=float(ar or 0.0),
            current=float(current),
            disputed=float(disputed),
            aging=[float(x) for x in aging],
            sales_window=s.sales(a, b),
            countback_sales=[s.sales(x, y) for x, y, _ in spec.countback_periods(t)],
            ar_before_window=float(before or 0.0),
            paid_amount=pw[0],
            paid_x_days_to_pay=pw[1],
            paid_x_days_late=pw[2],
            paid_count=int(round(pw[3])),
            paid_on_time=int(round(pw[4])),
            open_orders=float(oo),
            customers=int(n),
            customers_with_limit=int(nlim),
            over_limit=int(nover),
            top10_ar=float(top10),
            segments=[spec.Segment(r[0], *map(float, r[1:6]), int(r[6]), float(r[7]), int(r[8]), seg_sales.get(r[0], 0.0)) for r in segs.get(t, [])],
        )

    def headline(self, t: dt.date, rounded: bool = False) -> dict:
        s = self._start()
        totals, segs, ctot = self._collect([t, t - dt.timedelta(days=spec.P)], [t])
        return spec.headline(self._parts(t, totals, segs, ctot, s), rounded)

    def overview(self, t: dt.date, top: int = 10) -> dict:
        s = self._start()
        pme = spec.prior_month_end(t)
        totals, segs, ctot = self._collect(spec.dates_needed(t), [t, pme])
        zero = (0.0,) * (3 + len(spec.BUCKETS))
        trend = []
        for m in spec.trend_dates(t):
            ar, current = (float(x or 0.0) for x in totals.get(m, zero)[:2])
            first = m.replace(day=1)
            pw = s.paid(*spec.pay_window(m))
            adp = spec.payment_behaviour(pw[0], pw[1], pw[2], int(round(pw[3])), int(round(pw[4])))[0]
            trend.append(
                spec.trend_point(
                    m,
                    ar,
                    current,
                    s.sales(*spec.dso_window(m)),
                    [s.sales(x, y) for x, y, _ in spec.countback_periods(m)],
                    float(totals.get(first - dt.timedelta(days=1), zero)[0] or 0.0),
                    s.sales(first, m),
                    adp,
                )
            )
        top_od = self.con.execute(
            "select customer_id, ar_overdue from pos_t where d = $t and ar_overdue > 0 order by ar_overdue desc, customer_id limit $n", {"t": t, "n": top}
        ).fetchall()
        aging = self.con.execute(
            f"select segment, region, {BUCKET_SQL} as b, sum(open) from open_t join cust_t using (ck) where d = $t group by all", {"t": t}
        ).fetchall()
        return {
            "headline": spec.headline(self._parts(t, totals, segs, ctot, s)),
            "prior": spec.headline(self._parts(pme, totals, segs, ctot, s)),
            "trend": trend,
            "top_overdue": [(c, float(v)) for c, v in top_od],
            "aging": {(sg, rg, int(b)): float(v) for sg, rg, b, v in aging},
        }


class Series:
    """Day series fetched from DuckDB, as cumulative arrays (leading 0)."""

    def __init__(self, d0: int, n: int, segments: list[str], sales_seg: np.ndarray, paid: np.ndarray):
        self.d0, self.n, self.segments = d0, n, segments
        self.sales_seg, self.sales_tot, self.paid_cum = sales_seg, sales_seg.sum(axis=0), paid

    def _ix(self, a: dt.date, b: dt.date) -> tuple[int, int]:
        lo = min(max(spec.day(a) - self.d0, 0), self.n)
        hi = min(max(spec.day(b) - self.d0 + 1, 0), self.n)
        return lo, max(hi, lo)

    def sales(self, a: dt.date, b: dt.date, per_segment: bool = False):
        lo, hi = self._ix(a, b)
        if per_segment:
            return {s: float(v) for s, v in zip(self.segments, self.sales_seg[:, hi] - self.sales_seg[:, lo])}
        return float(self.sales_tot[hi] - self.sales_tot[lo])

    def paid(self, a: dt.date, b: dt.date) -> list[float]:
        lo, hi = self._ix(a, b)
        return (self.paid_cum[:, hi] - self.paid_cum[:, lo]).tolist()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    args = ap.parse_args(argv)
    print(json.dumps(Raw(args.folder).headline(args.as_of, rounded=True), indent=2))


if __name__ == "__main__":
    sys.exit(main())
