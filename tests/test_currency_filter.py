"""The currency-of-origin filter, the same on every page: receivables figures count the documents
and orders in the chosen currencies; limit figures pick the customers with something open in them
and measure each against its credit limit with its exposure in every currency (a credit limit
covers all of a customer's currencies). Worked out by hand below."""

import datetime as dt

import pytest

from dashboard.load.ingest import ingest
from dashboard.metrics import exposure
from dashboard.metrics.kpis import Filters
from dashboard.risk import scorecard as risk
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import app_page, metric, no_errors, write_csvs

T = dt.date(2026, 5, 31)
LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date
U1,C1,2026-05-10,2026-06-15,700,USD,
E1,C1,2026-04-01,2026-05-01,320,EUR,
U2,C2,2026-05-15,2026-06-30,600,USD,
E3,C3,2026-05-20,2026-06-19,80,EUR,
U5,C5,2026-03-01,2026-03-31,90,USD,2026-03-30
""",
    "fx": """
currency,rate_to_base,rate_date
EUR,1.25,
""",
    "orders": """
order_id,customer_id,order_date,amount,currency
O4,C4,2026-05-20,40,EUR
""",
    "customers": """
customer_id,name,segment,credit_limit
C1,Acme,SMB,1000
C2,Beta,Enterprise,500
C3,Gamma,SMB,120
C4,Delta,Enterprise,
C5,Eps,SMB,0
""",
}
# At T, in base currency (EUR x 1.25):
#   C1: U1 700 (not due) + E1 400 (30 days past due) = 1100 against 1000 -> over
#   C2: U2 600 against 500 -> over          C3: E3 100 against 120 -> 83 % used: near
#   C4: order O4 50, no limit               C5: nothing open, limit 0 -> not over (exposure 0)
EUR = Filters(currencies=("EUR",))


@pytest.fixture
def eng(ledger):
    return ledger(LEDGER, as_of=T)


def test_without_a_currency_filter(eng):
    h = eng.headline(T)
    assert (h["ar_total"], h["open_orders"], h["exposure_total"]) == (1800.0, 50.0, 1850.0)
    assert (h["customers"], h["customers_with_limit"], h["over_limit_customers"]) == (5, 4, 2)
    k = exposure.tiles(risk.scores(eng, T))
    assert k == {
        "customers": 5,
        "exposure": 1850.0,
        "credit_limits": 1620.0,  # 1000 + 500 + 120 + 0
        "customers_with_limit": 4,
        "limit_used": pytest.approx(1800 / 1620),  # C1 1100 + C2 600 + C3 100 + C5 0 over their limits
        "over_limit": 2,
        "near_limit": 1,
        "no_limit": 1,
        "top10_share_of_exposure": 1.0,
    }


def test_a_currency_filter_counts_receivables_in_it_and_limits_on_everything(eng):
    h = eng.headline(T, EUR)
    # receivables: E1 400 (overdue) + E3 100; orders: O4 50
    assert (h["ar_total"], h["ar_overdue"], h["open_orders"], h["exposure_total"]) == (500.0, 400.0, 50.0, 550.0)
    # customers with something open in EUR: C1, C3 (documents), C4 (an order); C1 is over its limit
    # with its exposure in every currency (1100 > 1000), though its EUR exposure alone (400) is not
    assert (h["customers"], h["customers_with_limit"], h["over_limit_customers"]) == (3, 2, 1)
    assert h["concentration_top10"] == 1.0  # 3 customers: (400 + 100 + 0) / 500
    # the exposure page picks the same customers and counts the same over limit
    s = risk.scores(eng, T, EUR)
    assert sorted(s["customer_id"]) == ["C1", "C3", "C4"]
    k = exposure.tiles(s)
    assert (k["exposure"], k["credit_limits"], k["over_limit"], k["near_limit"], k["no_limit"]) == (1250.0, 1120.0, 1, 1, 1)
    assert k["limit_used"] == pytest.approx(1200 / 1120)
    assert k["over_limit"] == h["over_limit_customers"]
    # a customer's score does not depend on the filter
    every = risk.scores(eng, T).filter(customer_id="C1")["score"][0]
    assert s.filter(customer_id="C1")["score"][0] == pytest.approx(every)
    # USD: C1 and C2 (C5 has nothing open), both over
    assert eng.headline(T, Filters(currencies=("USD",)))["over_limit_customers"] == 2
    assert exposure.tiles(risk.scores(eng, T, Filters(currencies=("USD",))))["over_limit"] == 2


def test_exposure_by_segment_counts_near_limit_as_the_tile_does(eng):
    table = {r["segment"]: r for r in exposure.by(risk.scores(eng, T), "segment").iter_rows(named=True)}
    smb, ent = table["SMB"], table["Enterprise"]
    # SMB: C1 over (110 %), C3 near (83 %), C5 limit 0 -> one over, one near (C1 is over, not near)
    assert (smb["customers"], smb["customers_with_limit"], smb["over_limit"], smb["near_limit"]) == (3, 3, 1, 1)
    assert smb["utilization"] == pytest.approx(1200 / 1120)
    # Enterprise: C2 over (600 / 500), C4 without a limit is left out of utilisation
    assert (ent["customers"], ent["customers_with_limit"], ent["over_limit"], ent["near_limit"]) == (2, 1, 1, 0)
    assert ent["utilization"] == pytest.approx(1.2)


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", LEDGER)], DataDir(d), Settings(), as_of=T).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


@pytest.mark.usefixtures("fresh_caches")
def test_overview_and_exposure_page_agree_and_say_why(data):
    ov = app_page(None, f_currencies=["EUR"])
    no_errors(ov)
    assert metric(ov, "Customers over limit") == "1"
    assert metric(ov, "Exposure in EUR") == "USD 550"
    assert metric(ov, "AR total") == "USD 500"
    note = ov.info[0].value
    assert "Currency of origin EUR" in note and "covers all of a customer's currencies" in note
    ex = app_page("pages/exposure.py", f_currencies=["EUR"])
    no_errors(ex)
    assert metric(ex, "Over limit") == "1"
    assert "Exposure (every currency)" in [m.label for m in ex.metric]
    assert "covers all of a customer's currencies" in ex.info[0].value
    # without the filter: no note, plain labels, both count 2
    ov = app_page(None)
    assert not ov.info and metric(ov, "Customers over limit") == "2" and metric(ov, "Exposure") == "USD 1.9k"
    ex = app_page("pages/exposure.py")
    assert metric(ex, "Over limit") == "2" and metric(ex, "Top-10 share of exposure") == "100.0%"
