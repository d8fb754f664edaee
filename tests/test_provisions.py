"""The IFRS 9 provision matrix (provisions.md): the spec's worked check, rates derived by hand on a small
ledger, a bucket without history, overlays, segments, the movement and the command line."""

import datetime as dt
import json

import polars as pl
import pytest

from dashboard.cli import main as o2c
from dashboard.provisions import matrix as pm
from dashboard.settings import ProvisionSettings, Settings, SettingsError
from tests.fixtures import PROVISIONS_LEDGER

NAMES = ["not_due", "1_30", "31_60", "61_90", "91_180", "181_plus"]
LOWS = pm.smallest_dpd((0, 30, 60, 90, 180))


def test_the_specs_worked_check():
    gross = [300_000, 140_000, 60_000, 23_000, 5_000]
    # rates 2.0 %, 4.0 %, 8.7 %, 25 %, 100 %: 6,000 + 5,600 + 5,220 + 5,750 + 5,000 = 27,570
    _, allow = pm.allowance(gross, [0.02, 0.04, 0.087, 0.25, 1.0], [1.0] * 5)
    assert round(sum(allow), 2) == 27_570.00
    # the unrounded third rate 8/92: 5,217.39, total 27,567.39
    _, allow = pm.allowance(gross, [0.02, 0.04, 8 / 92, 0.25, 1.0], [1.0] * 5)
    assert round(allow[2], 2) == 5_217.39 and round(sum(allow), 2) == 27_567.39


def test_rates_in_default_borrowed_and_without_any_history():
    # 61_90 has no history: it takes 31_60's (the nearest younger bucket with history), named; 91_180 and 181+ start at
    # dpd 91 and 181 >= 90: already in default, rate 1 whatever their history
    r = pm.derive_rates(NAMES, LOWS, [800, 1500, 1200, 0, 1000, 0], [0, 1000, 1000, 0, 400, 0], 90)
    assert [x.historical for x in r] == pytest.approx([0, 2 / 3, 5 / 6, 5 / 6, 1, 1])
    assert [x.borrowed_from for x in r] == [None, None, None, "31_60", None, None]
    assert [x.rule for x in r] == ["history", "history", "history", "borrowed", "in default", "in default"]
    # nothing younger with history: 0, and said so
    r = pm.derive_rates(NAMES, LOWS, [0, 0, 500, 0, 0, 0], [0, 0, 50, 0, 0, 0], 90)
    assert [(x.historical, x.borrowed_from, x.rule) for x in r[:4]] == [
        (0.0, None, "no history"),
        (0.0, None, "no history"),
        (0.1, None, "history"),
        (0.1, "31_60", "borrowed"),
    ]
    # with default_dpd 60, 61_90 starts in default too
    assert pm.derive_rates(NAMES, LOWS, [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], 60)[3].historical == 1.0


def test_the_overlay_multiplies_the_rate_and_never_lifts_it_past_1():
    ps = ProvisionSettings(overlay={"1_30": 1.2, "61_90": 2.0})
    over = pm.overlays(ps, NAMES)
    assert over == [1.0, 1.2, 1.0, 2.0, 1.0, 1.0]
    rate, allow = pm.allowance([100, 100, 100, 100], [0.1, 0.5, 0.2, 0.7], over[:4])
    assert rate == pytest.approx([0.1, 0.6, 0.2, 1.0]) and allow == pytest.approx([10, 60, 20, 100])
    with pytest.raises(SettingsError, match="names bucket\\(s\\) 1-30; the buckets are not_due, 1_30"):
        pm.overlays(ProvisionSettings(overlay={"1-30": 1.1}), NAMES)
    assert pm.overlays(ProvisionSettings(overlay=1.5), NAMES) == [1.5] * 6


