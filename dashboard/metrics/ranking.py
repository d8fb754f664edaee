"""Largest first, ties by customer id: the order of every customer ranking (Pareto, at-risk list).

As row numbers, so a wide frame is filtered and sorted with one gather instead of a filter and a
multi-key sort that each move all of its columns (the scorecard has ~50 columns x every customer).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def largest_first(values: np.ndarray, ids: pl.Series, keep: np.ndarray | None = None) -> np.ndarray:
    """Row numbers of the rows in `keep` (a mask; None = all) by `values` descending, NaN (no value)
    last, ties by `ids` ascending: polars' sort by [value, id], descending [True, False], nulls last."""
    rows = np.arange(len(values)) if keep is None else np.flatnonzero(keep)
    by_id = rows[ids.gather(rows).arg_sort().to_numpy()] if len(rows) else rows
    v = values[by_id]
    key = np.where(np.isnan(v), np.inf, -v)
    return by_id[np.argsort(key, kind="stable")]
