"""How well a probability ranks late against on-time invoices: the AUC and its bootstrap (prediction.md).

AUC = the chance that a late invoice scored higher than an on-time one, ties counting one half (the
Mann-Whitney statistic). The bootstrap draws test rows with replacement as counts per row, so a
resample's AUC is weighted sums over the rows sorted once by score (numpy, resamples in blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
SEED = 20240917
# Above this many test rows the bootstrap runs on a fixed random subset of this size and the spread of its
# differences is scaled by sqrt(subset / rows) (the m-out-of-n bootstrap): the interval of a million test
# rows in a fraction of a second; its width is the one of all rows up to the sampling noise of the subset.
BOOTSTRAP_ROWS = 20_000


@dataclass(frozen=True)
class _Sorted:
    order: np.ndarray
    y: np.ndarray  # 0/1 in score order
    gstart: np.ndarray  # first position of each row's tie group
    gend: np.ndarray  # one past its last

    @classmethod
    def of(cls, score: np.ndarray, y: np.ndarray) -> _Sorted:
        order = np.argsort(score, kind="stable")
        s = score[order]
        return cls(order, y[order].astype(np.float64), np.searchsorted(s, s, "left"), np.searchsorted(s, s, "right"))

    def auc(self, w: np.ndarray) -> np.ndarray:
        """AUC per row of weights w (resamples x rows, in the original row order); NaN where a class is absent."""
        w = w[:, self.order].astype(np.float64)
        pos, neg = w * self.y, w * (1.0 - self.y)
        c = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(neg, axis=1)], axis=1)
        below, ties = c[:, self.gstart], c[:, self.gend] - c[:, self.gstart]
        den = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (pos * (below + 0.5 * ties)).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def auc(score: np.ndarray, y: np.ndarray) -> float | None:
    """The AUC of score against y (True = late); None when only one class is present."""
    if len(y) == 0:
        return None
    a = float(_Sorted.of(np.asarray(score, dtype=np.float64), np.asarray(y)).auc(np.ones((1, len(y))))[0])
    return None if np.isnan(a) else a


def diff_interval(model: np.ndarray, baseline: np.ndarray, y: np.ndarray, level: float = 0.90) -> tuple[float, float] | None:
    """The bootstrap interval (percentiles) of AUC(model) - AUC(baseline) over resamples of the test rows."""
    n = len(y)
    a_m, a_b = auc(model, y), auc(baseline, y)
    if a_m is None or a_b is None:
        return None
    rng = np.random.default_rng(SEED)
    rows = np.arange(n) if n <= BOOTSTRAP_ROWS else np.sort(rng.choice(n, BOOTSTRAP_ROWS, replace=False))
    m = len(rows)
    sm, sb = _Sorted.of(model[rows].astype(np.float64), y[rows]), _Sorted.of(baseline[rows].astype(np.float64), y[rows])
    diffs = []
    block = max(1, 2_000_000 // m)
    for start in range(0, RESAMPLES, block):  # a loop over blocks of resamples, not over documents
        b = min(block, RESAMPLES - start)
        draw = rng.integers(0, m, (b, m)) + (np.arange(b) * m)[:, None]
        w = np.bincount(draw.ravel(), minlength=b * m).reshape(b, m)
        diffs.append(sm.auc(w) - sb.auc(w))
    d = np.concatenate(diffs)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return None
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    centre = a_m - a_b
    scale = np.sqrt(m / n)  # 1 when every row is resampled
    return float(centre + (lo - centre) * scale), float(centre + (hi - centre) * scale)
