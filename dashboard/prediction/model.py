"""Late-payment prediction per open invoice: the model, its backtest against the baseline, the scores (prediction.md).

Target: late = settled after its due date. The model is scikit-learn's HistGradientBoostingClassifier on the
features of dashboard/prediction/features.py. The baseline is the customer's prior late rate (its documents
settled before the invoice date) shrunk toward the overall late rate with weight 5:
    p = (late before + 5 x overall) / (settled before + 5),
"overall" being the late share of the documents the fold trains on (settled before the window's start), and
for open invoices of every document settled by T.

Backtest (rolling, time-ordered, pooled): for folds j = 1..4 the window is [T - 90(j+1), T - 90j); the fold
trains on documents issued before the window's start and settled before it, and tests on the window's
documents settled by T. The pooled AUC of each, the event rate and the 90 % bootstrap interval of the
difference decide what is shown: the model only when the interval's lower end is above 0, else the baseline.
The backtest and the final model (trained on everything settled by T) are cached per engine and as-of date.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from dashboard.background import lower_priority
from dashboard.metrics.kpis import ALL, Engine
from dashboard.prediction import skill
from dashboard.prediction.features import CATEGORICAL, EPOCH, FEATURE_WORDS, FEATURES, NEVER, Documents, documents, sort_order
from dashboard.store import sql as queries

FOLDS = 4
WINDOW_DAYS = 90
SHRINK = 5.0
# Training rows are sampled (fixed seed) above this many per fit: at 1M documents the pooled AUC it costs is
# measured in the README; the trees' time grows with the rows, the skill hardly past a few hundred thousand.
MAX_TRAIN_ROWS = 250_000
# A fold's test rows are sampled too (fixed seed) above this many: at 10M documents the four windows hold 3.4M
# settled invoices, and scoring them all was most of the backtest's time; the pooled AUC of 1M rows moves in the
# fourth decimal (README "Late-payment prediction", Speed), and the interval is the m-out-of-n bootstrap anyway.
MAX_TEST_ROWS = 250_000
TOP_FACTORS = 3
_CAT = np.array([n in CATEGORICAL for n in FEATURES])
T_in = TypeVar("T_in")
T_out = TypeVar("T_out")


def _day(t: dt.date) -> int:
    return int((np.datetime64(t, "D") - EPOCH).astype(np.int64))


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


class _Constant:
    """A "model" for a training set with one class only: its rate for everyone (trees cannot fit it)."""

    def __init__(self, rate: float):
        self.rate = rate

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([np.full(len(X), 1 - self.rate), np.full(len(X), self.rate)])


class _Trees:
    """The fitted trees, with the columns that were empty (all NaN) in training set to 0: scikit-learn cannot bin a
    column without a single value (a ledger without external scores), and a constant says the same, nothing."""

    def __init__(self, clf: HistGradientBoostingClassifier, blank: np.ndarray):
        self.clf, self.blank = clf, blank

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.blank.any():
            X = X.copy()
            X[:, self.blank] = 0.0
        return self.clf.predict_proba(X)


Model = _Trees | _Constant


def sampled(rows: np.ndarray, seed: int, at_most: int = MAX_TRAIN_ROWS) -> np.ndarray:
    """At most `at_most` of these rows, drawn with a fixed seed, in their order: the same draw fit() makes, taken
    before the feature matrix is copied (at 10M documents a fold's 7M training rows were a 1 GB copy to sample from)."""
    if len(rows) <= at_most:
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), at_most, replace=False))]


def fit_rows(docs: Documents, rows: np.ndarray, seed: int = 0) -> tuple[Model, np.ndarray]:
    """The classifier on these documents' rows (sampled to MAX_TRAIN_ROWS first), and the rows it was fitted on."""
    keep = sampled(rows, seed)
    return fit(docs.X[keep], docs.late[keep], seed), keep


def fit(X: np.ndarray, y: np.ndarray, seed: int = 0) -> Model:
    """The classifier on (X, y), on at most MAX_TRAIN_ROWS rows drawn with a fixed seed."""
    if len(y) == 0:
        return _Constant(0.0)
    if y.min() == y.max():
        return _Constant(float(y[0]))
    if len(y) > MAX_TRAIN_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), MAX_TRAIN_ROWS, replace=False))
        X, y = X[keep], y[keep]
    # 50 trees at a rate of 0.3: at 10M documents the backtest's AUC within 0.0003 of 100 at 0.15, fitted and
    # scored in half the time (README "Late-payment prediction", Speed)
    clf = HistGradientBoostingClassifier(
        max_iter=50,
        learning_rate=0.3,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=_CAT,
        early_stopping=False,  # the same trees on every run (no random validation split)
        random_state=seed,
    )
    blank = np.isnan(X).all(axis=0)
    if blank.any():
        X = X.copy()
        X[:, blank] = 0.0
    with threadpool_limits(1):  # see _proba
        return _Trees(clf.fit(X, y), blank)


