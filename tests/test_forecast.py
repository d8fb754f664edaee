"""The 13-week cash-in forecast and its backtest (forecast.md): every term by hand on small ledgers,
invariants on a generated ledger, and the measured figures on the public IBM sample."""

import datetime as dt
import json

import numpy as np
import polars as pl
import polars.testing
import pytest

from dashboard.cli import main as o2c
from dashboard.forecast import backtest as bt
from dashboard.forecast import cashin
from dashboard.forecast.history import history
from dashboard.load.demo import make_demo
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.settings import ForecastSettings, Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import FORECAST_LEDGER, SHARED

# ------------------------------------------------------------------------------------------------ the forecast
# T = 2026-03-31, W = 365 (settled 2025-04-01..2026-03-31 count); min_history 3, segment_min_history 2.
# Settled history (s = settlement day - invoice date):
#   C1 (SMB): H1 s=10, H2 s=20, H3 s=40, H4 s=70 (Oct 1 -> Dec 10); H8 s=200 settled 2025-01-11: outside W.
#   C2 (SMB): H5 s=35, settled by its second payment (2026-02-05), no paid_date; H6 s=110 (Sep 1 -> Dec 20).
#   C3 (Enterprise): H7 s=15.
# Open at T, a = age; a pool document with s lands on day T - a + s, i.e. offset s - a, week ceil((s - a) / 7):
#   O1 C1 a=15, 1000: C1 has 3 with s > 15 (H2 H3 H4) -> customer; 333.33 at offsets 5 (wk 1), 25 (wk 4), 55 (wk 8).
#   O2 C1 a=40, 600 - 200 paid = 400: C1 has 1 (H4) < 3; SMB has 2 (H4, H6) >= 2 -> segment;
#      200 at 30 (wk 5), 200 at 70 (wk 10).
#   O3 C3 a=10, 300: C3 1 < 3, Enterprise 1 < 2 -> all customers: s > 10: H2 H3 H4 H5 H6 H7 (H1's 10 is not > 10);
#      50 each at 10 (wk 2), 30 (wk 5), 60 (wk 9), 25 (wk 4), 100 (later), 5 (wk 1).
#   O4 C2 a=120, 500: nobody settled later than 120 days within W (H8's 200 is outside) -> doubtful.
#   O5 C1 credit note -150 -> credit_notes.
#   O6 C1 a=0, 90: C1 has 4 with s > 0 -> customer; 22.5 at 10 (wk 2), 20 (wk 3), 40 (wk 6), 70 (wk 10).
# Weeks: 1: 333.33 + 50 = 383.33; 2: 50 + 22.5 = 72.5; 3: 22.5; 4: 333.33 + 50 = 383.33; 5: 200 + 50 = 250;
#   6: 22.5; 7: 0; 8: 333.33; 9: 50; 10: 200 + 22.5 = 222.5; 11-13: 0; later 50; doubtful 500; credit notes -150.
#   Check: the weeks (1740) + later (50) = 1000 + 400 + 300 + 90 open > 0 with a pool.
T = dt.date(2026, 3, 31)
LEDGER = FORECAST_LEDGER
SMALL = Settings(forecast=ForecastSettings(min_history=3, segment_min_history=2))


@pytest.fixture
def eng(ledger):
    return ledger(LEDGER, settings=SMALL, as_of=T)


def test_every_week_of_the_forecast_by_hand(eng):
    fc = cashin.forecast(eng, T)
    third = 1000 / 3
    want = [third + 50, 72.5, 22.5, third + 50, 250, 22.5, 0, third, 50, 222.5, 0, 0, 0]
    assert [w[3] for w in fc.weeks] == pytest.approx(want)
    assert (fc.later, fc.doubtful, fc.credit_notes) == (pytest.approx(50), pytest.approx(500), pytest.approx(-150))
    assert fc.weeks[0][1:3] == (dt.date(2026, 4, 1), dt.date(2026, 4, 7))  # week 1 = T+1 .. T+7
    assert fc.weeks[12][1:3] == (dt.date(2026, 6, 24), dt.date(2026, 6, 30))  # week 13 ends T + 91
    # which pool each open document used: O1 and O6 their customer's, O2 the segment's, O3 everyone's, O4 none
    assert fc.levels == {"none": 1, "customer": 2, "segment": 1, "all customers": 1}


