"""Each KPI on small ledgers whose answers were worked out by hand from kpis.md.

The arithmetic is in the comments; nothing here was copied from the engine's output.
"""

import datetime as dt

from tests.fixtures import MIXED

D = dt.date


# --------------------------------------------------------------------------- ledger A
# T = 2026-06-30. Ten open documents whose due dates sit exactly on the bucket
# edges (dpd = T - due_date), one issued after T, one paid on T, one paid after T.
EDGES = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
E0,C1,2026-01-01,2026-06-30,1,
E1,C1,2026-01-01,2026-06-29,2,
E30,C1,2026-01-01,2026-05-31,4,
E31,C1,2026-01-01,2026-05-30,8,
E60,C1,2026-01-01,2026-05-01,16,
E61,C1,2026-01-01,2026-04-30,32,
E90,C1,2026-01-01,2026-04-01,64,
E91,C1,2026-01-01,2026-03-31,128,
E180,C1,2026-01-01,2026-01-01,256,
E181,C1,2025-12-01,2025-12-31,512,
LATER,C1,2026-07-01,2026-07-31,1000,
PAIDONT,C1,2026-06-15,2026-07-15,2048,2026-06-30
PAIDAFTER,C1,2026-06-01,2026-07-01,4096,2026-07-01
"""
}


def test_bucket_edges_documents_after_as_of_and_paid_on_as_of(ledger):
    h = ledger(EDGES).headline(D(2026, 6, 30))
    # dpd 0 -> not_due; 1 and 30 -> 1_30; 31, 60 -> 31_60; 61, 90 -> 61_90; 91, 180 -> 91_180; 181 -> 181_plus.
    # LATER is issued after T (excluded); PAIDONT is zero from its paid_date = T on;
    # PAIDAFTER (due 07-01, dpd -1) is still open at T -> not_due 1 + 4096.
    assert h["aging"] == {"not_due": 4097.0, "1_30": 6.0, "31_60": 24.0, "61_90": 96.0, "91_180": 384.0, "181_plus": 512.0}
    assert h["ar_total"] == 5119.0  # 1023 + 4096
    assert h["ar_current"] == 4097.0
    assert h["ar_overdue"] == 1022.0
    assert h["pct_overdue"] == round(1022 / 5119, 4)  # 0.1996
    # Sales(2026-04-02, 2026-06-30) = PAIDONT 2048 + PAIDAFTER 4096 = 6144
    assert h["dso_standard"] == 74.99  # 5119 / 6144 * 90 = 74.9878
    assert h["bpdso"] == 60.01  # 4097 / 6144 * 90 = 60.0146
    assert h["add"] == 14.97  # 1022 / 6144 * 90 = 14.9707
    # countback: June (30 days) sold 6144 > AR 5119 -> 30 * 5119 / 6144 = 24.995
    assert h["dso_countback"] == 25.0
    # CEI over [04-02, 06-30]: AR(04-01) = the ten edge documents = 1023
    # (1023 + 6144 - 5119) / (1023 + 6144 - 4097) = 2048 / 3070 = 66.7101 %
    assert h["cei"] == 66.71
    # Only PAIDONT (amount 2048) is settled in the 365 days to T: 15 days to pay, not late.
    assert (h["adp"], h["avg_days_late"], h["on_time_rate"]) == (15.0, 0.0, 1.0)
    assert h["disputed_ar"] == 0.0
    # No master: the one customer is added as Unassigned without a limit.
    assert (h["customers"], h["customers_with_limit"], h["over_limit_customers"]) == (1, 0, 0)
    assert h["concentration_top10"] == 1.0


# --------------------------------------------------------------------------- ledger B
# T = 2026-05-31: partial payments (one before the invoice date, one on T, one
# after T), a credit note, two foreign currencies, orders, limits of 500 and 0.


def test_partial_payments_credit_notes_fx_orders_limits(ledger):
    h = ledger(MIXED).headline(D(2026, 5, 31))
    # D1: 1000 - 300 - 200 (P2 is dated T: counts) = 500, P3 after T ignored; dpd 0 -> not due.
    # D2: EUR 500 at the rate dated on/before 04-10 (1.10) = 550; P4 (EUR 100, before the
    #     invoice date) counts -> 440; dpd 21 -> 1_30; disputed.
    # D3: credit note -200, dpd 16 -> 1_30.   D4: paid 05-20 -> 0.   D5: GBP 100 * 1.25 = 125, not due.
    assert h["ar_total"] == 865.0
    assert h["aging"]["not_due"] == 625.0 and h["aging"]["1_30"] == 240.0
    assert h["ar_overdue"] == 240.0
    assert h["pct_overdue"] == 0.2775  # 240 / 865 = 0.27746
    assert h["disputed_ar"] == 440.0
    # Sales(03-03, 05-31) = 1000 + 550 - 200 + 125 = 1475 (D4 issued 03-01 is outside)
    assert h["dso_standard"] == 52.78  # 865/1475*90 = 52.7797
    assert h["bpdso"] == 38.14  # 625/1475*90 = 38.1356
    assert h["add"] == 14.64  # 240/1475*90 = 14.6441
    # countback: May (31 days) sold 1000 - 200 + 125 = 925 > 865 -> 31 * 865/925 = 28.9892
    assert h["dso_countback"] == 28.99
    # CEI over [03-03, 05-31]: AR(03-02) = D4 300. (300 + 1475 - 865)/(300 + 1475 - 625) = 910/1150
    assert h["cei"] == 79.13
    # D4 is the only positive document settled in the window: 80 days to pay, 50 days late.
    assert (h["adp"], h["avg_days_late"], h["on_time_rate"]) == (80.0, 50.0, 0.0)
    # Orders to T: O1 200 + O3 EUR 100 at the rate dated on/before 05-01 (1.20) = 120; O2 is after T.
    assert h["open_orders"] == 320.0
    assert h["exposure_total"] == 1185.0
    # C1: AR 500 - 200 = 300 + 200 orders = 500 = limit -> not over. C2: 565 + 120 = 685 > limit 0 -> over.
    assert (h["customers"], h["customers_with_limit"], h["over_limit_customers"]) == (3, 2, 1)
    assert h["concentration_top10"] == 1.0
    seg = {s["segment"]: s for s in h["by_segment"]}
    assert seg["Enterprise"] == {
        "segment": "Enterprise",
        "ar_total": 565.0,
        "ar_overdue": 440.0,
        "open_orders": 120.0,
        "exposure": 685.0,
        "credit_limit": 0.0,
        "utilization": None,
        "over_limit_customers": 1,
        "dso_standard": 75.33,  # 565 / (550 + 125) * 90
    }
    assert seg["SMB"] == {
        "segment": "SMB",
        "ar_total": 300.0,
        "ar_overdue": -200.0,
        "open_orders": 200.0,
        "exposure": 500.0,
        "credit_limit": 500.0,
        "utilization": 1.0,
        "over_limit_customers": 0,
        "dso_standard": 33.75,  # 300 / (1000 - 200) * 90
    }


# --------------------------------------------------------------------------- ledger C
COUNTBACK = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
A,C1,2026-03-10,2026-04-09,100,
B,C1,2026-02-10,2026-02-10,-50,2026-02-20
C,C1,2026-01-15,2026-02-14,400,
D,C1,2025-12-20,2026-01-19,1000,
"""
}