def _proba(model: Model, X: np.ndarray) -> np.ndarray:
    """p(late) per row. One OpenMP thread: on a machine whose cores are shared the trees' threads spin-wait on
    each other (a fit of 15,000 rows took 24 s with two threads under load, 1 s with one)."""
    if len(X) == 0:
        return np.zeros(0)
    with threadpool_limits(1):
        return model.predict_proba(X)[:, 1]


# The trees' fits and scores release the GIL: WORKERS Python threads, each with one OpenMP thread of its own,
# use the cores without the spin-waits of OpenMP's teams (at 10M documents: two fits 4.7 s against 9.0 s one
# after the other, 467,507 rows scored in 2.0 s against 3.7 s), with the same results (each part is the
# same computation). Threads are made per call by the calling thread, so they keep its CPU priority (the
# background training's lowest, background.py).
WORKERS = max(1, min(2, os.cpu_count() or 1))
CHUNK_ROWS = 50_000  # below this, one thread scores all (threads cost more than they save)


def _in_threads(fn: Callable[[T_in], T_out], items: list[T_in]) -> list[T_out]:
    if WORKERS == 1 or len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="late-payment trees") as pool:
        return list(pool.map(fn, items))


def _proba_all(model: Model, X: np.ndarray) -> np.ndarray:
    """_proba of many rows, split across the WORKERS threads."""
    if len(X) < CHUNK_ROWS or WORKERS == 1:
        return _proba(model, X)
    return np.concatenate(_in_threads(lambda part: _proba(model, part), np.array_split(X, WORKERS)))


def baseline(docs: Documents, rows: np.ndarray, overall: float) -> np.ndarray:
    """The customer's prior late rate at each row's invoice date, shrunk toward overall with weight SHRINK."""
    count = docs.X[rows, FEATURES.index("prior_count")]
    rate = np.nan_to_num(docs.X[rows, FEATURES.index("prior_late_rate")])
    return (rate * count + SHRINK * overall) / (count + SHRINK)


@dataclass(frozen=True)
class Skill:
    """The pooled backtest (prediction.md "Model and backtest")."""

    auc: float | None
    baseline_auc: float | None
    diff_ci: tuple[float, float] | None
    test_rows: int
    event_rate: float | None
    folds: list[tuple[dt.date, dt.date, int, int]]  # window start, end (exclusive), training rows, test rows

    @property
    def used(self) -> str:
        return "model" if self.diff_ci is not None and self.diff_ci[0] > 0 else "baseline"

    def sentence(self) -> str:
        """Which probabilities are shown and why, in words for the page and the CLI."""
        if self.auc is None or self.baseline_auc is None or self.diff_ci is None:
            return (
                "Not enough settled history to measure skill (the backtest needs late and on-time invoices in its "
                "four 90-day windows): the probabilities shown are the customers' prior late rates (the baseline)."
            )
        lo, hi = self.diff_ci
        diff = f"AUC {self.auc:.3f} against the baseline's {self.baseline_auc:.3f}; 90 % interval of the difference {lo:+.3f} to {hi:+.3f}"
        if self.used == "model":
            return f"The model beats the customer's history on this ledger's own past ({diff}): its probabilities are shown."
        return (
            f"The model does not beat the customer's history on this ledger's own past ({diff}, which does not lie above 0): "
            "the probabilities shown are the baseline's, each customer's prior late rate shrunk toward the overall rate."
        )