def test_the_forecast_by_segment_and_by_age_of_the_invoice(eng):
    fc = cashin.forecast(eng, T)
    seg = {r["segment"]: r for r in cashin.by_segment(fc).iter_rows(named=True)}
    # Enterprise is O3 alone: 50 in weeks 1, 2, 4, 5, 9 and later
    assert [seg["Enterprise"][f"week_{k}"] for k in range(1, 14)] == pytest.approx([50, 50, 0, 50, 50, 0, 0, 0, 50, 0, 0, 0, 0])
    assert (seg["Enterprise"]["later"], seg["SMB"]["doubtful"], seg["SMB"]["credit_notes"]) == (50, 500, -150)
    band = fc.detail.group_by("age_band").agg(pl.col("amount").sum())
    # 0-30 days old: O1 1000 + O3 300 + O6 90; 31-60: O2 400; 91-180: O4 500 (doubtful)
    assert dict(band.iter_rows()) == pytest.approx({"0-30 days": 1390, "31-60 days": 400, "91-180 days": 500})


def test_the_selection_forecasts_its_own_documents_from_the_whole_ledgers_history(eng):
    fc = cashin.forecast(eng, T, Filters(segments=("Enterprise",)))
    # O3 is still spread over all customers' history (its own segment has too little): the selection picks documents only
    assert [w[3] for w in fc.weeks][:5] == pytest.approx([50, 50, 0, 50, 50])
    assert (fc.later, fc.doubtful, fc.credit_notes) == (50, 0, 0)


def test_the_default_thresholds_send_a_thin_customer_to_everyone(ledger):
    eng = ledger(LEDGER, as_of=T)  # min_history 5, segment 20: no customer or segment has enough
    fc = cashin.forecast(eng, T)
    assert fc.levels == {"none": 1, "customer": 0, "segment": 0, "all customers": 4}
    # C1 has 4 documents in W (< 5), SMB 6 (< 20): O1, O2, O3 and O6 use everyone's history; O4 stays doubtful
    assert sum(w[3] for w in fc.weeks) + fc.later == pytest.approx(1790)