def test_countback_walks_months_and_counts_non_positive_months_whole(ledger):
    h = ledger(COUNTBACK).headline(D(2026, 3, 15))
    # AR = 100 + 400 + 1000 = 1500.
    # March 1-15: 15 days, sales 100 -> 15, remaining 1400.  February: sales -50 <= 0 -> +28.
    # January: 400 <= 1400 -> +31, remaining 1000.  December: 1000 <= 1000 -> +31, remaining 0: stop.
    assert h["ar_total"] == 1500.0
    assert h["dso_countback"] == 105.0


def test_undefined_ratios_are_null_not_zero(ledger):
    eng = ledger(COUNTBACK)
    # Before the first document: AR 0, no sales -> every ratio is undefined, countback is 0.
    h = eng.headline(D(2025, 12, 1))
    assert h["ar_total"] == 0.0
    assert h["pct_overdue"] is None and h["dso_standard"] is None and h["bpdso"] is None and h["add"] is None
    assert h["cei"] is None and h["adp"] is None and h["on_time_rate"] is None and h["concentration_top10"] is None
    assert h["dso_countback"] == 0.0


def test_trend_points_match_headline_at_each_month_end(ledger):
    """The month-end table built at ingest gives the same AR as a live query at that date."""
    eng = ledger(MIXED)
    tr = eng.trend(D(2026, 5, 31))
    assert tr["date"].to_list()[-1] == D(2026, 5, 31)
    for row in tr.iter_rows(named=True):
        h = eng.headline(row["date"])
        assert round(row["ar"], 2) == h["ar_total"]
        assert round(row["ar_overdue"], 2) == h["ar_overdue"]
        assert (None if row["dso_standard"] is None else round(row["dso_standard"], 2)) == h["dso_standard"]
        assert round(row["dso_countback"], 2) == h["dso_countback"]


def test_custom_aging_edges_from_settings(ledger):
    from dashboard.settings import Settings

    s = Settings(aging_edges=(0, 60, 180))
    assert s.bucket_names == ["not_due", "1_60", "61_180", "181_plus"]
    h = ledger(EDGES, settings=s).headline(D(2026, 6, 30))
    assert h["aging"] == {"not_due": 4097.0, "1_60": 30.0, "61_180": 480.0, "181_plus": 512.0}
