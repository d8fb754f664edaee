"""Baseline: what a skilled analyst would write in polars (and numpy) from kpis.md and the ledger
contract alone, holding one prepared copy of the extract in memory.

One-time preparation (timed apart by the bench):
  - read the extract's Parquet files, convert to the base currency (the latest rate of the
    document's currency dated on or before its invoice date; a payment at its document's rate);
  - dense integer keys for customers (master + anyone in invoices or orders) and for
    (segment, region) groups;
  - every document and every payment as a signed amount over a span of days: a document adds
    its amount over [invoice_date, paid_date), a payment subtracts its amount over
    [max(payment_date, invoice_date), paid_date) - so open(i, T) is the sum of the spans
    covering T (ledger-contract.md: amount minus payments dated on or before T, zero from
    paid_date on);
  - daily prefix sums: AR, current AR, disputed AR and each aging bucket per (segment, region)
    as a function of the day (a span's part in bucket k is again a span of days: T - due_date
    in (e_k-1, e_k] is an interval of T), sales per day and segment, settled documents per day;
  - the spans sorted by the day they stop being open, and open orders sorted by date, for the
    per-customer positions at T (AR, overdue, open orders).
Per date: every scalar is a few array lookups; the per-customer positions are one slice of the
spans still open after T, filtered to those started by T, and a bincount per measure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

try:
    from . import spec
except ImportError:  # run as a script
    import spec  # type: ignore[no-redef]

NB = len(spec.BUCKETS)
FAR = 10**6  # a day far after any ledger (2707): "still open"


def read_extract(folder: Path) -> dict[str, pl.DataFrame]:
    folder = Path(folder)
    out = {}
    for name in ("invoices", "payments", "customers", "orders", "fx"):
        f = folder / f"{name}.parquet"
        if f.exists():
            df = pl.read_parquet(f)
            out[name] = df.rename({c: c.strip().lower() for c in df.columns})
    return out


def _fx(tables: dict) -> pl.DataFrame:
    fx = tables.get("fx")
    if fx is None:
        fx = pl.DataFrame(schema={"currency": pl.Utf8, "rate_to_base": pl.Float64, "rate_date": pl.Date})
    if "rate_date" not in fx.columns:
        fx = fx.with_columns(rate_date=pl.lit(None, pl.Date))
    fx = fx.select(pl.col("currency").str.to_uppercase(), pl.col("rate_to_base").cast(pl.Float64), pl.col("rate_date").fill_null(dt.date(1, 1, 1)))
    if not (fx["currency"] == spec.BASE).any():
        fx = pl.concat([fx, pl.DataFrame({"currency": [spec.BASE], "rate_to_base": [1.0], "rate_date": [dt.date(1, 1, 1)]})])
    return fx.sort("rate_date")


def _rates(df: pl.DataFrame, date_col: str, fx: pl.DataFrame) -> pl.Series:
    """Rate of each row: as-of join on the distinct (currency, date) pairs, then a plain join."""
    cur = pl.col("currency").str.to_uppercase().fill_null(spec.BASE) if "currency" in df.columns else pl.lit(spec.BASE)
    keys = df.select(cur.alias("currency"), pl.col(date_col).alias("d"))
    pairs = keys.unique().sort("d")
    pairs = pairs.join_asof(fx, left_on="d", right_on="rate_date", by="currency", strategy="backward", check_sortedness=False)
    return keys.join(pairs.select("currency", "d", "rate_to_base"), on=["currency", "d"], how="left", maintain_order="left")["rate_to_base"]


def _days(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Int32).to_numpy().astype(np.int64)


class Prepared:
    def __init__(self, folder: Path):
        t = read_extract(folder)
        fx = _fx(t)
        inv = t["invoices"]
        for col, default in (("paid_date", pl.lit(None, pl.Date)), ("disputed", pl.lit(False))):
            if col not in inv.columns:
                inv = inv.with_columns(default.alias(col))
        rate = _rates(inv, "invoice_date", fx)
        cust = t.get("customers", pl.DataFrame(schema={"customer_id": pl.Utf8}))
        for col in ("segment", "region", "credit_limit"):
            if col not in cust.columns:
                cust = cust.with_columns(pl.lit(None, pl.Float64 if col == "credit_limit" else pl.Utf8).alias(col))
        orders = t.get("orders", pl.DataFrame(schema={"customer_id": pl.Utf8, "order_date": pl.Date, "amount": pl.Float64}))
        ids = pl.concat([cust["customer_id"], inv["customer_id"], orders["customer_id"]]).unique().sort()
        master = pl.DataFrame({"customer_id": ids}).join(cust.unique("customer_id", keep="first"), on="customer_id", how="left")
        master = master.with_columns(pl.col("segment").fill_null(spec.UNASSIGNED), pl.col("region").fill_null(spec.UNASSIGNED))
        enum = pl.Enum(ids)
        self.customer_ids = ids
        self.nc = len(ids)
        self.segments = sorted(master["segment"].unique().to_list())
        self.regions = sorted(master["region"].unique().to_list())
        seg_of = master["segment"].replace_strict(self.segments, list(range(len(self.segments))), return_dtype=pl.Int64).to_numpy()
        reg_of = master["region"].replace_strict(self.regions, list(range(len(self.regions))), return_dtype=pl.Int64).to_numpy()
        self.c_seg = seg_of
        self.c_limit = master["credit_limit"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        self.c_group = seg_of * len(self.regions) + reg_of
        self.ng = len(self.segments) * len(self.regions)

        ck = inv["customer_id"].cast(enum).to_physical().to_numpy().astype(np.int64)
        amt = (inv["amount"].cast(pl.Float64) * rate).to_numpy()
        idate, due = _days(inv["invoice_date"]), _days(inv["due_date"])
        pdate = inv["paid_date"].cast(pl.Int32).fill_null(FAR).to_numpy().astype(np.int64)
        disputed = inv["disputed"].fill_null(False).to_numpy()

        # payments at their document's rate, from max(payment_date, invoice_date) to paid_date
        pay = t.get("payments")
        if pay is not None and pay.height:
            pos = pl.DataFrame({"invoice_id": inv["invoice_id"], "_i": pl.int_range(inv.height, eager=True)})
            pi = pay.select("invoice_id").join(pos, on="invoice_id", how="left", maintain_order="left")["_i"].to_numpy()
            p_amt = -(pay["amount"].cast(pl.Float64).to_numpy() * rate.to_numpy()[pi])
            p_start = np.maximum(_days(pay["payment_date"]), idate[pi])
        else:
            pi, p_amt, p_start = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        doc = np.concatenate([np.arange(inv.height), pi])
        s_start = np.concatenate([idate, p_start])
        s_end = pdate[doc]
        s_val = np.concatenate([amt, p_amt])
        keep = s_start < s_end
        doc, s_start, s_end, s_val = doc[keep], s_start[keep], s_end[keep], s_val[keep]
        s_due = due[doc]

        # the day grid: d0 .. d1 (past the last day anything changes: a span starts or ends, or an
        # open item moves to the next bucket); state arrays are indexed by day - d0
        self.d0 = int(idate.min())
        finite = s_end[s_end < FAR]
        last = max(int(s_start.max()), int(finite.max()) if finite.size else 0, int((s_due + spec.EDGES[-1] + 1).max()))
        self.d1 = last + 1
        D = self.d1 - self.d0 + 1
        self.D = D

        def ix(x):
            return np.clip(x - self.d0, 0, D)

        # aging per (group, bucket, day): the days a span spends in bucket b are again an interval of T
        g = self.c_group[ck[doc]]
        grid = np.zeros(self.ng * NB * (D + 1))
        bounds = [(-(10**7), 0)] + list(zip(spec.EDGES, spec.EDGES[1:])) + [(spec.EDGES[-1], 10**7)]
        for b, (e_lo, e_hi) in enumerate(bounds):
            lo = np.maximum(s_start, s_due + e_lo + 1)  # dpd > e_lo  <=>  T >= due + e_lo + 1
            hi = np.minimum(s_end, s_due + e_hi + 1)  # dpd <= e_hi <=>  T <  due + e_hi + 1
            m = lo < hi
            base = (g[m] * NB + b) * (D + 1)
            v = s_val[m]
            grid += np.bincount(np.concatenate([base + ix(lo[m]), base + ix(hi[m])]), np.concatenate([v, -v]), minlength=grid.size)
        self.aging_state = np.cumsum(grid.reshape(self.ng, NB, D + 1), axis=2)[:, :, :D]  # [group, bucket, day]
        tot = self.aging_state.sum(axis=0)
        self.current_state = tot[0]
        self.ar_state = tot.sum(axis=0)
        dm = disputed[doc]
        dd = np.bincount(np.concatenate([ix(s_start[dm]), ix(s_end[dm])]), np.concatenate([s_val[dm], -s_val[dm]]), minlength=D + 1)
        self.disputed_state = np.cumsum(dd)[:D]

        # sales per day and segment (cumulative, a leading 0: Sales(a, b) = S[b+1] - S[a])
        ns = len(self.segments)
        seg_doc = self.c_seg[ck]
        sales = np.bincount(seg_doc * D + (idate - self.d0), amt, minlength=ns * D).reshape(ns, D)
        self.sales_cum_seg = np.concatenate([np.zeros((ns, 1)), np.cumsum(sales, axis=1)], axis=1)
        self.sales_cum = self.sales_cum_seg.sum(axis=0)

        # settled documents with amount > 0, per day of settlement (cumulative)
        m = (amt > 0) & (pdate < FAR)
        pd_ix = pdate[m] - self.d0
        self.paid_cum = {}
        for name, w in (
            ("amount", amt[m]),
            ("x_pay", amt[m] * (pdate[m] - idate[m])),
            ("x_late", amt[m] * np.maximum(0, pdate[m] - due[m])),
            ("n", np.ones(m.sum())),
            ("on_time", (pdate[m] <= due[m]).astype(np.float64)),
        ):
            self.paid_cum[name] = np.concatenate([[0.0], np.cumsum(np.bincount(pd_ix, w, minlength=D))])

        # spans sorted by the day they stop being open: those open after T are a suffix
        order = np.argsort(s_end, kind="stable")
        self.o_end, self.o_start, self.o_val, self.o_due = s_end[order], s_start[order], s_val[order], s_due[order]
        self.o_ck = ck[doc][order]
        # open orders by date (orders of an extract are open by definition)
        if orders.height:
            o_rate = _rates(orders, "order_date", fx)
            od = _days(orders["order_date"])
            oo = np.argsort(od, kind="stable")
            self.ord_day = od[oo]
            self.ord_ck = orders["customer_id"].cast(enum).to_physical().to_numpy().astype(np.int64)[oo]
            self.ord_amt = (orders["amount"].cast(pl.Float64) * o_rate).to_numpy()[oo]
        else:
            self.ord_day, self.ord_ck, self.ord_amt = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        self.has_limit = ~np.isnan(self.c_limit)
        self.limit0 = np.where(self.has_limit, self.c_limit, 0.0)

    # --- lookups -------------------------------------------------------------

    def _state(self, arr: np.ndarray, t: dt.date) -> float:
        i = spec.day(t) - self.d0
        return 0.0 if i < 0 else float(arr[..., min(i, self.D - 1)])

    def ar(self, t: dt.date) -> tuple[float, float]:
        return self._state(self.ar_state, t), self._state(self.current_state, t)

    def _cum(self, cum: np.ndarray, a: dt.date, b: dt.date):
        ia = min(max(spec.day(a) - self.d0, 0), self.D)
        ib = min(max(spec.day(b) - self.d0 + 1, 0), self.D)
        return cum[..., ib] - cum[..., ia] if ib > ia else cum[..., 0] * 0

    def sales(self, a: dt.date, b: dt.date) -> float:
        return float(self._cum(self.sales_cum, a, b))

    def _window(self, cum: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Sums over [first, last] (arrays of days) from a cumulative array (leading 0)."""
        lo = np.clip(first - self.d0, 0, self.D)
        hi = np.clip(last - self.d0 + 1, 0, self.D)
        return np.where(hi > lo, cum[..., hi] - cum[..., lo], 0.0)

    def countback_sales(self, t: dt.date) -> list[float]:
        first, last, _ = spec.countback_bounds(t)
        return self._window(self.sales_cum, first, last).tolist()

    def paid(self, t: dt.date) -> dict[str, float]:
        a, b = spec.pay_window(t)
        return {k: float(self._cum(v, a, b)) for k, v in self.paid_cum.items()}

    def positions(self, t: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """AR, overdue AR and open orders per customer at T."""
        td = spec.day(t)
        k = np.searchsorted(self.o_end, td, side="right")  # spans with end > T
        start, val = self.o_start[k:], self.o_val[k:]
        m = start <= td
        ck, val, due = self.o_ck[k:][m], val[m], self.o_due[k:][m]
        ar = np.bincount(ck, val, minlength=self.nc)
        overdue = np.bincount(ck, np.where(due < td, val, 0.0), minlength=self.nc)
        j = np.searchsorted(self.ord_day, td, side="right")
        oo = np.bincount(self.ord_ck[:j], self.ord_amt[:j], minlength=self.nc)
        return ar, overdue, oo

    # --- the spec's outputs ----------------------------------------------------

    def parts(self, t: dt.date, pos=None) -> spec.Parts:
        ar_c, od_c, oo_c = self.positions(t) if pos is None else pos
        i = min(spec.day(t) - self.d0, self.D - 1)
        buckets = self.aging_state[:, :, i].sum(axis=0) if i >= 0 else np.zeros(NB)
        a, b = spec.dso_window(t)
        exposure = ar_c + oo_c
        over = self.has_limit & (exposure > self.limit0)
        ns = len(self.segments)
        seg_sales = self._cum(self.sales_cum_seg, a, b)

        def by_seg(w):
            return np.bincount(self.c_seg, w, minlength=ns)

        cols = {
            "ar": by_seg(ar_c),
            "od": by_seg(od_c),
            "oo": by_seg(oo_c),
            "ex": by_seg(exposure),
            "lim": by_seg(self.limit0 * self.has_limit),
            "nlim": by_seg(self.has_limit.astype(float)),
            "exl": by_seg(np.where(self.has_limit, exposure, 0.0)),
            "over": by_seg(over.astype(float)),
        }
        segs = [
            spec.Segment(
                s,
                cols["ar"][j],
                cols["od"][j],
                cols["oo"][j],
                cols["ex"][j],
                cols["lim"][j],
                int(cols["nlim"][j]),
                cols["exl"][j],
                int(cols["over"][j]),
                float(seg_sales[j]),
            )
            for j, s in enumerate(self.segments)
        ]
        top10 = float(np.partition(ar_c, self.nc - 10)[-10:].sum()) if self.nc > 10 else float(ar_c.sum())
        pb = self.paid(t)
        ar, current = float(buckets.sum()), float(buckets[0])
        return spec.Parts(
            t=t,
            ar=ar,
            current=current,
            disputed=self._state(self.disputed_state, t),
            aging=[float(x) for x in buckets],
            sales_window=self.sales(a, b),
            countback_sales=self.countback_sales(t),
            ar_before_window=self.ar(t - dt.timedelta(days=spec.P))[0],
            paid_amount=pb["amount"],
            paid_x_days_to_pay=pb["x_pay"],
            paid_x_days_late=pb["x_late"],
            paid_count=int(round(pb["n"])),
            paid_on_time=int(round(pb["on_time"])),
            open_orders=float(oo_c.sum()),
            customers=self.nc,
            customers_with_limit=int(self.has_limit.sum()),
            over_limit=int(over.sum()),
            top10_ar=top10,
            segments=segs,
        )

    def headline(self, t: dt.date, rounded: bool = False) -> dict:
        return spec.headline(self.parts(t), rounded)

    def trend(self, t: dt.date) -> list[dict]:
        """All 13 points at once: arrays of days into the state and cumulative arrays."""
        ms = spec.trend_dates(t)
        d = np.array([spec.day(m) for m in ms])
        first = np.array([spec.day(m.replace(day=1)) for m in ms])
        at = np.clip(d - self.d0, 0, self.D - 1)
        before = first - 1 - self.d0
        ar = np.where(d >= self.d0, self.ar_state[at], 0.0)
        current = np.where(d >= self.d0, self.current_state[at], 0.0)
        ar_before = np.where(before >= 0, self.ar_state[np.clip(before, 0, self.D - 1)], 0.0)
        window = self._window(self.sales_cum, d - (spec.P - 1), d)
        month = self._window(self.sales_cum, first, d)
        pw = {k: self._window(v, d - (spec.W - 1), d) for k, v in self.paid_cum.items()}
        out = []
        for i, m in enumerate(ms):
            adp = spec.payment_behaviour(pw["amount"][i], pw["x_pay"][i], pw["x_late"][i], int(round(pw["n"][i])), int(round(pw["on_time"][i])))[0]
            out.append(
                spec.trend_point(m, float(ar[i]), float(current[i]), float(window[i]), self.countback_sales(m), float(ar_before[i]), float(month[i]), adp)
            )
        return out

    def overview(self, t: dt.date, top: int = 10) -> dict:
        pos = self.positions(t)
        od = pos[1]
        cand = np.flatnonzero(od > 0)
        best = cand[np.argsort(-od[cand], kind="stable")[:top]]
        i = min(spec.day(t) - self.d0, self.D - 1)
        grid = self.aging_state[:, :, i]
        nr = len(self.regions)
        aging = {(self.segments[g // nr], self.regions[g % nr], b): float(grid[g, b]) for g, b in zip(*np.nonzero(grid))}
        return {
            "headline": spec.headline(self.parts(t, pos)),
            "prior": self.headline(spec.prior_month_end(t)),
            "trend": self.trend(t),
            "top_overdue": [(self.customer_ids[int(c)], float(od[c])) for c in best],
            "aging": aging,
        }
