"""A fresh `o2c kpis` reads the snapshot's files with pyarrow and numpy (metrics/kpis.py SnapshotFiles) instead of
opening the engine over DuckDB views: the same Headline JSON, byte for byte, and the oracle's figures; and it
loads no polars, DuckDB, pydantic, SQLAlchemy, pandas or pyarrow.compute (~0.6 s of imports before).

The dates are month-ends (answered by the month-end table), mid-month and other days, the snapshot's as-of
date, a day before anything was open and days whose CEI look-back is a month-end; the selections every filter
kind, combined, and one that picks nothing."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from dashboard.cli import main
from dashboard.load.demo import write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters, SnapshotFiles
from dashboard.settings import Settings
from dashboard.settings_core import HeadlineSettings
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO
from tests.oracle import Oracle, differences, read_parquet_extract

DATES = [
    dt.date(2026, 10, 31),  # the snapshot's as-of date (a month-end)
    dt.date(2026, 10, 17),
    dt.date(2026, 9, 30),
    dt.date(2026, 8, 29),  # T - 90 = 2026-05-31, a month-end: no spans read for the CEI
    dt.date(2026, 6, 15),
    dt.date(2025, 12, 31),
    dt.date(2024, 1, 5),
    dt.date(2020, 1, 1),  # before anything was open
]
FILTERS = [
    Filters(),
    Filters(segments=("SMB",)),
    Filters(regions=("EMEA",)),
    Filters(currencies=("EUR",)),
    Filters(segments=("Enterprise", "SMB"), regions=("AMER",), currencies=("USD", "EUR")),
    Filters(segments=("no such segment",)),
]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fresh")
    x = write_demo_extract(tmp / "x", invoices=8_000, seed=5)
    data = DataDir(tmp / "d")
    res = ingest([x], data, Settings())
    assert res.ok, res.report.to_text()
    eng = Engine.open(res.snapshot, Settings())  # over views: the SQL, as `o2c kpis` ran before
    assert not eng.positions.held
    yield data, res.snapshot, eng, x
    eng.con.close()


def _dumps(h) -> str:
    return json.dumps(h, default=str, allow_nan=False, indent=2)


@pytest.mark.parametrize("t", DATES)
def test_the_json_is_the_engines_byte_for_byte(ledger, t):
    _, snap, eng, _ = ledger
    for f in FILTERS:
        got = SnapshotFiles.for_headline(snap, HeadlineSettings(), t, f).headline(t, f)
        assert _dumps(got) == _dumps(eng.headline(t, f)), (t, f)


def test_one_reading_answers_every_date_after_it(ledger):
    _, snap, eng, _ = ledger
    files = SnapshotFiles(snap, Settings(), dt.date(2023, 1, 1))
    for t in DATES[:-1]:
        assert _dumps(files.headline(t)) == _dumps(eng.headline(t)), t
    with pytest.raises(AssertionError, match="were not read"):
        SnapshotFiles(snap, Settings(), dt.date(2026, 10, 1)).headline(dt.date(2026, 6, 15))


@pytest.mark.parametrize("t", [dt.date(2026, 10, 31), dt.date(2026, 9, 14), dt.date(2026, 2, 14)])
def test_the_figures_are_the_oracles(ledger, t):
    _, snap, _, x = ledger
    want = Oracle(read_parquet_extract(x)).headline(t)
    assert want["ar_total"] > 0 and want["dso_standard"] is not None and len(want["by_segment"]) == 4  # something to compare
    got = SnapshotFiles.for_headline(snap, Settings(), t).headline(t, rounded=False)
    assert not differences(got, want), differences(got, want)
    seg = Filters(segments=("SMB",))
    got, want = (
        SnapshotFiles.for_headline(snap, Settings(), t, seg).headline(t, seg, rounded=False),
        Oracle(read_parquet_extract(x), segments={"SMB"}).headline(t),
    )
    assert not differences(got, want), differences(got, want)


def test_the_command_prints_the_engines_json(ledger, capsys):
    data, _, eng, _ = ledger
    for t in (dt.date(2026, 10, 31), dt.date(2026, 7, 9)):
        assert main(["kpis", "--json", "--data", str(data.root), "--as-of", t.isoformat()]) == 0
        assert capsys.readouterr().out == _dumps(eng.headline(t)) + "\n"


def test_a_settings_file_is_read_and_checked(ledger, capsys, monkeypatch):
    data, snap, _, _ = ledger
    monkeypatch.delenv("O2C_SETTINGS", raising=False)
    path = data.root / "settings.toml"
    try:
        path.write_text('base_currency = "usd"\naging_edges = [0, 45, 120]\ndso_window_days = 60\n', encoding="utf-8")
        assert main(["kpis", "--json", "--data", str(data.root)]) == 0
        h = json.loads(capsys.readouterr().out)
        s = Settings(base_currency="USD", aging_edges=(0, 45, 120), dso_window_days=60)
        want = Engine.open(snap, s).headline(snap.as_of)
        assert h == json.loads(_dumps(want)) and list(h["aging"]) == ["not_due", "1_45", "46_120", "121_plus"]
        path.write_text("dso_window_days = 0\n", encoding="utf-8")
        assert main(["kpis", "--json", "--data", str(data.root)]) == 2
        assert "dso_window_days" in capsys.readouterr().err
    finally:
        path.unlink(missing_ok=True)


def test_a_fresh_kpis_process_loads_only_what_it_needs(ledger):
    data = ledger[0]
    code = (
        "import sys\nfrom dashboard.cli import main\n"
        f"assert main(['kpis', '--json', '--data', {str(data.root)!r}]) == 0\n"
        "heavy = ('polars', 'duckdb', 'pydantic', 'sqlalchemy', 'alembic', 'pandas', 'plotly', 'sklearn', 'streamlit', 'pyarrow.compute', 'pyarrow.dataset')\n"
        "loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stderr, out.stderr[-2000:]
    assert json.loads(out.stdout)["ar_total"] > 0


def test_arrow_columns_read_as_the_engine_reads_them():
    """positions.arrow_numpy (Arrow buffers straight to numpy: pyarrow's to_numpy loads pandas): nulls in a float
    column are NaN, in a boolean False; dates are days since 1970-01-01; chunks that start inside a buffer
    (an offset) and empty columns read right."""
    import numpy as np
    import pyarrow as pa

    from dashboard.metrics.positions import arrow_numpy, find

    floats = pa.chunked_array([pa.array([1.5, None, 3.0]), pa.array([9.0, None, 4.0, 5.0]).slice(1)])
    assert np.array_equal(arrow_numpy(floats), [1.5, np.nan, 3.0, np.nan, 4.0, 5.0], equal_nan=True)
    bools = pa.chunked_array([pa.array([True, None, False, True, True, False, False, True, True, None]).slice(3)])
    assert arrow_numpy(bools).tolist() == [True, True, False, False, True, True, False]
    days = arrow_numpy(pa.chunked_array([pa.array([dt.date(1970, 1, 2), dt.date(2026, 10, 31)], pa.date32())]))
    assert days.dtype == np.int32 and days.tolist() == [1, dt.date(2026, 10, 31).toordinal() - dt.date(1970, 1, 1).toordinal()]
    ints = pa.chunked_array([pa.array([7, 8, 9], pa.int32()).slice(1), pa.array([10], pa.int32())])
    assert arrow_numpy(ints).dtype == np.int32 and arrow_numpy(ints).tolist() == [8, 9, 10]
    assert arrow_numpy(pa.chunked_array([], pa.float64())).shape == (0,)
    with pytest.raises(ValueError, match="nulls"):
        arrow_numpy(pa.chunked_array([pa.array([1, None], pa.int64())]))
    # the binary search in the array's own type gives numpy's answer
    ends = np.array([3, 5, 5, 9], dtype=np.int32)
    for x in (0, 5, 9, 10):
        assert int(find(ends, x, side="right")) == int(np.searchsorted(ends.astype(np.int64), x, side="right"))
