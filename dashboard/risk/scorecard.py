"""Risk scorecard, at-risk list and backtest (risk.md).

The score is a scorecard a credit manager can check by hand: each factor's
value becomes 0-100 risk points by a linear ramp between two documented
values (flat outside, so more risk never scores lower), the points are
averaged with the settings' weights over the factors the customer has a
value for, and the result is a score from 0 (safe) to 100. Every step is a
column of `scores()`, so the page can show how a score was made.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.metrics import limits, ranking
from dashboard.metrics.kpis import ALL, Engine, Filters, month_end
from dashboard.present.formatting import pct
from dashboard.settings import FACTORS, RiskSettings

CLASSES = ("A", "B", "C", "D", "E")
FACTOR_WORDS = {
    "lateness": "Days late (paid in 365 days, and open items so far)",
    "trend": "Worsening: days late, last 90 days vs the 275 before",
    "severity": "Share of AR more than 60 days past due",
    "utilisation": "Exposure / credit limit",
    "disputes": "Share of AR in dispute",
    "external": "External score (higher = safer)",
}


# How a factor's value reads on the customer page, and why it may have none.
FACTOR_VALUE_TEXT = {
    "lateness": lambda x: f"{x:,.1f} days",
    "trend": lambda x: f"{round(x, 1) + 0.0:+,.1f} days",
    "severity": pct,
    "utilisation": pct,
    "disputes": pct,
    "external": lambda x: f"{x:,.0f}",
}
FACTOR_MISSING = {
    "lateness": "nothing paid or open",
    "trend": "too little history",
    "severity": "no AR",
    "utilisation": "no limit",
    "disputes": "no AR",
    "external": "none in the master",
}


# The scorecard is worked out over numpy arrays (one per measure, one entry per customer; NaN = null),
# whichever path gave the measures: the per-date arrays of positions.py, or queries/risk/factors_at.sql's
# rows (an engine over the files). At 133k customers the same steps as a polars plan cost ~70 ms a date.

MEASURES = (
    "paid_docs", "open_docs", "paid_amount", "paid_late_x_amount", "recent_amount", "recent_late_x_amount",
    "prior_amount", "prior_late_x_amount", "open_late_amount", "open_late_x_amount", "ar", "ar_over_60",
    "disputed_ar", "exposure", "credit_limit", "external_score",
)  # fmt: skip
VALUES = (
    "paid_days_late", "recent_days_late", "prior_days_late", "open_days_past_due", "lateness", "trend",
    "severity", "utilization", "headroom", "disputes", "external", "utilisation",
)  # fmt: skip


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else null (NaN)."""
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def _zero(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), 0.0, x)


