"""A ledger whose documents are all settled by its as-of date: the core says so and finds the latest
date with open items; every receivables page says why it shows zeros and offers that date."""

import csv
import datetime as dt

import pytest

from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine, Filters
from dashboard.metrics.open_items import latest_open_date, nothing_open, open_items
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import SHARED, app_page, metric, write_csvs

D = dt.date
T = D(2026, 4, 30)
SETTLED = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
I1,C1,2026-01-05,2026-02-04,100,2026-02-10
I2,C2,2026-02-01,2026-03-03,200,2026-03-20
I3,C1,2026-03-10,2026-04-09,50,2026-03-25
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
P1,I2,2026-03-01,50
""",
    "customers": """
customer_id,name,segment
C1,Acme,SMB
C2,Beta,Enterprise
""",
}
# Open spans [start, end): I1 01-05..02-10, I2 02-01..03-01 (200) and 03-01..03-20 (150), I3 03-10..03-25.
# So the last day anything is open is 03-24 (I3, settled on 03-25); for Enterprise (I2 only) 03-19.


@pytest.fixture
def eng(ledger):
    return ledger(SETTLED, as_of=T)


def test_nothing_open_at_the_as_of_date_and_the_latest_date_with_open_items(eng):
    assert eng.headline(T)["ar_total"] == 0.0
    why = nothing_open(eng, T)
    assert why is not None
    assert (why.first_open, why.latest_open) == (D(2026, 1, 5), D(2026, 3, 24))
    assert why.message == ("Nothing is open on 30 April 2026: every document was settled by then. The latest date with open items is 24 March 2026.")
    assert latest_open_date(eng) == D(2026, 3, 24)
    # on the latest date something is open (I3, 50), the day after nothing
    assert nothing_open(eng, D(2026, 3, 24)) is None and open_items(eng, D(2026, 3, 24)) == 1
    assert eng.headline(D(2026, 3, 24))["ar_total"] == 50.0
    assert nothing_open(eng, D(2026, 3, 25)) is not None
    # before the first document was open
    early = nothing_open(eng, D(2026, 1, 4))
    assert early is not None and early.message.startswith("Nothing is open on 04 January 2026: no document was open yet.")
    # the selection counts: Enterprise's last open day is 03-19 (I2 settled 03-20)
    ent = Filters(segments=("Enterprise",))
    assert latest_open_date(eng, ent) == D(2026, 3, 19)
    assert nothing_open(eng, D(2026, 3, 22), ent) is not None and nothing_open(eng, D(2026, 3, 22)) is None
    # a selection with nothing, ever
    none = nothing_open(eng, T, Filters(currencies=("EUR",)))
    assert none is not None and none.latest_open is None and "was ever open" in none.message


def test_an_open_item_at_the_as_of_date_is_the_latest(ledger):
    tables = dict(SETTLED)
    tables["invoices"] = SETTLED["invoices"].rstrip() + "\nI4,C2,2026-04-01,2026-05-01,70,\n"
    eng = ledger(tables, as_of=T)
    assert nothing_open(eng, T) is None
    assert latest_open_date(eng) == T


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", SETTLED)], DataDir(d), Settings(), as_of=T).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


NOTICE = "Nothing is open on 30 April 2026: every document was settled by then. The latest date with open items is 24 March 2026."


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize("path", [None, "pages/aging.py", "pages/exposure.py", "pages/at_risk.py"])
def test_each_page_says_why_and_switches_to_the_latest_date(data, path):
    at = app_page(path)
    assert [w.value for w in at.warning] == [NOTICE]
    at.button(key="to_latest_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["as_of"] == D(2026, 3, 24)
    assert not at.warning  # something is open now
    if path is None:
        assert metric(at, "AR total") == "USD 50"
        assert "As of 24 March 2026" in at.caption[0].value


@pytest.mark.usefixtures("fresh_caches")
def test_no_notice_when_something_is_open(data):
    at = app_page(None, as_of=D(2026, 3, 1))
    assert not at.warning
    assert metric(at, "AR total") == "USD 150"  # I2 200 - P1 50 (dated 03-01: counts)


IBM = SHARED / "datasets" / "ibm_ar_late_payments" / "WA_Fn-UseC_-Accounts-Receivable.csv"


@pytest.mark.skipif(not IBM.exists(), reason="../shared/datasets is not here")
def test_the_ibm_sample_is_all_settled_by_its_last_date(tmp_path):
    res = ingest([IBM], DataDir(tmp_path / "data"), Settings())
    assert res.ok, res.report.to_text()
    eng = Engine.open(res.snapshot, Settings())
    # from the raw file: an invoice is open from its InvoiceDate up to the day before its SettledDate
    us = lambda s: dt.datetime.strptime(s, "%m/%d/%Y").date()  # noqa: E731
    with open(IBM, newline="") as fh:
        rows = [(us(r["InvoiceDate"]), us(r["SettledDate"])) for r in csv.DictReader(fh)]
    latest = max(paid - dt.timedelta(days=1) for inv, paid in rows if paid > inv)
    why = nothing_open(eng)
    assert why is not None and why.latest_open == latest
    assert why.latest_open < eng.as_of
    assert nothing_open(eng, latest) is None
