"""The IFRS 9 provision matrix (provisions.md): loss rates per aging bucket from the ledger's own history.

Per bucket: the gross carrying amount at T (open > 0, credit notes excluded), the historical
roll-to-default rate (of what sat in the bucket at the past month-ends, the share still unpaid when
it defaulted) with the amounts it comes from, the forward-looking overlay, the rate applied and the
allowance. The arithmetic is in small pure functions (`derive_rates`, `allowance`) so a test can
check it on the spec's own figures; the sums come from queries/provisions/*.sql.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict

import polars as pl

from dashboard.metrics.kpis import ALL, Engine, Filters, month_ends_before, prior_month_end, ratio
from dashboard.provisions.overlay import OVERLAY_SCHEMA, InForce, in_force_from
from dashboard.settings import ProvisionSettings, Settings, SettingsError
from dashboard.store import sql as queries


def smallest_dpd(edges: tuple[int, ...]) -> list[float]:
    """The smallest days past due of each bucket: not due has none (-inf), bucket k starts at edge k-1 + 1."""
    return [float("-inf")] + [e + 1 for e in edges]


@dataclass(frozen=True)
class Rate:
    historical: float
    borrowed_from: str | None  # the younger bucket whose rate this one took (it had no history of its own)
    rule: str  # "history", "in default", "borrowed", "no history"


def derive_rates(names: list[str], lows: list[float], open_amount: list[float], unpaid: list[float], default_dpd: int) -> list[Rate]:
    """provisions.md: rate_b = unpaid at default / open at the month-ends; 1 for buckets already in default
    (smallest dpd >= default_dpd); a bucket with no history takes the nearest younger bucket's that has
    some (0 when none), naming it."""
    out: list[Rate] = []
    own: list[float | None] = []
    for i in range(len(names)):
        if lows[i] >= default_dpd:
            out.append(Rate(1.0, None, "in default"))
            own.append(1.0)
            continue
        r = ratio(unpaid[i], open_amount[i])
        own.append(r)
        if r is not None:
            out.append(Rate(r, None, "history"))
            continue
        younger = next((j for j in range(i - 1, -1, -1) if own[j] is not None), None)
        if younger is None:
            out.append(Rate(0.0, None, "no history"))
        else:
            out.append(Rate(own[younger] or 0.0, names[younger], "borrowed"))
    return out


def overlays(ps: ProvisionSettings, names: list[str]) -> list[float]:
    """The overlay per bucket: one multiplier for all, or per bucket name (a bucket not named: 1.0)."""
    if isinstance(ps.overlay, dict):
        unknown = sorted(set(ps.overlay) - set(names))
        if unknown:
            raise SettingsError(f"setting 'provisions.overlay' names bucket(s) {', '.join(unknown)}; the buckets are {', '.join(names)}")
        return [float(ps.overlay.get(n, 1.0)) for n in names]
    return [float(ps.overlay)] * len(names)


def empty_overlays() -> pl.DataFrame:
    return pl.DataFrame(schema=OVERLAY_SCHEMA)


def allowance(gross: list[float], rates: list[float], overlay: list[float]) -> tuple[list[float], list[float]]:
    """(rate applied, allowance) per bucket: rate = historical x overlay, at most 1 (an allowance never
    exceeds the gross amount); allowance = gross x rate."""
    applied = [min(1.0, r * o) for r, o in zip(rates, overlay)]
    return applied, [g * a for g, a in zip(gross, applied)]


class BucketJson(TypedDict):
    bucket: str
    gross: float
    historical_rate: float
    borrowed_from: str | None
    overlay: float
    rate: float
    allowance: float


class MovementJson(TypedDict):
    prior_month_end_allowance: float
    change: float


class ProvisionsJson(TypedDict):
    """provisions.md "Allowance at T": `o2c provisions --json`."""

    as_of: str
    default_dpd: int
    buckets: list[BucketJson]
    total_gross: float
    total_allowance: float
    coverage: float | None
    movement: MovementJson


@dataclass(frozen=True)
class Matrix:
    as_of: dt.date
    default_dpd: int
    month_ends: list[dt.date]  # the month-ends the rates are drawn from, oldest first
    buckets: pl.DataFrame  # one row per bucket, see matrix()
    history: pl.DataFrame  # month_end, bucket, open_amount, unpaid_at_default, documents (overall)
    by_segment: pl.DataFrame | None  # segment, bucket, gross, historical_rate, source, overlay, rate, allowance
    overlay_reason: str
    overlay_source: str = "settings"  # "settings", or "approved": the workbench's overlays in force at T
    overlay_ids: tuple[int, ...] = ()  # the approved overlays applied
    prior_month_end: dt.date | None = None
    prior_allowance: float | None = None

    @property
    def total_gross(self) -> float:
        return float(self.buckets["gross"].sum())

    @property
    def total_allowance(self) -> float:
        return float(self.buckets["allowance"].sum())

    def to_json(self) -> ProvisionsJson:
        r2 = lambda x: round(float(x), 2) + 0.0  # noqa: E731
        r4 = lambda x: None if x is None else round(float(x), 4) + 0.0  # noqa: E731
        prior = self.prior_allowance or 0.0
        return ProvisionsJson(
            as_of=self.as_of.isoformat(),
            default_dpd=self.default_dpd,
            buckets=[
                BucketJson(
                    bucket=r["bucket"],
                    gross=r2(r["gross"]),
                    historical_rate=r4(r["historical_rate"]) or 0.0,
                    borrowed_from=r["borrowed_from"],
                    overlay=float(r["overlay"]),
                    rate=r4(r["rate"]) or 0.0,
                    allowance=r2(r["allowance"]),
                )
                for r in self.buckets.iter_rows(named=True)
            ],
            total_gross=r2(self.total_gross),
            total_allowance=r2(self.total_allowance),
            coverage=r4(ratio(self.total_allowance, self.total_gross)),
            movement=MovementJson(prior_month_end_allowance=r2(prior), change=r2(self.total_allowance - prior)),
        )


def _rate_rows(names: list[str], lows: list[float], hist: pl.DataFrame, default_dpd: int) -> tuple[list[Rate], list[float], list[float], list[int], list[int]]:
    """Rates from a history frame (bucket, open_amount, unpaid_at_default, documents, month_end), with the amounts behind them."""
    g = hist.group_by("bucket").agg(
        pl.col("open_amount").sum(), pl.col("unpaid_at_default").sum(), pl.col("documents").sum(), pl.col("month_end").n_unique().alias("months")
    )
    by = {r["bucket"]: r for r in g.iter_rows(named=True)}
    opened = [float(by[i]["open_amount"]) if i in by else 0.0 for i in range(len(names))]
    unpaid = [float(by[i]["unpaid_at_default"]) if i in by else 0.0 for i in range(len(names))]
    docs = [int(by[i]["documents"]) if i in by else 0 for i in range(len(names))]
    months = [int(by[i]["months"]) if i in by else 0 for i in range(len(names))]
    return derive_rates(names, lows, opened, unpaid, default_dpd), opened, unpaid, docs, months


def matrix(
    eng: Engine,
    t: dt.date | None = None,
    f: Filters = ALL,
    settings: Settings | None = None,
    with_prior: bool = True,
    overlay_rows: pl.DataFrame | None = None,
) -> Matrix:
    """The provision matrix at T for the selection (and, with_prior, the prior month-end's allowance, a full run of its own).

    overlay_rows: the workbench's overlays (overlay.stored()); the ones approved and in force at each date are applied
    (at T, and at the prior month-end those in force then), the settings' overlay where none is. None: the settings'."""
    t = t or eng.as_of
    s = settings or eng.settings
    ps = s.provisions
    names, edges = s.bucket_names, list(s.aging_edges)
    lows = smallest_dpd(s.aging_edges)
    month_ends = month_ends_before(t, ps.lookback_months)
    hist = queries.run(eng.con, "provisions/history", month_ends=month_ends, as_of=t, default_dpd=ps.default_dpd, edges=edges, **f.params()).pl()
    gross_seg = queries.run(eng.con, "provisions/gross_at", as_of=t, edges=edges, **f.params()).pl()
    force = in_force_from(overlay_rows if overlay_rows is not None else empty_overlays(), t, names, overlays(ps, names), ps.overlay_reason)
    over = force.every
    overall = hist.group_by("month_end", "bucket").agg(pl.col("open_amount").sum(), pl.col("unpaid_at_default").sum(), pl.col("documents").sum())
    rates, opened, unpaid, docs, months = _rate_rows(names, lows, overall, ps.default_dpd)
    gross_by = dict(gross_seg.group_by("bucket").agg(pl.col("gross").sum()).iter_rows())
    gross = [float(gross_by.get(i, 0.0)) for i in range(len(names))]
    applied, allow = allowance(gross, [r.historical for r in rates], over)
    seg_frame = None
    if ps.by == "segment" or force.by_segment:
        # an overlay of one segment's own is applied to that segment's gross, with the rates the settings ask for
        seg_frame = _by_segment(names, lows, hist, gross_seg, rates, force, ps, own_rates=ps.by == "segment")
        allow_by = dict(seg_frame.group_by("bucket").agg(pl.col("allowance").sum()).iter_rows())
        allow = [float(allow_by.get(n, 0.0)) for n in names]
        # the rate applied over all segments is what the segments' allowances come to
        applied = [a / g if g > 0 else r for a, g, r in zip(allow, gross, applied)]
    buckets = pl.DataFrame(
        {
            "bucket": names,
            "gross": gross,
            "history_open": opened,
            "history_unpaid": unpaid,
            "history_documents": docs,
            "history_months": months,
            "historical_rate": [r.historical for r in rates],
            "rule": [r.rule for r in rates],
            "borrowed_from": [r.borrowed_from for r in rates],
            "overlay": over,
            "rate": applied,
            "allowance": allow,
        },
        schema={
            "bucket": pl.Utf8,
            "gross": pl.Float64,
            "history_open": pl.Float64,
            "history_unpaid": pl.Float64,
            "history_documents": pl.Int64,
            "history_months": pl.Int64,
            "historical_rate": pl.Float64,
            "rule": pl.Utf8,
            "borrowed_from": pl.Utf8,
            "overlay": pl.Float64,
            "rate": pl.Float64,
            "allowance": pl.Float64,
        },
    )
    history = overall.with_columns(pl.col("bucket").replace_strict(list(range(len(names))), names, return_dtype=pl.Utf8)).sort("month_end", "bucket")
    m = Matrix(
        as_of=t,
        default_dpd=ps.default_dpd,
        month_ends=month_ends,
        buckets=buckets,
        history=history,
        by_segment=seg_frame,
        overlay_reason=force.reason,
        overlay_source=force.source,
        overlay_ids=force.overlay_ids,
    )
    if not with_prior:
        return m
    prior = prior_month_end(t)
    before = matrix(eng, prior, f, s, with_prior=False, overlay_rows=overlay_rows)
    return Matrix(**{**m.__dict__, "prior_month_end": prior, "prior_allowance": before.total_allowance})


def _by_segment(
    names: list[str],
    lows: list[float],
    hist: pl.DataFrame,
    gross_seg: pl.DataFrame,
    overall: list[Rate],
    force: InForce,
    ps: ProvisionSettings,
    own_rates: bool = True,
) -> pl.DataFrame:
    """Per segment and bucket: the segment's own rate where its history holds at least min_amount (own_rates), else the
    overall rate; the segment's own overlay where one is in force, else the every-segment one."""
    rows = []
    for seg in sorted(set(gross_seg["segment"].to_list())):
        own, opened, _, _, _ = _rate_rows(names, lows, hist.filter(pl.col("segment") == seg), ps.default_dpd)
        g = dict(gross_seg.filter(pl.col("segment") == seg).select("bucket", "gross").iter_rows())
        over = force.of(seg)
        for i, name in enumerate(names):
            use_own = own_rates and (own[i].rule == "in default" or (own[i].rule == "history" and opened[i] >= ps.min_amount))
            r = own[i] if use_own else overall[i]
            gross = float(g.get(i, 0.0))
            (applied,), (allow,) = allowance([gross], [r.historical], [over[i]])
            rows.append(
                {
                    "segment": seg,
                    "bucket": name,
                    "gross": gross,
                    "historical_rate": r.historical,
                    "source": "segment" if use_own else "overall",
                    "overlay": over[i],
                    "rate": applied,
                    "allowance": allow,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "segment": pl.Utf8,
            "bucket": pl.Utf8,
            "gross": pl.Float64,
            "historical_rate": pl.Float64,
            "source": pl.Utf8,
            "overlay": pl.Float64,
            "rate": pl.Float64,
            "allowance": pl.Float64,
        },
    )


def disclosure(m: Matrix) -> pl.DataFrame:
    """The IFRS 7 35M disclosure's shape: bucket, gross carrying amount, expected loss rate, lifetime ECL allowance, and a total row."""
    rows = m.buckets.select("bucket", "gross", "rate", "allowance")
    total = pl.DataFrame({"bucket": ["Total"], "gross": [m.total_gross], "rate": [ratio(m.total_allowance, m.total_gross)], "allowance": [m.total_allowance]})
    return pl.concat([rows, total], how="vertical_relaxed")