# ------------------------------------------------------------------------------------------------ the backtest
# T = 2026-06-30, 2 points: the month-ends M with M + 91 <= T: 2026-02-28 and 2026-03-31. min_history 1.
# History: H1 100 inv 2025-11-01 due 12-01 paid 11-21 (s 20, delay -10); H2 300 inv 12-01 due 12-31 paid 2026-01-10 (s 40, +10).
# M1 = 02-28: D1 100 (a 10) -> pool H1, H2 -> 50 at offset 10 (wk 2), 50 at 30 (wk 5). Paid 03-10 = M1+10: actual wk 2 100.
#   due date 03-20 = M1+20: wk 3. Mean delay (100 x -10 + 300 x 10) / 400 = 5 -> 03-25 = M1+25: wk 4.
# M2 = 03-31: D1 joins the pool (s 20, delay 03-10 - 03-20 = -10). D2 400 (a 10): 3 pool docs, 133.33 at 10, 30, 10 ->
#   wk 2 266.67, wk 5 133.33; paid 100 on 04-05 (M2+5, wk 1) and the rest 05-05 (M2+35, wk 5): actual wk 1 100, wk 5 300.
#   D3 50 (a 6), due 09-30 (beyond week 13), never paid: 16.67 at 14 (wk 2), 34 (wk 5), 14 (wk 2): wk 2 +33.33, wk 5 +16.67.
#   due date: D2 04-20 = M2+20 wk 3; D3 later. Mean delay (-1000 + 3000 - 1000) / 500 = 2: D2 04-22 = M2+22 wk 4; D3 later.
# Forecast |A - F|: M1 wk2 50, wk5 50; M2 wk1 100, wk2 300, wk5 |300 - 150| = 150: 650 / 500 = 1.3.
#   bias (sum F - sum A) / sum A = (100 + 450 - 500) / 500 = 0.1.
#   WAPE_k: wk1 100 / 100 = 1; wk2 (50 + 300) / 100 = 3.5; wk5 (50 + 150) / 300 = 2/3; the other weeks have no actuals: null.
# Due date: M1 wk2 100 + wk3 100; M2 wk1 100 + wk3 400 + wk5 300 = 1000 / 500 = 2.0, bias 0. Mean delay: the same, 2.0, 0.
BT_T = dt.date(2026, 6, 30)
BT_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
H1,C1,2025-11-01,2025-12-01,100,2025-11-21
H2,C1,2025-12-01,2025-12-31,300,2026-01-10
D1,C1,2026-02-18,2026-03-20,100,2026-03-10
D2,C1,2026-03-21,2026-04-20,400,2026-05-05
D3,C1,2026-03-25,2026-09-30,50,
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
P1,D2,2026-04-05,100
""",
}
BT_SETTINGS = Settings(forecast=ForecastSettings(min_history=1, segment_min_history=1, backtest_points=2))


def test_the_backtest_by_hand(ledger):
    eng = ledger(BT_LEDGER, settings=BT_SETTINGS, as_of=BT_T)
    b = bt.backtest(eng, BT_T)
    assert b.points == [dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    cells = {(r["point"].month, r["week"]): r for r in b.cells.iter_rows(named=True)}
    assert cells[(2, 2)]["actual"] == 100 and cells[(3, 1)]["actual"] == 100 and cells[(3, 5)]["actual"] == 300
    assert sum(r["actual"] for r in cells.values()) == 500
    assert (cells[(2, 2)]["forecast"], cells[(2, 5)]["forecast"]) == (pytest.approx(50), pytest.approx(50))
    assert (cells[(3, 2)]["forecast"], cells[(3, 5)]["forecast"]) == (pytest.approx(300), pytest.approx(150))
    assert (cells[(2, 3)]["due_date"], cells[(2, 4)]["due_plus_delay"], cells[(3, 3)]["due_date"], cells[(3, 4)]["due_plus_delay"]) == (100, 100, 400, 400)
    f = b.scores["forecast"]
    assert (f.wape, f.bias) == (pytest.approx(1.3), pytest.approx(0.1))
    assert f.wape_by_week == pytest.approx([1.0, 3.5, None, None, 2 / 3] + [None] * 8)
    for m in ("due_date", "due_plus_delay"):
        assert (b.scores[m].wape, b.scores[m].bias) == (pytest.approx(2.0), 0)
    assert b.best == "forecast"
    js = b.to_json()
    assert js["points"] == ["2026-02-28", "2026-03-31"] and js["wape"] == 1.3 and js["bias"] == 0.1
    assert js["wape_by_week"][:5] == [1.0, 3.5, None, None, 0.6667]
    assert js["baselines"] == {"due_date": {"wape": 2.0, "bias": 0.0}, "due_plus_delay": {"wape": 2.0, "bias": 0.0}}


def test_mean_delay_rounds_half_up():
    assert bt.half_up(np.array([-2.5, -2.4, 2.5, 2.49, 0.0])).tolist() == [-2.0, -2.0, 3.0, 2.0, 0.0]


def test_backtest_points_need_13_weeks_of_hindsight(ledger):
    eng = ledger(BT_LEDGER, settings=BT_SETTINGS, as_of=BT_T)
    assert bt.backtest_points(eng, dt.date(2026, 6, 29), 2) == [dt.date(2026, 1, 31), dt.date(2026, 2, 28)]  # 03-31 + 91 > 06-29
    assert bt.backtest_points(eng, BT_T, 12)[0] == dt.date(2025, 11, 30)  # none before the ledger's first month
    assert bt.backtest_points(eng, dt.date(2025, 12, 15), 6) == []
    empty = bt.backtest(eng, dt.date(2025, 12, 15))
    assert empty.best is None and empty.to_json()["wape"] is None and "No backtest yet" in bt.best_text(empty)


def test_o2c_forecast_json_has_the_specs_keys(ledger, tmp_path, capsys):
    ledger(BT_LEDGER, settings=BT_SETTINGS, as_of=BT_T)
    (tmp_path / "data" / "settings.toml").write_text("[forecast]\nmin_history = 1\nsegment_min_history = 1\nbacktest_points = 2\n")
    assert o2c(["forecast", "--json", "--data", str(tmp_path / "data")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["as_of", "weeks", "later", "doubtful", "credit_notes", "backtest"]
    assert list(out["weeks"][0]) == ["week", "start", "end", "amount"] and len(out["weeks"]) == 13
    assert list(out["backtest"]) == ["points", "wape", "bias", "wape_by_week", "baselines"]
    assert out["backtest"]["wape"] == 1.3
    # D3 (50, open at T, a = 97): pool H1 20, H2 40, D1 20, D2 45 days: none settled later than 97 days -> doubtful
    assert out["doubtful"] == 50 and out["later"] == 0
    assert o2c(["forecast", "--data", str(tmp_path / "data")]) == 0
    text = capsys.readouterr().out
    assert "Best on this ledger over 2 month-ends (Feb 2026 to Mar 2026): the forecast" in text


# ------------------------------------------------------------------------------------------------ invariants


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("demo") / "data")
    res = make_demo(data, invoices=4000, seed=7)
    assert res.ok
    return Engine.open(res.snapshot, Settings())


@pytest.mark.parametrize("months_back", [0, 5, 13])
def test_forecast_adds_up_to_the_open_amounts(demo, months_back):
    t = demo.as_of - dt.timedelta(days=30 * months_back)
    fc = cashin.forecast(demo, t)
    spans = demo.con.sql(
        "select coalesce(sum(open_amount) filter (where open_amount > 0), 0), coalesce(sum(open_amount) filter (where open_amount < 0), 0) "
        "from open_intervals where start_date <= $t and end_date > $t",
        params={"t": t},
    ).fetchall()[0]
    assert sum(w[3] for w in fc.weeks) + fc.later + fc.doubtful == pytest.approx(spans[0])
    assert fc.credit_notes == pytest.approx(spans[1])
    assert all(w[3] >= 0 for w in fc.weeks)
    # the segments and age bands add up to the selection, and each segment's forecast is the selection's for that segment
    assert fc.detail["amount"].sum() == pytest.approx(spans[0])
    seg = cashin.by_segment(fc)
    for name in seg["segment"].to_list()[:2]:
        one = cashin.forecast(demo, t, Filters(segments=(name,)))
        row = seg.filter(pl.col("segment") == name)
        assert [w[3] for w in one.weeks] == pytest.approx([row[f"week_{k}"][0] for k in range(1, 14)])


def test_backtest_actuals_are_what_the_open_documents_paid(demo):
    b = bt.backtest(demo, demo.as_of)
    assert len(b.points) == 6
    for m in b.points:
        # sum over weeks of (open at the week's start - at its end) = open at M - open at M + 91, of the documents open > 0 at M
        want = demo.con.sql(
            "with s as (select doc_key from open_intervals where start_date <= $m and end_date > $m and open_amount > 0) "
            "select sum(case when o.start_date <= $m and o.end_date > $m then o.open_amount else 0 end) "
            "     - sum(case when o.start_date <= $e and o.end_date > $e then o.open_amount else 0 end) "
            "from open_intervals o semi join s using (doc_key)",
            params={"m": m, "e": m + dt.timedelta(days=91)},
        ).fetchall()[0][0]
        assert b.cells.filter(pl.col("point") == m)["actual"].sum() == pytest.approx(want)


def test_prepared_backtest_points_are_the_ones_a_date_computes(tmp_path):
    # the points prepared once per snapshot (in chunks, for the whole ledger) give every date the backtest it would
    # compute itself; the next call computes nothing
    res = make_demo(DataDir(tmp_path / "data"), invoices=3000, seed=5)
    fresh, prepared = Engine.open(res.snapshot, Settings()), Engine.open(res.snapshot, Settings())
    assert bt.prepare(prepared, n=9, chunk=4) == 9 and bt.prepare(prepared, n=9) == 0
    for days in (0, 40, 75):
        t = prepared.as_of - dt.timedelta(days=days)
        a, b = bt.backtest(fresh, t), bt.backtest(prepared, t)
        assert a.points == b.points and len(a.points) == 6
        pl.testing.assert_frame_equal(a.cells, b.cells)


# ------------------------------------------------------------------------------------------------ the IBM sample

IBM = SHARED / "datasets" / "ibm_ar_late_payments" / "WA_Fn-UseC_-Accounts-Receivable.csv"


@pytest.mark.skipif(not IBM.exists(), reason="the public IBM sample is not on this machine")
def test_ibm_sample_at_the_end_of_2013(tmp_path):
    data = DataDir(tmp_path / "data")
    res = ingest([IBM], data, Settings())
    assert res.ok, res.report.to_text()
    eng = Engine.open(res.snapshot, Settings())
    t = dt.date(2013, 12, 31)
    b = bt.backtest(eng, t)
    assert [m.isoformat() for m in b.points] == ["2013-04-30", "2013-05-31", "2013-06-30", "2013-07-31", "2013-08-31", "2013-09-30"]
    f, due, delay = b.scores["forecast"], b.scores["due_date"], b.scores["due_plus_delay"]
    assert f.wape is not None and due.wape is not None and delay.wape is not None
    assert f.wape <= 0.26 and f.wape < due.wape and f.wape < delay.wape
    # the figures computed outside the product from the raw file: 0.24, 0.37, 0.25
    assert (round(f.wape, 2), round(due.wape, 2), round(delay.wape, 2)) == (0.24, 0.37, 0.25)
    assert b.best == "forecast"
    # the actuals, from the raw CSV: every invoice is settled in full on its SettledDate, so a point's actual in week k
    # is the amount of the invoices open at M (invoice <= M < settled) settled in days M+7(k-1)+1 .. M+7k
    raw = pl.read_csv(IBM, schema_overrides={"invoiceNumber": pl.Utf8}).with_columns(
        pl.col("InvoiceDate").str.to_date("%m/%d/%Y"), pl.col("SettledDate").str.to_date("%m/%d/%Y")
    )
    for m in b.points:
        open_at_m = raw.filter((pl.col("InvoiceDate") <= m) & (pl.col("SettledDate") > m))
        wk = open_at_m.with_columns(week=((pl.col("SettledDate") - pl.lit(m)).dt.total_days() + 6) // 7).filter(pl.col("week") <= 13)
        want = dict(wk.group_by("week").agg(pl.col("InvoiceAmount").sum()).iter_rows())
        got = b.cells.filter(pl.col("point") == m)
        assert got["actual"].to_list() == pytest.approx([want.get(k, 0.0) for k in range(1, 14)])
        # each point forecasts exactly what was open at M (weeks + later + doubtful)
        fc = cashin.forecast(eng, m)
        assert sum(w[3] for w in fc.weeks) + fc.later + fc.doubtful == pytest.approx(open_at_m["InvoiceAmount"].sum())
    # at 2013-09-30 the signed-delay baseline wins: the text says so
    earlier = bt.backtest(eng, dt.date(2013, 9, 30))
    assert earlier.best == "due_plus_delay"
    assert "due date + the customer's mean delay, not the forecast" in bt.best_text(earlier)


def test_a_mean_delay_of_exactly_half_a_day_rounds_up(ledger):
    # C1: 100.10 paid 2 days late and 100.10 paid 3 days late: (2 + 3) / 2 = 2.5 -> 3.
    # C2: 0.10 paid 2 days early and 0.10 paid 3 days early: -2.5 -> -2 (half up, not away from zero). C3: nothing settled -> 0.
    eng = ledger(
        {
            "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
A,C1,2026-01-01,2026-01-31,100.10,2026-02-02
B,C1,2026-01-01,2026-01-31,100.10,2026-02-03
C,C2,2026-01-01,2026-01-31,0.10,2026-01-29
D,C2,2026-01-01,2026-01-31,0.10,2026-01-28
E,C3,2026-01-01,2026-01-31,5,
""",
        },
        as_of=T,
    )
    keys = dict(eng.con.sql("select customer_id, customer_key from customers").fetchall())
    who = np.array([keys["C1"], keys["C2"], keys["C3"]], dtype=np.int64)
    assert bt.mean_delay(history(eng), cashin.day_number(T), 365, who).tolist() == [3, -2, 0]


