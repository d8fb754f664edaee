"""The late-payment prediction's features (prediction.md), one row per invoice, known at its invoice date.

Everything a feature reads is dated before the invoice date d of its row: the invoice's own facts at
issue (amount in base currency, terms, currency, the customer's segment, region and external score,
month) and the customer's history from documents settled before d. The history is running sums over
the customer's settled documents sorted by (customer, settlement day): "settled before d" is one binary
search (numpy searchsorted), so every invoice's features come from a few sorts and searches per
snapshot, no loop over documents. A document open on d is counted in its customer's AR at d whatever
day it settled later: only the fact that it was not settled before d is used (tests/test_prediction.py
perturbs every settlement after d and checks the features do not move).

The features do not depend on the as-of date T (they use nothing after each invoice date, and every
invoice issued by T has its date <= T), so they are built once per snapshot and cached per engine.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries

EPOCH = np.datetime64("1970-01-01", "D")
# "Never settled": a day beyond any ledger (build_features keys it as the day after the ledger's last).
NEVER = np.int64((1 << 24) - 2)
RECENT_DAYS = 90

# Feature names in the model's column order, the words a person reads for each, and which are categories.
FEATURES = (
    "amount",
    "terms_days",
    "currency",
    "segment",
    "region",
    "month",
    "external_score",
    "prior_count",
    "prior_late_rate",
    "prior_mean_days_late",
    "recent_count",
    "recent_late_rate",
    "recent_mean_days_late",
    "share_overdue",
)
CATEGORICAL = ("currency", "segment", "region")
FEATURE_WORDS = {
    "amount": "invoice amount",
    "terms_days": "payment terms",
    "currency": "currency",
    "segment": "segment",
    "region": "region",
    "month": "month issued",
    "external_score": "external score",
    "prior_count": "documents settled before",
    "prior_late_rate": "share settled late before",
    "prior_mean_days_late": "mean days late before",
    "recent_count": "documents settled in the 90 days before",
    "recent_late_rate": "share settled late in the 90 days before",
    "recent_mean_days_late": "mean days late in the 90 days before",
    "share_overdue": "share of AR overdue at issue",
}


def _codes(values: np.ndarray) -> np.ndarray:
    return np.minimum(np.asarray(values, dtype=np.int64), 250).astype(np.float64)  # the trees take at most 255 categories


@dataclass(frozen=True)
class Documents:
    """Every document with amount > 0, sorted by doc_key, with its features (X, columns FEATURES)."""

    doc_key: np.ndarray
    customer_key: np.ndarray
    invoice_day: np.ndarray
    due_day: np.ndarray
    settle_day: np.ndarray  # NEVER while open
    X: np.ndarray  # float64, NaN where a feature has no value (no history, no score)
    categories: dict[str, list[str]]

    @property
    def late(self) -> np.ndarray:
        """Settled after its due date (meaningful for settled documents only)."""
        return self.settle_day > self.due_day

    def rows(self, doc_key: np.ndarray) -> np.ndarray:
        """The rows of these documents (each must be one of them)."""
        first, table = self._row_of
        return table[doc_key - first].astype(np.int64)

    def known(self, doc_key: np.ndarray) -> np.ndarray:
        """Which of these keys are documents here (amount > 0): the others are credit notes, or unknown."""
        first, table = self._row_of
        at = doc_key - first
        inside = (at >= 0) & (at < len(table))
        out = np.zeros(len(doc_key), dtype=bool)
        out[inside] = table[at[inside]] >= 0
        return out

    @cached_property
    def _row_of(self) -> tuple[int, np.ndarray]:
        """(first key, row by key - first key, -1 for none), built on first use: one gather per lookup instead of a
        sort and a binary search (the load numbers documents 0, 1, 2, ...: 4 bytes a document, 40 MB at 10M)."""
        if len(self.doc_key) == 0:
            return 0, np.full(0, -1, dtype=np.int32)
        first = int(self.doc_key.min())
        table = np.full(int(self.doc_key.max()) - first + 1, -1, dtype=np.int32 if len(self.doc_key) < 2**31 else np.int64)
        table[self.doc_key - first] = np.arange(len(self.doc_key))
        return first, table


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(1, dtype=values.dtype), np.cumsum(values)])


def sort_order(key: np.ndarray) -> np.ndarray:
    """The order that sorts these non-negative int64 keys, ties in their order (a stable argsort).

    When key and row number fit in 63 bits together, one np.sort of (key << bits | row) replaces the argsort:
    numpy's sort of plain integers is vectorised, its argsort is not (at 10M keys 0.23 s against 3.3 s).
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bits = max(int(n - 1).bit_length(), 1)
    low, high = int(key.min()), int(key.max())
    if low < 0 or (high - low).bit_length() + bits > 63:
        return np.argsort(key, kind="stable")
    packed = np.sort(((key - low) << bits) | np.arange(n, dtype=np.int64))
    return packed & ((1 << bits) - 1)


