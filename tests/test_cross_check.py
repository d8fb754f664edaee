"""The engine against an independent, plain pandas reading of kpis.md (bench/pandas_baseline.py)
on a generated ledger at several as-of dates: every headline figure must agree."""

import datetime as dt
import sys

import pytest

from dashboard.load.demo import write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO

sys.path.insert(0, str(REPO / "bench"))
import pandas_baseline  # noqa: E402
from run import compare  # noqa: E402


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xc")
    x = write_demo_extract(tmp / "x", invoices=15_000, seed=3)
    eng = Engine.open(ingest([x], DataDir(tmp / "d"), Settings()).snapshot, Settings())
    return eng, pandas_baseline.load_extract(x)


@pytest.mark.parametrize("as_of", [dt.date(2026, 10, 31), dt.date(2026, 9, 30), dt.date(2026, 2, 14), dt.date(2024, 1, 5)])
def test_engine_agrees_with_the_pandas_baseline(both, as_of):
    eng, tables = both
    diffs = compare(eng.headline(as_of), pandas_baseline.headline(tables, as_of=as_of))
    assert not diffs, diffs