def backtest(docs: Documents, t: dt.date) -> Skill:
    T = _day(t)
    settled, late = docs.settle_day < NEVER, docs.late
    plans, folds = [], []
    for j in range(1, FOLDS + 1):  # four folds, not a loop over documents
        start, end = T - WINDOW_DAYS * (j + 1), T - WINDOW_DAYS * j
        train = np.flatnonzero((docs.invoice_day < start) & settled & (docs.settle_day < start))
        test = np.flatnonzero((docs.invoice_day >= start) & (docs.invoice_day < end) & settled & (docs.settle_day <= T))
        if len(test) > MAX_TEST_ROWS:
            test = np.sort(np.random.default_rng(100 + j).choice(test, MAX_TEST_ROWS, replace=False))
        folds.append((_date(start), _date(end), len(train), len(test)))
        if len(train) and len(test):  # else nothing to learn from (or to test): the pooled figure is over the others
            plans.append((j, train, test))

    def run(plan: tuple[int, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        j, train, test = plan
        model, _ = fit_rows(docs, train, seed=j)
        return _proba(model, docs.X[test]), baseline(docs, test, float(late[train].mean())), late[test]

    done = _in_threads(run, plans)  # the folds are independent: fitted side by side, pooled in their order
    if not done:
        return Skill(None, None, None, 0, None, folds)
    m, b, y = (np.concatenate([d[k] for d in done]) for k in range(3))
    return Skill(skill.auc(m, y), skill.auc(b, y), skill.diff_interval(m, b, y), len(y), float(y.mean()), folds)


@dataclass(frozen=True)
class Prediction:
    """The open invoices at T with their probabilities (the ones shown), ranked by p_late x open."""

    as_of: dt.date
    skill: Skill
    rows: np.ndarray  # rows of Documents, ranked
    open: np.ndarray
    p_late: np.ndarray
    p_model: np.ndarray
    p_baseline: np.ndarray
    model: Model = field(repr=False)
    reference: np.ndarray = field(repr=False)  # per feature, the typical value of the training rows
    overall: float = 0.0


def predict(eng: Engine, t: dt.date | None = None) -> Prediction:
    """The prediction at T (default the snapshot's as-of date), cached per engine and date."""
    t = t or eng.as_of
    with _LOCK:
        p = _CACHE.setdefault(eng, {}).get(t)
    if p is None:
        p = _build(eng, t)
        with _LOCK:
            cache = _CACHE.setdefault(eng, {})
            if len(cache) >= 16:  # a bound: a session browsing dates keeps the last few
                cache.pop(next(iter(cache)))
            p = cache.setdefault(t, p)
    return p


def _build(eng: Engine, t: dt.date) -> Prediction:
    docs = documents(eng)
    sk = backtest(docs, t)
    final = train(docs, t)
    rows, amount = open_invoices(eng, docs, t)
    return score(docs, t, sk, final, rows, amount)


@dataclass(frozen=True)
class Final:
    """The model trained on every document settled by T, with what the scores and factors read of its rows."""

    model: Model
    reference: np.ndarray  # per feature, the typical value of the rows it was fitted on
    overall: float  # the late share of everything settled by T (the baseline's prior)


def train(docs: Documents, t: dt.date) -> Final:
    T = _day(t)
    train = np.flatnonzero((docs.settle_day <= T) & (docs.invoice_day <= T))
    y = docs.late[train]
    model, fitted = fit_rows(docs, train, seed=0)
    # the typical values of the rows the model learnt from (the sample above MAX_TRAIN_ROWS)
    return Final(model, _reference(docs.X[fitted]), float(y.mean()) if len(y) else 0.0)


def open_invoices(eng: Engine, docs: Documents, t: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """The rows (of Documents) and open amounts of the invoices open at T with open amount > 0: from the spans
    the engine holds in memory when it does (at 10M documents the SQL's scan of every span took 1.4 s, the held
    slice at T is shared with the other pages), else queries/prediction/open_at.sql. In no particular order:
    score() ranks them."""
    held = eng.positions.forecast_open_at(t, ALL)
    if held is None:
        op = queries.run(eng.con, "prediction/open_at", as_of=t).fetchnumpy()
        return docs.rows(np.asarray(op["doc_key"], dtype=np.int64)), np.asarray(op["open_amount"], dtype=np.float64)
    keys, spans = held
    positive = spans.amount > 0
    keys, amount = keys[positive].astype(np.int64), spans.amount[positive].astype(np.float64)
    # a document with open amount > 0 whose own amount is not (a credit note paid out) is not an invoice to score
    known = docs.known(keys)
    return docs.rows(keys[known]), amount[known]


def score(docs: Documents, t: dt.date, sk: Skill, final: Final, rows: np.ndarray, amount: np.ndarray) -> Prediction:
    """The open invoices' probabilities, ranked by p_late x open amount."""
    T = _day(t)
    # in the ledger's order (Documents are sorted by doc_key): the gathers below walk X forward (at 10M
    # documents, 467,507 rows gathered in 0.37 s in the spans' order), and ties rank in that order
    order = sort_order(rows)
    rows, amount = rows[order], amount[order]
    # An open invoice already past its due date at T will be settled after it: late for certain, not a guess;
    # only the others are scored (fewer rows for the trees).
    past_due = docs.due_day[rows] < T
    p_model = np.ones(len(rows))
    p_model[~past_due] = _proba_all(final.model, docs.X[rows[~past_due]])
    p_base = np.where(past_due, 1.0, baseline(docs, rows, final.overall))
    p = p_model if sk.used == "model" else p_base
    rank = np.argsort(-(p * amount), kind="stable")  # ties: in the ledger's order, so the ranking is stable
    return Prediction(t, sk, rows[rank], amount[rank], p[rank], p_model[rank], p_base[rank], final.model, final.reference, final.overall)


def _reference(X: np.ndarray) -> np.ndarray:
    """The typical value of each feature: the median of numbers, the most frequent category; NaN when none."""
    ref = np.full(X.shape[1], np.nan)
    for k in range(X.shape[1]):  # a loop over the 14 features
        col = X[:, k][~np.isnan(X[:, k])]
        if col.size:
            ref[k] = np.bincount(col.astype(np.int64)).argmax() if _CAT[k] else np.median(col)
    return ref


def top_factors(docs: Documents, pred: Prediction, positions: np.ndarray) -> list[list[str]]:
    """Why each listed invoice (positions in the ranking) has its probability, the strongest first.

    Model shown: each feature in turn is set to its typical value (reference) and the invoice rescored; the
    features whose own value raises p the most (p - p with the typical value, in points) are named, up to three,
    with their value. One rescoring per feature of the listed invoices only: honest (the model's own answer)
    and cheap. Baseline shown: the customer's record, the one thing it uses. An invoice already past due at T
    is late for certain (p = 1): its factor says so.
    """
    rows = pred.rows[positions]
    X = docs.X[rows]
    T = _day(pred.as_of)
    overdue = docs.due_day[rows] < T
    out: list[list[str]] = [[f"already {T - int(d)} days past due"] for d in docs.due_day[rows]]
    todo = np.flatnonzero(~overdue)
    for i, r in zip(todo, _reasons(docs, pred, positions[todo], rows[todo], X[todo]), strict=True):  # the listed invoices only
        out[i] = r
    return out


def _reasons(docs: Documents, pred: Prediction, positions: np.ndarray, rows: np.ndarray, X: np.ndarray) -> list[list[str]]:
    if pred.skill.used == "baseline":
        cnt = X[:, FEATURES.index("prior_count")]
        rate = np.nan_to_num(X[:, FEATURES.index("prior_late_rate")])
        return [
            [f"customer's record: {int(round(r * c)):,} of {int(c):,} settled late before (overall {pred.overall:.0%})"]
            if c > 0
            else ["no settled history: the overall late rate"]
            for r, c in zip(rate, cnt, strict=True)
        ]
    if len(rows) == 0:
        return []
    base = pred.p_model[positions]
    delta = np.zeros((len(rows), len(FEATURES)))
    for k in range(len(FEATURES)):  # one rescoring per feature
        Xk = X.copy()
        Xk[:, k] = pred.reference[k]
        delta[:, k] = base - _proba(pred.model, Xk)
    out = []
    for i in range(len(rows)):  # the listed invoices only (the page's 500, the CLI's --top)
        order = np.argsort(-delta[i], kind="stable")[:TOP_FACTORS]
        named = [f"{FEATURE_WORDS[FEATURES[k]]} {_value(docs, k, X[i, k])} (+{delta[i, k] * 100:.0f} pts)" for k in order if delta[i, k] >= 0.005]
        out.append(named or ["no value of its own raises it by half a point over a typical invoice's"])
    return out


def _value(docs: Documents, k: int, v: float) -> str:
    name = FEATURES[k]
    if np.isnan(v):
        return "none"
    if name in CATEGORICAL:
        return docs.categories[name][int(v)]
    if name == "amount":
        return f"{v:,.0f}"
    if name in ("terms_days", "prior_mean_days_late", "recent_mean_days_late"):
        return f"{v:.0f} days"
    if name in ("prior_late_rate", "recent_late_rate", "share_overdue"):
        return f"{v:.0%}"
    if name == "month":
        return dt.date(2000, int(v), 1).strftime("%B")
    return f"{v:.0f}"


def customer_shares(pred: Prediction, docs: Documents) -> dict[int, tuple[float, float]]:
    """Per customer_key: (open AR of its open invoices, share of it predicted late = sum(p x open) / sum(open))."""
    c = docs.customer_key[pred.rows]
    if len(c) == 0:
        return {}
    n = int(c.max()) + 1
    ar = np.bincount(c, weights=pred.open, minlength=n)
    late = np.bincount(c, weights=pred.open * pred.p_late, minlength=n)
    keys = np.flatnonzero(ar > 0)
    return {int(k): (float(ar[k]), float(late[k] / ar[k])) for k in keys}


_CACHE: weakref.WeakKeyDictionary[Engine, dict[dt.date, Prediction]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


# ------------------------------------------------------------------ training in the background (the pages)
# Training takes seconds of CPU on a large ledger (150k documents: about 4 s a date on an idle core): a page
# must not wait for it, and the server's reruns must not wait behind it. `start` asks for the prediction at a
# date; `ready` answers at once with it, or None while it is trained, and raises what stopped the training.
# One worker thread per process trains one date at a time, at the lowest CPU priority the system gives a
# thread: a thread per request let every At-risk or Customer visit at a new date start a training of its own,
# and 20 sessions browsing dates ran a dozen at once on two cores (the load test's reruns went 4-5x slower).
# A request nobody asked about for WANTED_S seconds is dropped unstarted (its page was left; the page asks again
# when it is opened again); the snapshot's own date asked for at warm-up is kept (pin=True). The figures are
# the same: `predict` is unchanged, only when and where it runs.
WANTED_S = 15.0

_FAILED: weakref.WeakKeyDictionary[Engine, dict[dt.date, BaseException]] = weakref.WeakKeyDictionary()
# Asked for and not started: engine -> date -> when last asked (time.monotonic(); inf: pinned). Weak: a request
# for the engine of a snapshot no longer current goes when the engine does.
_WANTED: weakref.WeakKeyDictionary[Engine, dict[dt.date, float]] = weakref.WeakKeyDictionary()
_TRAINING: list[tuple[weakref.ref[Engine], dt.date]] = []  # the one being trained (at most one)
_WAKE = threading.Condition(_LOCK)
_WORKER: list[threading.Thread] = []
STATS = {"trained": 0, "dropped": 0, "most_at_once": 0}  # read by tests and the load test's report


def ready(eng: Engine, t: dt.date | None = None) -> Prediction | None:
    t = t or eng.as_of
    with _LOCK:
        failed = _FAILED.get(eng, {}).get(t)
        if failed is not None:
            raise failed
        p = _CACHE.get(eng, {}).get(t)
        wanted = _WANTED.get(eng)
        if p is None and wanted is not None and t in wanted:
            wanted[t] = max(wanted[t], time.monotonic())  # a page still waits for it
        return p


def start(eng: Engine, t: dt.date | None = None, pin: bool = False) -> None:
    """Ask for the prediction at T (default the snapshot's date) to be trained in the background; at once."""
    t = t or eng.as_of
    with _LOCK:
        if t in _CACHE.get(eng, {}) or t in _FAILED.get(eng, {}) or _training(eng, t):
            return
        wanted = _WANTED.setdefault(eng, {})
        wanted[t] = float("inf") if pin else max(wanted.get(t, 0.0), time.monotonic())
        if not _WORKER or not _WORKER[0].is_alive():
            _WORKER[:] = [threading.Thread(target=_work, name="late-payment model", daemon=True)]
            _WORKER[0].start()
        _WAKE.notify()


def _training(eng: Engine, t: dt.date) -> bool:
    return any(ref() is eng and day == t for ref, day in _TRAINING)


def _next() -> tuple[Engine, dt.date] | None:
    """The request to train next, under _LOCK: pinned first, then the one asked for last; stale ones dropped."""
    now, best, best_at = time.monotonic(), None, -1.0
    for eng, wanted in list(_WANTED.items()):
        for t, at in list(wanted.items()):
            if now - at > WANTED_S:
                del wanted[t]
                STATS["dropped"] += 1
            elif at > best_at:
                best, best_at = (eng, t), at
    return best


def _work() -> None:
    lower_priority()
    while True:
        with _WAKE:
            job = _next()
            while job is None:
                _WAKE.wait(timeout=WANTED_S)
                job = _next()
            eng, t = job
            del _WANTED[eng][t]
            _TRAINING.append((weakref.ref(eng), t))
            STATS["most_at_once"] = max(STATS["most_at_once"], len(_TRAINING))
        try:
            predict(eng, t)
            STATS["trained"] += 1
        except BaseException as exc:  # kept for the page that waits: it shows the error instead of waiting for ever
            with _LOCK:
                _FAILED.setdefault(eng, {})[t] = exc
        finally:
            with _LOCK:
                _TRAINING.clear()
            del eng, job  # the worker must not keep an old snapshot's engine alive while it waits