# A ledger worked by hand. T = 2026-06-30, lookback 3 month-ends: 03-31, 04-30, 05-31; outcome known: due + 90 <= T.
#   P1 1000 due 03-01, never paid; default day 05-30, open 1000.  03-31 dpd 30 (1_30), 04-30 dpd 60 (31_60), 05-31 dpd 91 (91_180).
#   P2 500 due 03-17, 300 paid 04-10, settled 05-20; default day 06-15, open 0.  03-31 dpd 14 (1_30) 500; 04-30 dpd 44 (31_60) 200.
#   P3 800 due 03-31, paid 04-15; default day 06-29, open 0.  03-31 dpd 0 (not_due) 800.
#   P4 999 due 04-19: its default day 07-18 is after T, outcome unknown: left out of the history (open at T, 61_90).
# History: not_due 800, 0 unpaid -> 0; 1_30 1000 + 500 = 1500, 1000 unpaid -> 2/3; 31_60 1000 + 200 = 1200, 1000 -> 5/6;
#   61_90 none -> 31_60's 5/6; 91_180 and 181+ in default -> 1.
# Gross at T (open > 0): not_due P5 400; 1_30 P6 300 (dpd 11); 61_90 P4 999 (dpd 72); 91_180 P1 1000 (dpd 121); the credit
#   note CN is not in it. Allowance 0 + 200 + 0 + 832.5 + 1000 + 0 = 2032.5 of 2699: coverage 0.7531.
# Prior month-end 05-31: month-ends 02-28, 03-31, 04-30, known by 05-31 (due <= 03-02): P1 only, unpaid in full at each:
#   not_due, 1_30, 31_60 all 1.0 (61_90 borrows 1.0). Gross then: P6 300 not due, P4 999 dpd 42, P1 1000 dpd 91:
#   allowance 2299; change 2032.5 - 2299 = -266.5.
T = dt.date(2026, 6, 30)
LEDGER = PROVISIONS_LEDGER
THREE = Settings(provisions=ProvisionSettings(lookback_months=3))


