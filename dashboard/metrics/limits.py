"""Credit limits, defined once (kpis.md "Credit exposure and limits"): over limit, headroom, utilisation.

A customer without a limit (null) is never over it and has no utilisation: it is shown as "no
limit", never as 0 % used. A limit of 0 is a decision (no credit): any exposure above 0 is over it,
and utilisation is undefined (n/a). The same rules exist for polars frames (pages, exposure,
headline) and numpy arrays (the what-if model, where a missing limit is NaN); the SQL side uses
the macros of queries/macros.sql with the same meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the numpy rules are on the path of a fresh `o2c kpis`, which never loads polars
    import polars as pl

NEAR_LIMIT = 0.8  # "near the limit": more than 80 % of it used


def over_limit(exposure: pl.Expr | str = "exposure", limit: pl.Expr | str = "credit_limit") -> pl.Expr:
    """True when the customer has a limit and its exposure is above it; False without a limit."""
    e, lim = _col(exposure), _col(limit)
    return (lim.is_not_null() & (e > lim)).fill_null(False)


def headroom(exposure: pl.Expr | str = "exposure", limit: pl.Expr | str = "credit_limit") -> pl.Expr:
    """Limit minus exposure (negative = over); null without a limit."""
    return _col(limit) - _col(exposure)


def utilisation(exposure: pl.Expr | str = "exposure", limit: pl.Expr | str = "credit_limit") -> pl.Expr:
    """Exposure / limit; null without a limit or with a limit of 0."""
    import polars as pl

    lim = _col(limit)
    return pl.when(lim > 0).then(_col(exposure) / lim)


def near_limit(exposure: pl.Expr | str = "exposure", limit: pl.Expr | str = "credit_limit") -> pl.Expr:
    """More than NEAR_LIMIT of the limit used, not over it."""
    return (utilisation(exposure, limit) > NEAR_LIMIT).fill_null(False) & ~over_limit(exposure, limit)


def over_limit_np(exposure: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """over_limit for arrays, where NaN means no limit."""
    has = ~np.isnan(limit)
    return has & (exposure > np.where(has, limit, np.inf))


def utilisation_np(exposure: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """utilisation for arrays (NaN = no limit): NaN without a limit or with a limit of 0."""
    positive = limit > 0  # NaN > 0 is False
    return np.divide(exposure, limit, out=np.full(len(exposure), np.nan), where=positive)


def headroom_np(exposure: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """headroom for arrays (NaN = no limit, and no headroom)."""
    return limit - exposure


def _col(c: pl.Expr | str) -> pl.Expr:
    import polars as pl

    return pl.col(c) if isinstance(c, str) else c
