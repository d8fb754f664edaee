"""The forecast's open documents at T from the spans the dashboard's engine holds in memory
(positions.py forecast_open_at) are queries/forecast/open_at.sql's rows, and give its figures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import polars.testing
import pytest

from dashboard.forecast import cashin
from dashboard.forecast.history import history
from dashboard.load.demo import make_demo
from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("demo") / "data")
    res = make_demo(data, invoices=4000, seed=11)
    assert res.ok
    held = Engine.open(res.snapshot, Settings(), in_memory=True)
    files = Engine.open(res.snapshot, Settings())
    assert held.positions.held and not files.positions.held
    return held, files


def selections(eng: Engine) -> list[Filters]:
    segments = eng.positions.segments
    regions = eng.positions.regions
    return [ALL, Filters(segments=(segments[0],)), Filters(regions=tuple(regions[:2]), segments=tuple(segments[1:]))]


def frame(d: cashin.OpenDocs) -> pl.DataFrame:
    return pl.DataFrame({"customer": d.customer, "segment": d.segment, "age": d.age, "due": d.due, "amount": d.amount}).sort(pl.all())


def test_the_held_spans_give_the_sqls_open_documents_and_forecast(engines):
    held, files = engines
    credits = 0
    for days_back, f in [(d, f) for d in (0, 17, 60, 120, 250, 400) for f in selections(held)]:
        t = held.as_of - dt.timedelta(days=days_back)
        a = cashin.open_documents(held, history(held), [t], f)[t]
        b = cashin.open_documents(files, history(files), [t], f)[t]
        assert held.positions.forecast_open_at(t, f) is not None and files.positions.forecast_open_at(t, f) is None
        assert len(b.amount) > 0  # the ledger has open documents at every date asked
        credits += b.credit.height
        polars.testing.assert_frame_equal(frame(a), frame(b))
        polars.testing.assert_frame_equal(a.credit, b.credit, check_exact=False, rel_tol=1e-12)
        fa, fb = cashin.forecast(held, t, f), cashin.forecast(files, t, f)
        assert [w[:3] for w in fa.weeks] == [w[:3] for w in fb.weeks]
        assert np.allclose([w[3] for w in fa.weeks], [w[3] for w in fb.weeks], rtol=1e-12, atol=1e-9)
        assert (fa.later, fa.doubtful, fa.credit_notes) == (
            pytest.approx(fb.later, abs=1e-9),
            pytest.approx(fb.doubtful, abs=1e-9),
            pytest.approx(fb.credit_notes, abs=1e-9),
        )
        assert (fa.documents, fa.levels) == (fb.documents, fb.levels)
        key = ["segment", "age_band", "week"]
        polars.testing.assert_frame_equal(fa.detail.sort(key), fb.detail.sort(key), check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    assert credits > 0  # and credit notes open at some of them


@pytest.mark.parametrize("low, high", [(0, 5), (0, 1 << 40), (-3, 3)])
def test_the_key_order_is_the_stable_sorts(low, high):
    key = np.random.default_rng(3).integers(low, high, 5000)  # ties kept in their order; negative keys: the stable sort itself
    assert np.array_equal(cashin.key_order(key), np.argsort(key, kind="stable"))
    assert cashin.key_order(key[:0]).tolist() == []
