"""The exposure page's shortcuts give pareto()'s numbers: the top-10 share of exposure is pareto()'s
cumulative share at its 10th row (or its last, with fewer customers), on a demo ledger at several dates
and on hand-made frames (ties, fewer than ten, nothing positive)."""

import datetime as dt

import polars as pl
import pytest

from dashboard.load.demo import write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics import exposure
from dashboard.metrics.kpis import Engine
from dashboard.risk import scorecard as risk
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir


def _via_pareto(frame: pl.DataFrame) -> float | None:
    p = exposure.pareto(frame)
    return None if p.height == 0 else float(p["cumulative_share"][min(9, p.height - 1)])


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    res = ingest([write_demo_extract(tmp / "x", invoices=4_000, seed=8)], DataDir(tmp / "d"), Settings())
    assert res.ok, res.report.to_text()
    e = Engine.open(res.snapshot, Settings(), in_memory=True)
    yield e
    e.con.close()


def test_top10_share_is_paretos_on_a_ledger(eng):
    for t in (eng.as_of, eng.as_of - dt.timedelta(days=45), eng.as_of - dt.timedelta(days=400)):
        s = risk.scores(eng, t)
        assert exposure.top10_share(s) == pytest.approx(_via_pareto(s), rel=1e-12)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.0, -5.0],  # nothing positive: no share
        [100.0],  # one customer: 100 %
        [30.0, 10.0, -4.0, 0.0, 60.0],  # fewer than ten positive: all of it
        [5.0] * 12 + [1.0, 2.0],  # ties at the tenth place: 10 x 5 of 12 x 5 + 3 = 50 / 63
    ],
)
def test_top10_share_by_hand(values):
    frame = pl.DataFrame(
        {"customer_id": [f"C{i:02d}" for i in range(len(values))], "name": [None] * len(values), "exposure": values},
        schema_overrides={"name": pl.Utf8, "exposure": pl.Float64},
    )
    got = exposure.top10_share(frame)
    assert got == (None if _via_pareto(frame) is None else pytest.approx(_via_pareto(frame), rel=1e-12))
    if values == [5.0] * 12 + [1.0, 2.0]:
        assert got == pytest.approx(50 / 63)


def _bins_polars(frame: pl.DataFrame) -> pl.DataFrame:
    """utilisation_bins as a chain of polars conditions (its definition before the numpy codes)."""
    labels = exposure.UTIL_LABELS
    u = pl.col("utilization")
    band = pl.when(pl.col("credit_limit").is_null()).then(pl.lit("no limit")).when(pl.col("credit_limit") <= 0).then(pl.lit("limit 0"))
    for edge, label in zip(exposure.UTIL_BINS, labels):
        band = band.when(u <= edge).then(pl.lit(label))
    order = labels + ["limit 0", "no limit"]
    counts = frame.lazy().group_by(band.otherwise(pl.lit(labels[-1])).alias("band")).agg(customers=pl.len(), exposure=pl.col("exposure").sum())
    every = pl.LazyFrame({"band": order, "order": list(range(len(order)))})
    out = every.join(counts, on="band", how="left").with_columns(pl.col("customers").fill_null(0), pl.col("exposure").fill_null(0.0))
    return out.sort("order").drop("order").collect()


def test_utilisation_bins_on_a_ledger_and_on_the_edges(eng):
    from polars.testing import assert_frame_equal

    for t in (eng.as_of, eng.as_of - dt.timedelta(days=45)):
        s = risk.scores(eng, t)
        assert_frame_equal(exposure.utilisation_bins(s), _bins_polars(s), check_exact=False, rel_tol=1e-12)
    # exactly on an edge belongs to the band below (<= edge); no limit and limit 0 are their own bars
    frame = pl.DataFrame(
        {
            "credit_limit": [None, 0.0, -5.0, 100.0, 100.0, 100.0, 100.0, 100.0],
            "utilization": [None, None, None, 0.2, 0.2000001, 1.2, 1.21, 0.0],
            "exposure": [1.0, 2.0, 4.0, 20.0, 20.0, 120.0, 121.0, 0.0],
        }
    )
    got = exposure.utilisation_bins(frame)
    assert_frame_equal(got, _bins_polars(frame))
    assert dict(zip(got["band"], got["customers"])) == {
        "0-20%": 2,
        "20-40%": 1,
        "40-60%": 0,
        "60-80%": 0,
        "80-100%": 0,
        "100-120%": 1,
        "over 120%": 1,
        "limit 0": 2,
        "no limit": 1,
    }
