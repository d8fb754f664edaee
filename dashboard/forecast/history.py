"""The ledger's settlement history, read once per snapshot, in the shapes the forecast searches.

The forecast (forecast.md) asks, for every open document, how the settled documents of its
customer (else its segment, else everyone) that were older than it when they settled were spread
over the following days. Counting "settled at s days or fewer" is a binary search in the settled
documents sorted by (customer, days to settle); the window of settlement days ending T is a mask
that keeps that order. So the sorts are done here once per snapshot, and a new as-of date costs a
mask and a few searches (numpy, no loop over documents).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries

# A group's keys are group * SPAN + days; days to settle and ages stay far below 2**24 days.
SPAN = np.int64(1 << 24)
EPOCH = np.datetime64("1970-01-01", "D")


def day_numbers(values: np.ndarray) -> np.ndarray:
    """Dates (datetime64[D], NaT for none) as int64 days since 1970; none becomes a very large number."""
    d = np.ma.filled(values, np.datetime64("NaT")).astype("datetime64[D]")
    out = (d - EPOCH).astype(np.int64)
    out[np.isnat(d)] = np.iinfo(np.int64).max // 4
    return out


@dataclass(frozen=True)
class Sorted:
    """Settled documents sorted by (group, days to settle): keys and, aligned, their settlement days."""

    keys: np.ndarray  # group * SPAN + days to settle, ascending
    settle: np.ndarray  # the settlement day of each key's document

    @classmethod
    def of(cls, group: np.ndarray, s: np.ndarray, settle: np.ndarray) -> Sorted:
        keys = group.astype(np.int64) * SPAN + s
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], settle[order].astype(np.int32))  # 32-bit days: half the memory a window's mask reads

    def window(self, lo: int, hi: int) -> np.ndarray:
        """The keys of the documents settled in [lo, hi] (day numbers), still ascending."""
        return self.keys[(self.settle >= lo) & (self.settle <= hi)]


@dataclass(frozen=True)
class History:
    """What the forecast needs from the snapshot, as numpy arrays (day numbers since 1970)."""

    doc_keys: np.ndarray  # ascending: the row of a document is a binary search away
    invoice_day: np.ndarray
    customer_segment: np.ndarray  # segment code per customer_key
    segment_names: list[str]
    by_customer: Sorted
    by_segment: Sorted
    # The backtest's "due date + mean delay" baseline: settled documents (amount > 0) sorted by (customer,
    # settlement day), with running sums of amount and amount x delay (settlement day - due date) in whole
    # cents, so a customer's sums over any window are two lookups, and exact (integers: a mean of exactly
    # x.5 days stays x.5 and rounds up as the spec says, where float running sums over millions of amounts
    # would drift by a few 1e-9 and could round it down).
    delay_keys: np.ndarray  # customer * SPAN + settlement day, ascending
    cum_cents: np.ndarray  # len(delay_keys) + 1 running sums from 0
    cum_cents_x_delay: np.ndarray

    def rows(self, doc_key: np.ndarray) -> np.ndarray:
        """The rows of these documents. The load numbers documents 0, 1, 2, ... (dense keys): then a document's
        key is its row, with no search (at 10M documents the search of ~1M open ones in ledger order took 1.5-3.7 s);
        otherwise a binary search of the keys sorted first (sorted needles walk the keys forward)."""
        n = len(self.doc_keys)
        if n and self.doc_keys[0] == 0 and self.doc_keys[-1] == n - 1:  # ascending and unique (ordered by doc_key): 0..n-1
            return doc_key
        order = np.argsort(doc_key, kind="stable")
        out = np.empty(len(doc_key), dtype=np.int64)
        out[order] = np.searchsorted(self.doc_keys, doc_key[order])
        return out


def build(eng: Engine) -> History:
    docs = queries.run(eng.con, "forecast/documents").fetchnumpy()
    cust = eng.con.cursor().sql("select customer_key, segment from customers order by customer_key").fetchnumpy()
    names = sorted(set(cust["segment"].tolist()))
    code = {n: i for i, n in enumerate(names)}
    n_cust = int(cust["customer_key"].max()) + 1 if len(cust["customer_key"]) else 0
    customer_segment = np.zeros(n_cust, dtype=np.int64)
    customer_segment[cust["customer_key"].astype(np.int64)] = [code[s] for s in cust["segment"].tolist()]

    invoice_day = day_numbers(docs["invoice_date"])
    settle_day = day_numbers(docs["settle_day"])
    settled = settle_day < np.iinfo(np.int64).max // 4
    customer = docs["customer_key"].astype(np.int64)
    s = (settle_day - invoice_day)[settled]
    c, sd = customer[settled], settle_day[settled]
    cents = np.rint(np.asarray(docs["amount_base"], dtype=np.float64)[settled] * 100).astype(np.int64)
    delay = sd - day_numbers(docs["due_date"])[settled]
    by_day = np.argsort(c * SPAN + sd, kind="stable")
    zero = np.zeros(1, dtype=np.int64)
    return History(
        doc_keys=np.asarray(docs["doc_key"], dtype=np.int64),
        invoice_day=invoice_day,
        customer_segment=customer_segment,
        segment_names=names,
        by_customer=Sorted.of(c, s, sd),
        by_segment=Sorted.of(customer_segment[c], s, sd),
        delay_keys=(c * SPAN + sd)[by_day],
        cum_cents=np.concatenate([zero, np.cumsum(cents[by_day])]),
        cum_cents_x_delay=np.concatenate([zero, np.cumsum(cents[by_day] * delay[by_day])]),
    )


_CACHE: weakref.WeakKeyDictionary[Engine, History] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def history(eng: Engine) -> History:
    """The snapshot's history, built on first use and kept as long as its engine lives."""
    with _LOCK:
        h = _CACHE.get(eng)
    if h is None:
        h = build(eng)  # outside the lock: two threads may build it once each, never block each other
        with _LOCK:
            h = _CACHE.setdefault(eng, h)
    return h