def factor_arrays(m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The factor values of risk.md from the measures of queries/risk/factors_at.sql (NaN = unknown)."""
    with np.errstate(invalid="ignore"):
        late_amount = _zero(m["paid_amount"]) + _zero(m["open_late_amount"])
        v = {
            "paid_days_late": _div(m["paid_late_x_amount"], m["paid_amount"]),
            "recent_days_late": _div(m["recent_late_x_amount"], m["recent_amount"]),
            "prior_days_late": _div(m["prior_late_x_amount"], m["prior_amount"]),
            "open_days_past_due": _div(m["open_late_x_amount"], m["open_late_amount"]),
            "lateness": _div(_zero(m["paid_late_x_amount"]) + _zero(m["open_late_x_amount"]), late_amount),
        }
        v["trend"] = v["recent_days_late"] - v["prior_days_late"]
        v["severity"] = _div(np.maximum(m["ar_over_60"], 0.0), m["ar"])
        # kpis.md utilization_c (null with no limit or limit 0); the scorecard's factor is the same value
        v["utilization"] = limits.utilisation_np(m["exposure"], m["credit_limit"])
        v["headroom"] = limits.headroom_np(m["exposure"], m["credit_limit"])
        v["disputes"] = _div(np.maximum(m["disputed_ar"], 0.0), m["ar"])
        v["external"] = m["external_score"]
        v["utilisation"] = v["utilization"]
    return v


def points_np(value: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """0 at scale[0], 100 at scale[1], linear between, flat outside (monotone by construction); NaN stays NaN."""
    lo, hi = scale
    # times the reciprocal of the span, as the figures have always been computed (a polars plan turned
    # the division by a constant into this product): dividing would change the last bit of some points
    return np.clip((value - lo) * (1.0 / (hi - lo)), 0.0, 1.0) * 100.0


def score_arrays(v: dict[str, np.ndarray], documents: np.ndarray, rs: RiskSettings) -> dict[str, np.ndarray]:
    """Points per factor, contributions, the weighted score (NaN: no factor has a value), class codes
    (index into CLASSES, -1 without a score) and the thin-file flag."""
    out: dict[str, np.ndarray] = {}
    n = len(documents)
    weights = [np.where(np.isnan(v[f]), 0.0, rs.weights[f]) for f in FACTORS]
    wsum = np.zeros(n)
    for w in weights:  # in FACTORS order, as the sum is defined
        wsum = wsum + w
    for f in FACTORS:
        out[f"{f}_points"] = points_np(v[f], rs.scales[f])
    score = np.zeros(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        for f, w in zip(FACTORS, weights):
            c = _zero(out[f"{f}_points"]) * w / wsum  # NaN (null) where no factor has a weight
            out[f"{f}_contribution"] = c
            score = score + _zero(c)
    out["score"] = np.where(wsum > 0, score, np.nan)
    out["thin_file"] = documents < rs.thin_file_documents
    # A below the first edge, E from the last: [0, 20) A, [20, 40) B, ... [80, 100] E
    cls = np.full(n, len(CLASSES) - 1, dtype=np.int8)
    for i, edge in reversed(list(enumerate(list(rs.class_edges)[: len(CLASSES) - 1]))):
        cls[out["score"] < edge] = i
    cls[np.isnan(out["score"])] = -1
    out["risk_class_code"] = cls
    return out


def class_names(codes: np.ndarray) -> pl.Series:
    """Class codes (-1: none) as the letters A-E (a gather from the six values: ~1 ms at 133k customers)."""
    letters = pl.Series("risk_class", [*CLASSES, None], dtype=pl.Utf8)
    return letters.gather(np.where(codes < 0, len(CLASSES), codes).astype(np.uint32))


def _measure(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A measure as numpy: counts as they are, every other as float with NaN for null (polars' own conversion)."""
    col = frame[name].to_numpy()
    return col if name in ("paid_docs", "open_docs") or col.dtype == np.float64 else col.astype(np.float64)


def _frame(base: pl.DataFrame, v: dict[str, np.ndarray] | None, sc: dict[str, np.ndarray]) -> pl.DataFrame:
    # Series one by one: a dict of many numpy columns makes polars start a thread pool to convert them
    cols = [pl.Series(k, v[k], nan_to_null=True) for k in VALUES] if v is not None else []
    cols += [pl.Series(f"{f}_points", sc[f"{f}_points"], nan_to_null=True) for f in FACTORS]
    cols += [pl.Series(f"{f}_contribution", sc[f"{f}_contribution"], nan_to_null=True) for f in FACTORS]
    cols += [pl.Series("score", sc["score"], nan_to_null=True), pl.Series("thin_file", sc["thin_file"]), class_names(sc["risk_class_code"])]
    return base.drop([c.name for c in cols], strict=False).hstack(cols)


def _documents(frame: pl.DataFrame) -> np.ndarray:
    return frame["paid_docs"].to_numpy() + frame["open_docs"].to_numpy()


def factor_values(raw: pl.DataFrame) -> pl.DataFrame:
    """The measures' frame (queries/risk/factors_at.sql's columns) with the factor values of risk.md (null = unknown)."""
    v = factor_arrays({k: _measure(raw, k) for k in MEASURES})
    return raw.drop(list(VALUES), strict=False).hstack([pl.Series(k, v[k], nan_to_null=True) for k in VALUES])


def score_frame(values: pl.DataFrame, rs: RiskSettings) -> pl.DataFrame:
    """Factor values (FACTORS columns, null = unknown) and paid_docs, open_docs, with the points per factor,
    contributions, the weighted score, its class and the thin-file flag."""
    v = {f: _measure(values, f) for f in FACTORS}
    return _frame(values, None, score_arrays(v, _documents(values), rs))


def _card(eng: Engine, t: dt.date, f: Filters) -> tuple[pl.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The measures at T (queries/risk/factors_at.sql's rows, as array sums: positions.py), the factor values and the score arrays."""
    raw = eng.positions.risk_measures(t, f)
    v = factor_arrays({k: _measure(raw, k) for k in MEASURES})
    return raw, v, score_arrays(v, _documents(raw), eng.settings.risk)


def scores(eng: Engine, t: dt.date | None = None, f: Filters = ALL) -> pl.DataFrame:
    """Every customer of the selection at T: measures, factor values, points, contributions, score, class.

    A currency filter picks the customers with something open in those currencies; their measures,
    score and exposure count every currency (a credit limit covers all of a customer's currencies)."""
    return _frame(*_card(eng, t or eng.as_of, f))


def breakdown(row: dict, rs: RiskSettings) -> pl.DataFrame:
    """One customer's score, factor by factor (a row of scores()), then a last row 'Score'.

    Columns: factor (in words), value (as read, or why there is none), points (0-100), weight (None =
    left out: no value), contribution (points x weight / the weights of the factors with a value).
    The contributions add up to the score; the Score row has the weights used and the score."""
    known = [f for f in FACTORS if row[f] is not None]
    used = sum(rs.weights[f] for f in known)
    return pl.DataFrame(
        {
            "factor": [FACTOR_WORDS[f] for f in FACTORS] + ["Score"],
            "value": [FACTOR_VALUE_TEXT[f](row[f]) if f in known else f"– ({FACTOR_MISSING[f]})" for f in FACTORS]
            + ["" if row["score"] is not None else "no score"],
            "points": [row[f"{f}_points"] if f in known else None for f in FACTORS] + [None],
            "weight": [rs.weights[f] if f in known else None for f in FACTORS] + [used if known else None],
            "contribution": [row[f"{f}_contribution"] if f in known else None for f in FACTORS] + [row["score"]],
        },
        schema={"factor": pl.Utf8, "value": pl.Utf8, "points": pl.Float64, "weight": pl.Float64, "contribution": pl.Float64},
    )


def reasons(df: pl.DataFrame, top: int = 3) -> pl.Series:
    """The two or three factors that add most to each score, in words (a list per customer)."""
    words = {
        "lateness": pl.format("pays {} days late on average", pl.col("lateness").round(0).cast(pl.Int64)),
        "trend": pl.format(
            "paying later: {} days late in the last 90 days, up from {}",
            pl.col("recent_days_late").round(0).cast(pl.Int64),
            pl.col("prior_days_late").round(0).cast(pl.Int64),
        ),
        "severity": pl.format("{}% of AR more than 60 days past due", (pl.col("severity") * 100).round(0).cast(pl.Int64)),
        "utilisation": pl.format("{}% of limit used", (pl.col("utilisation") * 100).round(0).cast(pl.Int64)),
        "disputes": pl.format("{}% of AR in dispute", (pl.col("disputes") * 100).round(0).cast(pl.Int64)),
        "external": pl.format("external score {}", pl.col("external").round(0).cast(pl.Int64)),
    }
    # rank the factors of each row by contribution (only those adding half a point or more), keep the first `top`
    contrib = df.select([pl.col(f"{f}_contribution").fill_null(0).alias(f) for f in FACTORS]).to_numpy()
    texts = df.select([words[f].alias(f) for f in FACTORS]).to_numpy().astype(object)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    rows = np.arange(df.height)[:, None]
    picked = np.where(contrib[rows, order] >= 0.5, texts[rows, order], np.full(order.shape, None, dtype=object))
    return pl.Series("reasons", [[x for x in r if x is not None] for r in picked.tolist()], dtype=pl.List(pl.Utf8))


def _ranked_rows(s: pl.DataFrame, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the customers with exposure in the at-risk order, and every row's expected trouble."""
    exposure = s["exposure"].to_numpy()
    trouble = s["score"].to_numpy() * exposure / 100.0  # NaN where there is no score (null)
    keep = exposure > 0
    if classes:  # a mask, not a filter: filtering would copy the ~50 columns of every picked customer
        keep &= s["risk_class"].is_in(list(classes)).fill_null(False).to_numpy()
    return ranking.largest_first(trouble, s["customer_id"], keep=keep), trouble


def rank(s: pl.DataFrame, classes: tuple[str, ...] = (), top: int | None = None) -> pl.DataFrame:
    """Customers with exposure ranked by score x exposure (expected trouble in money), largest first;
    the first `top` of them when given (only those rows are gathered: at 133k customers gathering the
    whole ~50-column frame in rank order cost ~0.2 s, for a page that lists 500)."""
    order, trouble = _ranked_rows(s, classes)
    if top is not None:
        order = order[:top]
    else:
        # one chunk per column first: a gather across the chunks of the plan's output costs several times as much
        s = s.rechunk()
    return s[order].hstack([pl.Series("expected_trouble", trouble[order], nan_to_null=True)])


def ranked_count(s: pl.DataFrame, classes: tuple[str, ...] = ()) -> int:
    """How many customers rank() lists (those with exposure, of the classes when given)."""
    keep = s["exposure"].to_numpy() > 0
    if classes:
        keep &= s["risk_class"].is_in(list(classes)).fill_null(False).to_numpy()
    return int(keep.sum())


def at_risk(eng: Engine, t: dt.date | None = None, f: Filters = ALL, classes: tuple[str, ...] = (), top: int | None = None) -> pl.DataFrame:
    """The at-risk list (risk.md): ranked, with the reasons in words."""
    s = rank(scores(eng, t, f), classes, top)
    return s.with_columns(reasons(s))


def auc(score: np.ndarray, event: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance a customer with the event scores above one without (ties count half).

    The Mann-Whitney form: (sum of the events' average ranks - n1(n1+1)/2) / (n1 n0).
    """
    n1, n0 = int(event.sum()), int((~event).sum())
    if n1 == 0 or n0 == 0:
        return None
    # average ranks (ties share the mean of their ranks, 1-based), as numpy: a polars Series and its rank
    # plan cost ~15 ms at 133k customers
    order = np.argsort(score, kind="stable")
    s = score[order]
    first = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, len(s)])
    ranks = np.empty(len(s), dtype=np.float64)
    ranks[order] = (starts + (counts + 1) / 2.0)[np.cumsum(first) - 1]
    return float((ranks[event].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def backtest(eng: Engine, t: dt.date | None = None, horizon_days: int = 90) -> dict:
    """Score every customer at T-90 with what was known then; event = more than 60 days past due at a
    month-end in (T-90, T], among customers with nothing over 60 days at T-90 (risk.md)."""
    t = t or eng.as_of
    start = t - dt.timedelta(days=horizon_days)
    # the four columns it uses, from the score arrays (the whole scorecard frame is ~50 columns)
    raw, _, sc = _card(eng, start, ALL)
    ends, m = [], month_end(start)
    while m <= t:
        if m > start:
            ends.append(m)
        m = month_end(m + dt.timedelta(days=1))
    # queries/risk/events.sql's customers, as array sums over the spans open at each month-end (positions.py)
    events = pl.DataFrame({"customer_key": eng.positions.over_60_at_any(ends)}, schema={"customer_key": pl.Int32})
    used = pl.LazyFrame([raw["customer_key"], raw["ar_over_60"], pl.Series("score", sc["score"], nan_to_null=True), class_names(sc["risk_class_code"])])
    pop = (
        used.filter((pl.col("ar_over_60") <= 0.005) & pl.col("score").is_not_null())
        .with_columns(event=pl.col("customer_key").is_in(events["customer_key"].implode()))
        .collect()
    )
    by_class = (
        pop.group_by("risk_class")
        .agg(customers=pl.len(), events=pl.col("event").sum())
        .with_columns(event_rate=pl.col("events") / pl.col("customers"))
        .sort("risk_class")
    )
    return {
        "scored_at": start,
        "month_ends": ends,
        "customers": pop.height,
        "events": int(pop["event"].sum()),
        "auc": auc(pop["score"].to_numpy(), pop["event"].to_numpy()),
        "by_class": by_class,
    }


class AtRiskRow(TypedDict):
    """One customer of `o2c at-risk --json` (cli.md): the keys are the command's."""

    customer_id: str
    name: str | None
    segment: str
    score: float | None  # None: nothing to score (no documents and no limit)
    risk_class: str | None
    exposure: float
    overdue: float
    utilization: float | None  # None: no credit limit (or a limit of 0)
    reasons: list[str]


def at_risk_records(df: pl.DataFrame) -> list[AtRiskRow]:
    """The at-risk list as cli.md prints it: amounts and score to 2 decimals, utilization as a fraction."""
    out = df.select(
        "customer_id",
        "name",
        "segment",
        pl.col("score").round(2),
        "risk_class",
        pl.col("exposure").round(2),
        pl.col("ar_overdue").round(2).alias("overdue"),
        pl.col("utilization").round(4),
        "reasons",
    )
    return [
        AtRiskRow(
            customer_id=r["customer_id"],
            name=r["name"],
            segment=r["segment"],
            score=r["score"],
            risk_class=r["risk_class"],
            exposure=r["exposure"],
            overdue=r["overdue"],
            utilization=r["utilization"],
            reasons=r["reasons"],
        )
        for r in out.iter_rows(named=True)
    ]
