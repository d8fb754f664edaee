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
        return cls(keys[order], settle[order])

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
    overall: Sorted
    # settled documents (amount > 0) in customer order, for the baseline's mean delay per customer
    settled_customer: np.ndarray
    settled_day: np.ndarray
    settled_amount: np.ndarray
    settled_delay: np.ndarray  # settlement day - due date (negative = early)

    def rows(self, doc_key: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.doc_keys, doc_key)


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
    amount = np.asarray(docs["amount_base"], dtype=np.float64)[settled]
    delay = (sd - day_numbers(docs["due_date"])[settled]).astype(np.float64)
    return History(
        doc_keys=np.asarray(docs["doc_key"], dtype=np.int64),
        invoice_day=invoice_day,
        customer_segment=customer_segment,
        segment_names=names,
        by_customer=Sorted.of(c, s, sd),
        by_segment=Sorted.of(customer_segment[c], s, sd),
        overall=Sorted.of(np.zeros_like(c), s, sd),
        settled_customer=c,
        settled_day=sd,
        settled_amount=amount,
        settled_delay=delay,
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
