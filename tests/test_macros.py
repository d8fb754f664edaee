"""The SQL macros of queries/macros.sql mean what dashboard/metrics/limits.py and kpis.md say,
and every query uses them instead of writing the definitions again."""

import datetime as dt
import re

import duckdb
import polars as pl
import pytest

from dashboard.metrics import limits
from dashboard.store import sql as queries

# (exposure, limit) -> (over, headroom, utilisation, near), worked out from kpis.md and limits.py:
# no limit: never over, no headroom, no utilisation; limit 0: any exposure above 0 is over, utilisation n/a;
# near = more than 80 % used and not over (80 % exactly is not near; 100 % exactly is near, not over).
GRID = [
    (50.0, None, False, None, None, False),
    (0.0, 0.0, False, 0.0, None, False),
    (10.0, 0.0, True, -10.0, None, False),
    (-10.0, 0.0, False, 10.0, None, False),
    (80.0, 100.0, False, 20.0, 0.8, False),
    (80.5, 100.0, False, 19.5, 0.805, True),
    (100.0, 100.0, False, 0.0, 1.0, True),
    (100.5, 100.0, True, -0.5, 1.005, False),
    (-5.0, 100.0, False, 105.0, -0.05, False),
]


def macro_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.sql(queries.sql("macros"))
    return con


def test_limit_macros_and_limits_py_give_the_hand_worked_answers():
    frame = pl.DataFrame([g[:2] for g in GRID], schema={"exposure": pl.Float64, "credit_limit": pl.Float64}, orient="row").with_row_index("i")
    py = frame.select(
        "i",
        over=limits.over_limit(),
        headroom=limits.headroom(),
        utilisation=limits.utilisation(),
        near=limits.near_limit(),
    )
    con = macro_connection()
    sq = con.sql(
        "select i, over_limit(exposure, credit_limit) as over, headroom(exposure, credit_limit) as headroom, "
        "utilisation(exposure, credit_limit) as utilisation, near_limit(exposure, credit_limit, $near) as near from frame order by i",
        params={"near": limits.NEAR_LIMIT},
    ).pl()
    expected = [g[2:] for g in GRID]
    for got in (py, sq):
        rows = [tuple(r[1:]) for r in got.iter_rows()]
        for row, want in zip(rows, expected):
            assert row[0] is want[0] and row[3] is want[3], (row, want)
            assert row[1] == pytest.approx(want[1]) if want[1] is not None else row[1] is None
            assert row[2] == pytest.approx(want[2]) if want[2] is not None else row[2] is None
    # numpy form (the what-if model): NaN = no limit
    np_over = limits.over_limit_np(frame["exposure"].to_numpy(), frame["credit_limit"].fill_null(float("nan")).to_numpy())
    assert np_over.tolist() == [g[2] for g in GRID]


def test_aging_bucket_and_open_at_macros():
    con = macro_connection()
    t = dt.date(2026, 6, 30)
    # dpd -1, 0 -> not due; 1, 30 -> 1_30; 31 -> 31_60; 181 -> 181_plus (edges 0, 30, 60, 90, 180)
    dues = [t + dt.timedelta(days=1), t, t - dt.timedelta(days=1), t - dt.timedelta(days=30), t - dt.timedelta(days=31), t - dt.timedelta(days=181)]
    got = [
        con.sql("select aging_bucket($t, $due, $edges), days_past_due($t, $due)", params={"t": t, "due": d, "edges": [0, 30, 60, 90, 180]}).fetchall()[0]
        for d in dues
    ]
    assert got == [(0, -1), (0, 0), (1, 1), (1, 30), (2, 31), (5, 181)]
    # a span [start, end) is open on its first day, not on its end day
    span = {"s": dt.date(2026, 6, 1), "e": dt.date(2026, 6, 10)}
    is_open = [
        con.sql("select open_at($s, $e, $t)", params=span | {"t": d}).fetchall()[0][0]
        for d in (dt.date(2026, 5, 31), span["s"], dt.date(2026, 6, 9), span["e"])
    ]
    assert is_open == [False, True, True, False]


OPEN_PREDICATE = re.compile(r"end_date\s*>|order_date\s*<=\s*\$|list_filter\(\s*\$edges")


def test_queries_use_the_macros_instead_of_writing_them_again():
    """Outside derive/ (run at ingest without the macros) no query spells out "open at T",
    "order open at T" or the aging bucket: they call open_at, order_open_at and aging_bucket."""
    offenders = []
    for path in sorted(queries.QUERY_DIR.rglob("*.sql")):
        rel = path.relative_to(queries.QUERY_DIR).as_posix()
        if rel.startswith("derive/") or rel == "macros.sql":
            continue
        body = re.sub(r"--[^\n]*", "", path.read_text())
        if OPEN_PREDICATE.search(body) or "credit_limit >" in body or "> credit_limit" in body:
            offenders.append(rel)
    assert not offenders, offenders


def test_derive_month_end_ar_agrees_with_open_at(ledger):
    """derive/month_end_ar.sql writes "open at m" out (ingest has no macros): at every month-end it
    must give what the macro-based live query gives."""
    from tests.fixtures import MIXED

    eng = ledger(MIXED)
    me = eng.q("receivables/month_end_ar")
    assert me.height >= 3  # March, April, May 2026 at least
    for m, ar, current, disputed in me.iter_rows():
        live = queries.run(eng.con, "receivables/ar_at", as_of=m, segments=[], regions=[], currencies=[]).fetchall()[0]
        assert (round(ar, 6), round(current, 6), round(disputed, 6)) == tuple(round(float(x), 6) for x in live), m


def test_open_during_is_open_at_some_day_of_the_window():
    """open_during(s, e, a, b) holds exactly when open_at(s, e, T) holds for some T in [a, b]."""
    con = macro_connection()
    s, e = dt.date(2026, 6, 10), dt.date(2026, 6, 20)  # open 10..19 June
    windows = [((6, 1), (6, 9)), ((6, 1), (6, 10)), ((6, 19), (6, 30)), ((6, 20), (6, 30)), ((6, 12), (6, 14))]
    got, want = [], []
    for (am, ad), (bm, bd) in windows:
        a, b = dt.date(2026, am, ad), dt.date(2026, bm, bd)
        got.append(con.sql("select open_during($s, $e, $a, $b)", params={"s": s, "e": e, "a": a, "b": b}).fetchall()[0][0])
        want.append(any(s <= a + dt.timedelta(days=k) < e for k in range((b - a).days + 1)))
    assert got == want == [False, True, True, False, True]
