"""The per-date arrays (dashboard/metrics/positions.py) give what the SQL they replace gives.

queries/receivables/customers_at.sql, aging_at.sql, ar_at.sql, open_count_at.sql and
queries/risk/factors_at.sql, events.sql stay the readable definitions; the engine answers from
numpy sums over the open spans held in memory instead (one DuckDB statement per figure cost
~8 ms each); an engine over views of the files still runs the SQL. Here both run on the same
in-memory snapshot - a demo ledger with every kind of document - at month-ends, mid-month days,
a day before anything was open and one after everything dated has closed, with and without
selections, and every column of every row must agree (1e-9 relative: only the order of a float
sum may differ; null exactly where SQL's sum of no rows is null). The engine over the arrays is
also checked against the independent oracle of tests/oracle.py, as test_cross_check.py checks
the engine over the files.
"""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from dashboard.load.demo import write_demo_extract
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.settings import Settings
from dashboard.store import sql as queries
from dashboard.store.snapshots import DataDir
from tests.fixtures import same_frames

DATES = [
    dt.date(2026, 10, 31),
    dt.date(2026, 10, 17),
    dt.date(2026, 6, 30),
    dt.date(2025, 12, 15),
    dt.date(2024, 1, 5),
    dt.date(2020, 1, 1),
    dt.date(2031, 6, 15),
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, extract):
    tmp = tmp_path_factory.mktemp("pos")
    res = ingest([extract], DataDir(tmp / "d"), Settings())
    assert res.ok, res.report.to_text()
    return res.snapshot


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return write_demo_extract(tmp_path_factory.mktemp("x") / "x", invoices=6_000, seed=11)


@pytest.fixture(scope="module")
def eng(snapshot):
    e = Engine.open(snapshot, Settings(), in_memory=True)
    assert e.positions.held
    yield e
    e.con.close()


def test_an_engine_over_the_files_runs_the_sql(snapshot):
    e = Engine.open(snapshot, Settings())
    assert not e.positions.held
    e.con.close()


def selections(eng: Engine) -> list[Filters]:
    d = eng.dimensions()
    return [
        Filters(),
        Filters(segments=(d["segments"][0],)),
        Filters(regions=tuple(d["regions"][:2]), currencies=(d["currencies"][-1],)),
        Filters(currencies=("EUR", "no such currency")),
    ]


@pytest.mark.parametrize("t", DATES)
def test_customers_and_aging_are_the_sql_rows(eng, t):
    edges = list(eng.settings.aging_edges)
    for f in selections(eng):
        want = queries.run(eng.con, "receivables/customers_at", as_of=t, **f.params()).pl()
        same_frames(eng.customers_frame(t, f), want, ["customer_key"])
        want = queries.run(eng.con, "receivables/aging_at", as_of=t, edges=edges, **f.params()).pl()
        same_frames(eng.aging_frame(t, f), want, ["segment", "region", "bucket"])
        (ar, cur, disp) = queries.run(eng.con, "receivables/ar_at", as_of=t, **f.params()).fetchall()[0]
        got = eng.positions.ar_at(t, f)
        assert all(math.isclose(a, float(b), rel_tol=1e-9, abs_tol=1e-7) for a, b in zip(got, (ar, cur, disp))), (got, ar, cur, disp)
        (n,) = queries.run(eng.con, "receivables/open_count_at", as_of=t, **f.params()).fetchall()[0]
        assert eng.positions.open_count(t, f) == n


@pytest.mark.parametrize("t", DATES[:4])
def test_risk_measures_are_the_sql_rows(eng, t):
    for f in selections(eng)[:3]:
        want = queries.run(eng.con, "risk/factors_at", as_of=t, **f.params()).pl()
        same_frames(eng.positions.risk_measures(t, f), want, ["customer_key"])
    ends = [dt.date(2026, 8, 31), dt.date(2026, 9, 30), t]
    want = sorted(queries.run(eng.con, "risk/events", month_ends=ends).pl()["customer_key"].to_list())
    assert want  # the demo ledger has customers more than 60 days late
    assert eng.positions.over_60_at_any(ends).tolist() == want


def test_the_aging_and_customers_add_up_to_the_same_ar(eng):
    """One figure, three routes: AR from the aging cells, from the customers and from ar_at agree."""
    t = DATES[1]
    ar = eng.positions.ar_at(t, Filters())[0]
    assert ar > 0
    assert math.isclose(eng.aging_frame(t)["ar"].sum(), ar, rel_tol=1e-12)
    assert math.isclose(eng.customers_frame(t)["ar"].sum(), ar, rel_tol=1e-12)


