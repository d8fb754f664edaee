"""The engine against tests/oracle.py (kpis.md read one document at a time, in plain Python) on a
generated demo ledger - five currencies with monthly rates, partial payments, credit notes, orders,
limits - at several as-of dates: every headline figure, the trend and each segment must agree."""

import datetime as dt

import pytest

from dashboard.load.demo import write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.oracle import Oracle, differences, read_parquet_extract

DATES = [dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2026, 2, 14), dt.date(2024, 1, 5)]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xc")
    x = write_demo_extract(tmp / "x", invoices=15_000, seed=3)
    res = ingest([x], DataDir(tmp / "d"), Settings())
    assert res.ok, res.report.to_text()
    eng = Engine.open(res.snapshot, Settings())
    yield eng, read_parquet_extract(x)
    eng.con.close()


@pytest.mark.parametrize("as_of", DATES)
def test_engine_agrees_with_the_oracle(both, as_of):
    eng, ledger = both
    want = Oracle(ledger).headline(as_of)
    assert want["ar_total"] > 0 and want["dso_standard"] is not None and len(want["by_segment"]) == 4  # something to compare
    got = eng.headline(as_of, rounded=False)
    assert not differences(got, want), differences(got, want)
    # as `o2c kpis --json` prints them: rounded, within half a cent (or half a basis point) of the exact value
    assert not differences(eng.headline(as_of), want, abs_=0.0051), differences(eng.headline(as_of), want, abs_=0.0051)


def test_trend_and_a_segment_agree_with_the_oracle(both):
    eng, ledger = both
    t = DATES[0]
    for got, exp in zip(eng.trend(t).to_dicts(), Oracle(ledger).trend(t), strict=True):
        assert not differences(got, exp), (got["date"], differences(got, exp))
    got, exp = eng.headline(t, Filters(segments=("SMB",)), rounded=False), Oracle(ledger, segments={"SMB"}).headline(t)
    assert not differences(got, exp), differences(got, exp)
