"""The headline JSON and the at-risk rows are TypedDicts whose keys are exactly the ones the
command line has always printed (kpis.md "Headline JSON"; `o2c at-risk --json`)."""

from typing import get_type_hints

from dashboard.metrics.kpis import Headline, SegmentRow
from dashboard.risk import scorecard as risk
from dashboard.risk.scorecard import AtRiskRow
from tests.fixtures import MIXED
from tests.fixtures import RISK_LEDGER as LEDGER
from tests.fixtures import RISK_T as T

# kpis.md, "Headline JSON", in its order
SPEC_KEYS = (
    "as_of, base_currency, ar_total, ar_current, ar_overdue, pct_overdue, aging, dso_standard, dso_countback, bpdso, add, cei, adp, "
    "avg_days_late, on_time_rate, disputed_ar, open_orders, exposure_total, customers, customers_with_limit, over_limit_customers, "
    "concentration_top10, by_segment"
).split(", ")
SEGMENT_KEYS = "segment, ar_total, ar_overdue, open_orders, exposure, credit_limit, utilization, over_limit_customers, dso_standard".split(", ")
AT_RISK_KEYS = ["customer_id", "name", "segment", "score", "risk_class", "exposure", "overdue", "utilization", "reasons"]


def test_headline_keys_are_the_spec_s(ledger):
    assert list(get_type_hints(Headline)) == SPEC_KEYS
    assert list(get_type_hints(SegmentRow)) == SEGMENT_KEYS
    h = ledger(MIXED).headline()
    assert list(h) == SPEC_KEYS
    assert all(list(s) == SEGMENT_KEYS for s in h["by_segment"]) and len(h["by_segment"]) == 2
    assert list(h["aging"]) == ["not_due", "1_30", "31_60", "61_90", "91_180", "181_plus"]


def test_at_risk_rows_keep_their_keys(ledger):
    assert list(get_type_hints(AtRiskRow)) == AT_RISK_KEYS
    rows = risk.at_risk_records(risk.at_risk(ledger(LEDGER, as_of=T), T))
    assert [r["customer_id"] for r in rows] == ["C1", "C2"]
    assert all(list(r) == AT_RISK_KEYS for r in rows)
    assert rows[0]["score"] == 61.33 and rows[0]["utilization"] == 0.6 and rows[1]["utilization"] is None