def test_the_search_and_the_table_paths_give_the_same_forecast(demo, monkeypatch):
    # Segments and everyone are looked up in running-count tables; a ledger with many segments x long settlement
    # times takes binary searches for its segments instead: both must agree.
    t = demo.as_of - dt.timedelta(days=45)
    fast = cashin.forecast(demo, t)
    monkeypatch.setattr(cashin, "DENSE_CELLS", 0)
    slow = cashin.forecast(demo, t)
    assert [w[3] for w in slow.weeks] == pytest.approx([w[3] for w in fast.weeks])
    assert (slow.later, slow.doubtful, slow.levels) == (pytest.approx(fast.later), pytest.approx(fast.doubtful), fast.levels)
    assert sum(w[3] for w in fast.weeks) > 0 and fast.levels["segment"] + fast.levels["all customers"] > 0


def test_the_export_reads_as_words_with_cents(eng):
    from dashboard.present.exports import to_csv

    lines = to_csv(cashin.by_segment(cashin.forecast(eng, T)), "USD").decode().splitlines()
    weeks = ",".join(f"Week {k} (USD)" for k in range(1, 14))
    assert lines[0] == f"Segment,{weeks},Later (USD),Doubtful (USD),Credit notes (USD)"
    # Enterprise (O3): 50 in weeks 1, 2, 4, 5, 9 and later
    assert lines[1] == "Enterprise,50.0,50.0,0.0,50.0,50.0,0.0,0.0,0.0,50.0,0.0,0.0,0.0,0.0,50.0,0.0,0.0"