def build_features(customer: np.ndarray, invoice_day: np.ndarray, due_day: np.ndarray, settle_day: np.ndarray, amount: np.ndarray) -> dict[str, np.ndarray]:
    """The history features of every document from arrays (int64 days; settle_day NEVER while open).

    Every document is a query at its own (customer, invoice day); the queries are answered in that sorted
    order (order A) and put back in the documents' order at the end. Each sum over a customer's documents is a
    difference of running sums over documents sorted by (customer, some day): the customer's block starts
    after the documents of the customers before it in every such order (keys customer * span + day, day + 1
    < span), so its start is a count, and its end up to the query's day one binary search with sorted needles.
    """
    c = customer.astype(np.int64)
    n = len(c)
    names = [f"{h}_{m}" for h in ("prior", "recent") for m in ("count", "late_rate", "mean_days_late")] + ["share_overdue"]
    if n == 0:
        return {name: np.zeros(0) for name in names}
    settled = settle_day < NEVER
    late = ((settle_day > due_day) & settled).astype(np.float64)
    days_late = np.where(settled, np.maximum(settle_day - due_day, 0), 0).astype(np.float64)
    amt = amount.astype(np.float64)
    # Keys customer * span + day, with the days moved to start at RECENT_DAYS + 1 and "never settled" the day
    # after the last: the smallest span that holds them, so a key and a row number fit one int64 (sort_order)
    first_day = int(min(invoice_day.min(), due_day.min(), settle_day[settled].min() if settled.any() else invoice_day.min()))
    last_day = int(max(invoice_day.max(), due_day.max(), settle_day[settled].max() if settled.any() else first_day))
    shift = RECENT_DAYS + 1 - first_day
    invoice_day, due_day = invoice_day + shift, due_day + shift
    settle_day = np.where(settled, settle_day, last_day + 1) + shift
    span = np.int64(1) << int(last_day + 3 + shift).bit_length()
    base = c * span
    a = sort_order(base + invoice_day)  # the queries, sorted
    q = (base + invoice_day)[a]
    # where a customer's block starts in any order by (customer, day): the documents of the customers before it
    lo = _prefix(np.bincount(c))[c[a]]

    def keyed(day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = base + day
        o = sort_order(k)
        return k[o], o

    # every document sorted by (customer, settlement day): the settled ones come first in a customer's block
    # (an open one's day is NEVER), so "settled before d" is a count of keys below customer * span + d
    sk, so = keyed(settle_day)
    n_settled, n_late, n_days = _prefix(settled[so].astype(np.float64)), _prefix(late[so]), _prefix(days_late[so])
    before = np.searchsorted(sk, q, "left")  # settled strictly before the invoice date
    recent = np.maximum(np.searchsorted(sk, q - RECENT_DAYS, "left"), lo)  # settled on d-90 or later
    out: dict[str, np.ndarray] = {}

    def back(values: np.ndarray) -> np.ndarray:  # from order A to the documents' order
        r = np.empty(n, dtype=np.float64)
        r[a] = values
        return r

    def running(day: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Per query: the sum of weight over the customer's documents with day <= the query's day."""
        k, o = keyed(day)
        cum = _prefix(weight[o])
        return cum[np.searchsorted(k, q, "right")] - cum[lo]

    with np.errstate(invalid="ignore", divide="ignore"):
        for name, first in (("prior", lo), ("recent", recent)):
            count = n_settled[before] - n_settled[first]
            out[f"{name}_count"] = back(count)
            out[f"{name}_late_rate"] = back(np.where(count > 0, (n_late[before] - n_late[first]) / count, np.nan))
            out[f"{name}_mean_days_late"] = back(np.where(count > 0, (n_days[before] - n_days[first]) / count, np.nan))
        # AR at the invoice date d: the customer's documents issued before d and not settled before d, a
        # document j counting on the days inv_j + 1 .. settle_j; overdue besides: due_j + 1 .. settle_j.
        # A sum over start <= d < end = (weight started by d) - (weight ended by d), as start <= end.
        ar = running(invoice_day + 1, amt) - running(np.maximum(settle_day, invoice_day) + 1, amt)
        overdue = running(due_day + 1, amt) - running(np.maximum(settle_day, due_day) + 1, amt)
        # a share of sums of floats: noise below a millionth of the AR is 0
        share = np.where(ar > 1e-6, overdue / np.where(ar > 1e-6, ar, 1.0), np.nan)
        out["share_overdue"] = back(np.clip(np.round(share, 9), 0.0, 1.0))
    return out


def build(eng: Engine) -> Documents:
    docs = queries.run(eng.con, "prediction/documents").fetchnumpy()
    inv, due = (np.asarray(docs[c], dtype=np.int64) for c in ("invoice_day", "due_day"))
    settle = np.ma.filled(np.ma.asarray(docs["settle_day"]).astype(np.int64), NEVER)  # null while open
    amount = np.asarray(docs["amount_base"], dtype=np.float64)
    customer = np.asarray(docs["customer_key"], dtype=np.int64)
    hist = build_features(customer, inv, due, settle, amount)
    cats: dict[str, list[str]] = {name: [] for name in CATEGORICAL}
    for feature, value in queries.run(eng.con, "prediction/categories").fetchall():
        cats[feature].append("none" if value is None else str(value))
    cols: dict[str, np.ndarray] = {name: _codes(docs[name]) for name in CATEGORICAL}
    month = (inv.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.float64)
    score = np.ma.filled(np.ma.asarray(docs["external_score"], dtype=np.float64), np.nan)
    cols |= {"amount": amount, "terms_days": (due - inv).astype(np.float64), "month": month, "external_score": score} | hist
    X = np.column_stack([cols[n] for n in FEATURES]) if len(amount) else np.zeros((0, len(FEATURES)))
    return Documents(
        doc_key=np.asarray(docs["doc_key"], dtype=np.int64),
        customer_key=customer,
        invoice_day=inv,
        due_day=due,
        settle_day=settle,
        X=X,
        categories=cats,
    )


_CACHE: weakref.WeakKeyDictionary[Engine, Documents] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def documents(eng: Engine) -> Documents:
    """The snapshot's documents with their features, built on first use and kept as long as its engine lives."""
    with _LOCK:
        d = _CACHE.get(eng)
    if d is None:
        d = build(eng)  # outside the lock: two threads may build it once each, never block each other
        with _LOCK:
            d = _CACHE.setdefault(eng, d)
    return d