@pytest.mark.parametrize("t", [dt.date(2026, 10, 31), dt.date(2026, 9, 14)])
def test_the_engine_over_arrays_agrees_with_the_oracle(eng, extract, t):
    from tests.oracle import Oracle, differences, read_parquet_extract

    want = Oracle(read_parquet_extract(extract)).headline(t)
    assert want["ar_total"] > 0 and want["dso_standard"] is not None  # something to compare
    got = eng.headline(t, rounded=False)
    assert not differences(got, want), differences(got, want)


def test_the_numpy_limit_rules_are_the_polars_ones():
    """limits.py's numpy forms (NaN = no limit), used for the customer positions, by hand:
    no limit: no utilisation, no headroom, never over; limit 0: utilisation n/a, any exposure above 0 over;
    100 used of 80: 1.25, headroom -20, over; -5 of 100: -0.05, headroom 105, not over."""
    import numpy as np

    from dashboard.metrics import limits

    exposure = np.array([50.0, 10.0, 100.0, -5.0])
    limit = np.array([np.nan, 0.0, 80.0, 100.0])
    u = limits.utilisation_np(exposure, limit)
    assert np.isnan(u[0]) and np.isnan(u[1]) and u[2] == 1.25 and u[3] == -0.05
    h = limits.headroom_np(exposure, limit)
    assert np.isnan(h[0]) and h[1:].tolist() == [-10.0, -20.0, 105.0]
    assert limits.over_limit_np(exposure, limit).tolist() == [False, True, True, False]


def test_largest_first_is_polars_sort_by_value_then_id():
    """Ranking rows (Pareto, at-risk list): values 5, NaN, 7, 5, 0 with ids C3, C1, C9, C2, C0, only the
    rows with value > 0 kept (NaN is not > 0): 7 (C9) first, then the two 5s by id (C2 before C3)."""
    import numpy as np

    from dashboard.metrics import ranking

    values = np.array([5.0, np.nan, 7.0, 5.0, 0.0])
    ids = pl.Series(["C3", "C1", "C9", "C2", "C0"])
    assert ranking.largest_first(values, ids, keep=values > 0).tolist() == [2, 3, 0]
    # without a mask the no-value row goes last, after 0, as polars' nulls_last does
    assert ranking.largest_first(values, ids).tolist() == [2, 3, 0, 4, 1]
    frame = pl.DataFrame({"v": pl.Series(values, nan_to_null=True), "id": ids}).with_row_index()
    want = frame.sort(["v", "id"], descending=[True, False], nulls_last=True)["index"].to_list()
    assert ranking.largest_first(values, ids).tolist() == want


@pytest.mark.parametrize("t", DATES)
def test_the_worklist_positions_are_the_sql_rows(eng, t):
    """positions.worklist_positions (oldest dpd, flagged disputed overdue per customer) = queries/collections/positions_at.sql."""
    oldest, disputed = eng.positions.worklist_positions(t)
    want = queries.run(eng.con, "collections/positions_at", as_of=t).pl()
    keys = want["customer_key"].to_numpy()
    assert len(oldest) == len(disputed) == eng.positions.n_customers
    none = ~want["oldest_dpd"].is_null().to_numpy()
    assert (oldest[keys][none] == want["oldest_dpd"].to_numpy()[none]).all()  # integers: exactly
    assert np.isnan(oldest[keys][~none]).all()
    others = np.setdiff1d(np.arange(len(oldest)), keys)
    assert np.isnan(oldest[others]).all() and (disputed[others] == 0).all()  # nothing open: no row in the SQL
    assert np.allclose(disputed[keys], want["disputed_overdue"].to_numpy(), rtol=1e-9, atol=1e-9)
    if t == dt.date(2026, 10, 31):
        assert none.sum() > 50 and (disputed > 0).sum() > 2  # the ledger has both, so the check can fail


@pytest.mark.parametrize("t", DATES)
def test_the_settlements_are_the_sql_rows(eng, t):
    """positions.settlements (the promises' settlements, from the held spans) = queries/collections/settlements.sql."""
    rng = np.random.default_rng(day_of(t))
    n = eng.positions.n_customers
    for since_days, share in ((120, 0.3), (30, 1.0), (400, 0.05)):
        keys = sorted({int(k) for k in rng.choice(n, size=max(1, int(n * share)), replace=False)})
        since = t - dt.timedelta(days=since_days)
        want = queries.run(eng.con, "collections/settlements", customer_keys=keys, since=since, as_of=t).pl()
        got = eng.positions.settlements(keys, since, t)
        same_frames(got, want, ["doc_key", "settled_on"])
        if t == dt.date(2026, 10, 31) and since_days == 120:
            assert want.height > 100  # settlements to check (the demo pays some invoices in parts)


def day_of(t: dt.date) -> int:
    return t.toordinal()