def test_the_matrix_by_hand(ledger):
    eng = ledger(LEDGER, settings=THREE, as_of=T)
    m = pm.matrix(eng, T)
    assert m.month_ends == [dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
    b = {r["bucket"]: r for r in m.buckets.iter_rows(named=True)}
    assert [b[n]["history_open"] for n in NAMES[:4]] == [800, 1500, 1200, 0]
    assert [b[n]["history_unpaid"] for n in NAMES[:4]] == [0, 1000, 1000, 0]
    assert [b[n]["historical_rate"] for n in NAMES] == pytest.approx([0, 2 / 3, 5 / 6, 5 / 6, 1, 1])
    assert b["61_90"]["borrowed_from"] == "31_60"
    assert [b[n]["gross"] for n in NAMES] == [400, 300, 0, 999, 1000, 0]
    assert [b[n]["allowance"] for n in NAMES] == pytest.approx([0, 200, 0, 832.5, 1000, 0])
    js = m.to_json()
    assert list(js) == ["as_of", "default_dpd", "buckets", "total_gross", "total_allowance", "coverage", "movement"]
    assert list(js["buckets"][0]) == ["bucket", "gross", "historical_rate", "borrowed_from", "overlay", "rate", "allowance"]
    assert (js["total_gross"], js["total_allowance"], js["coverage"]) == (2699.0, 2032.5, 0.7531)
    assert js["buckets"][1]["historical_rate"] == 0.6667 and js["buckets"][3]["rate"] == 0.8333
    assert m.prior_month_end == dt.date(2026, 5, 31)
    assert js["movement"] == {"prior_month_end_allowance": 2299.0, "change": -266.5}
    # the IFRS 7 disclosure: bucket, gross, rate, allowance and a total
    d = pm.disclosure(m)
    assert d.columns == ["bucket", "gross", "rate", "allowance"]
    assert d.row(-1) == ("Total", 2699.0, pytest.approx(2032.5 / 2699), 2032.5)


def test_an_overlay_from_the_settings(ledger):
    s = Settings(provisions=ProvisionSettings(lookback_months=3, overlay={"1_30": 1.2}, overlay_reason="a weaker economy"))
    eng = ledger(LEDGER, settings=s, as_of=T)
    m = pm.matrix(eng, T)
    row = m.buckets.filter(pl.col("bucket") == "1_30").row(0, named=True)
    # 2/3 x 1.2 = 0.8 on 300: 240, the historical rate shown beside it unchanged
    assert (row["historical_rate"], row["overlay"], row["rate"], row["allowance"]) == (pytest.approx(2 / 3), 1.2, pytest.approx(0.8), pytest.approx(240))
    assert m.total_allowance == pytest.approx(2072.5) and m.overlay_reason == "a weaker economy"


def test_rates_by_segment_fall_back_to_the_overall_rate_below_min_amount(ledger):
    # SMB's history: P1 1000 (1_30, 31_60, 91_180) and P3 800 (not_due); Enterprise's: P2 500 (1_30) and 200 (31_60).
    # min_amount 900: SMB's not_due (800) and every Enterprise bucket (500, 200) fall back to the overall rates;
    # SMB's 1_30 and 31_60 (1000 each, all unpaid) have their own rate 1.
    s = Settings(provisions=ProvisionSettings(lookback_months=3, by="segment", min_amount=900))
    eng = ledger(LEDGER, settings=s, as_of=T)
    m = pm.matrix(eng, T)
    seg = {(r["segment"], r["bucket"]): r for r in m.by_segment.iter_rows(named=True)}
    assert (seg[("SMB", "not_due")]["source"], seg[("SMB", "not_due")]["historical_rate"]) == ("overall", 0.0)
    assert (seg[("SMB", "1_30")]["source"], seg[("SMB", "1_30")]["historical_rate"]) == ("segment", 1.0)
    assert (seg[("Enterprise", "1_30")]["source"], seg[("Enterprise", "1_30")]["historical_rate"]) == ("overall", pytest.approx(2 / 3))
    # gross: SMB P5 400 not due, P1 1000 91_180; Enterprise P6 300 1_30, P4 999 61_90 (overall 5/6): the same 2032.5
    assert m.total_allowance == pytest.approx(2032.5)
    assert m.buckets.filter(pl.col("bucket") == "1_30")["rate"][0] == pytest.approx(2 / 3)


def test_the_segment_filter_narrows_history_and_gross(ledger):
    from dashboard.metrics.kpis import Filters

    eng = ledger(LEDGER, settings=THREE, as_of=T)
    m = pm.matrix(eng, T, Filters(segments=("SMB",)))
    b = {r["bucket"]: r for r in m.buckets.iter_rows(named=True)}
    # SMB alone: not_due 800 unpaid 0 -> 0; 1_30 and 31_60 P1 1000 unpaid -> 1; gross P5 400 and P1 1000
    assert [b[n]["historical_rate"] for n in NAMES[:3]] == [0, 1, 1]
    assert m.total_gross == 1400 and m.total_allowance == 1000


def test_o2c_provisions(ledger, tmp_path, capsys):
    ledger(LEDGER, settings=THREE, as_of=T)
    (tmp_path / "data" / "settings.toml").write_text("[provisions]\nlookback_months = 3\n")
    assert o2c(["provisions", "--json", "--data", str(tmp_path / "data")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_allowance"] == 2032.5 and out["default_dpd"] == 90 and out["buckets"][3]["borrowed_from"] == "31_60"
    assert o2c(["provisions", "--data", str(tmp_path / "data")]) == 0
    text = capsys.readouterr().out
    assert "(no history: rate of 31-60)" in text and "change -USD 266.50" in text
    (tmp_path / "data" / "settings.toml").write_text("[provisions]\nby = 'region'\n")
    assert o2c(["provisions", "--data", str(tmp_path / "data")]) == 2
    assert "setting 'provisions.by'" in capsys.readouterr().err


def test_the_disclosure_export_reads_as_words(ledger):
    from dashboard.present.exports import to_csv

    eng = ledger(LEDGER, settings=THREE, as_of=T)
    lines = to_csv(pm.disclosure(pm.matrix(eng, T)), "USD").decode().splitlines()
    assert lines[0] == "Bucket,Gross (USD),Rate applied,Allowance (USD)"
    assert lines[4] == "61_90,999.0,0.8333,832.5" and lines[-1] == "Total,2699.0,0.7531,2032.5"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dashboard.load.demo import make_demo
    from dashboard.metrics.kpis import Engine
    from dashboard.store.snapshots import DataDir

    res = make_demo(DataDir(tmp_path_factory.mktemp("demo") / "data"), invoices=4000, seed=11)
    assert res.ok
    return Engine.open(res.snapshot, Settings(provisions=ProvisionSettings(by="segment", min_amount=50_000)))


@pytest.mark.parametrize("days_back", [0, 45, 200])
def test_matrix_invariants_on_a_generated_ledger(demo, days_back):
    t = demo.as_of - dt.timedelta(days=days_back)
    m = pm.matrix(demo, t)
    b = m.buckets
    # the gross is every open amount above 0 at T, bucket by bucket as the aging page buckets it
    positive = demo.con.sql(
        "select coalesce(sum(open_amount), 0) from open_intervals where start_date <= $t and end_date > $t and open_amount > 0", params={"t": t}
    ).fetchall()[0][0]
    assert m.total_gross == pytest.approx(positive)
    assert all(0 <= r <= 1 for r in b["historical_rate"].to_list() + b["rate"].to_list())
    assert (b["allowance"] <= b["gross"] + 1e-9).all() and m.total_allowance <= m.total_gross
    # unpaid at default never exceeds what was open; the segments' allowances add up to the matrix's
    assert (b["history_unpaid"] <= b["history_open"] + 1e-6).all()
    assert m.by_segment is not None and m.by_segment["allowance"].sum() == pytest.approx(m.total_allowance)
    assert m.by_segment["gross"].sum() == pytest.approx(m.total_gross)
