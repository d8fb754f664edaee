"""Requesting a limit and opening a dispute case from where the user is (issue 15), through AppTest: the customer
page, the at-risk list, a worklist row and the what-if studio's one click on its limit lever. Each click creates the
object, the audit trail has it, the page shows the new state; a role without the right sees no button, and the core
refuses it anyway."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.decisions import limits
from dashboard.disputes import cases
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings, load_settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from tests.fixtures import COLLECTIONS_T, DECISIONS_LEDGER, DECISIONS_T, WORKLIST_LEDGER, app_page, data_folder, no_errors, signed_in_as, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")
ANNA = User("anna", "credit_analyst", "oidc")
COLE = User("cole", "collector", "oidc")
VIC = User("vic", "viewer", "oidc")


def page(path: str, **state) -> AppTest:
    at = app_page(path, timeout=90, **state)
    no_errors(at)
    return at


def buttons(at: AppTest, text: str) -> list:
    return [b for b in at.button if b.label.startswith(text)]


def click(at: AppTest, text: str) -> None:
    (b,) = buttons(at, text)
    b.click().run()
    no_errors(at)


def said(at: AppTest) -> list[str]:
    return [s.value.replace("\\", "") for s in at.success]


def events(d: DataDir, action: str) -> list[dict]:
    with d.trail().begin() as conn:
        assert audit.verify(conn) is None
        return audit.events(conn, action=action)


def core_refuses(d: DataDir, user: User, customer: str, invoice: str, t) -> None:
    """The core refuses the write whatever the page shows (access.md)."""
    eng = Engine.open(d.current(), load_settings(d.root))
    ctx = Context(t, eng.snapshot.id)
    with pytest.raises(AccessDenied, match="request limit changes"):
        limits.request(d.trail(), user, ctx, eng, customer, 5_000, "no right")
    with pytest.raises(AccessDenied, match="open dispute cases"):
        cases.open_case(d.trail(), user, ctx, eng, customer, [invoice], 100, "pricing")


def test_customer_page_requests_a_limit_and_opens_a_case(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, ANNA)
    at = page("pages/customer.py", customer_id="L1")
    # L1's proposal (tests/test_decisions.py: a thin file, capped at 10,000) is the limit the form starts from
    assert at.number_input(key="cust_limit_limit").value == 10_000.0
    at.number_input(key="cust_limit_limit").set_value(22_000.0)
    at.text_input(key="cust_limit_reason").set_value("order book doubled")
    click(at, "Request limit")
    (e,) = events(d, "limit.request")
    assert f"Limit requested for L1 (audit entry {e['seq']})." in said(at)
    # the new state: the pending request is said on the page, and there is no second form (one open request per customer)
    assert any(i.value.replace("\\", "").startswith("Limit request 1 pending: USD 22,000.00 (permanent), asked by anna") for i in at.info)
    assert not buttons(at, "Request limit")
    assert (e["user"], e["object_id"], e["details"]["customer_id"], e["details"]["requested_limit"]) == ("anna", "1", "L1", 22_000.0)
    assert e["details"]["current_limit"] == 10_000.0 and e["details"]["scenario_id"] is None

    # a case on I2 (18,250 open); no amount given: all that is open of it
    assert [m.value for m in at.markdown if m.value.startswith("**Disputes**")] == ["**Disputes** (0 open, USD 0.00; 0.0% of AR)"]
    at.multiselect(key="cust_case_docs").set_value(["I2"])
    at.selectbox(key="cust_case_reason").set_value("pricing")
    click(at, "Open case")
    (e,) = events(d, "dispute.open")
    assert f"Dispute case opened for L1 on I2 (audit entry {e['seq']})." in said(at)
    assert (e["user"], e["details"]["invoice_ids"], e["details"]["amount"], e["details"]["reason"]) == ("anna", ["I2"], 18_250.0, "pricing")
    # the engine reopened with the case: I2 counts as disputed on the page at once, and is no longer offered
    assert [m.value for m in at.markdown if m.value.startswith("**Disputes**")] == ["**Disputes** (1 open, USD 18,250.00; 100.0% of AR)"]
    assert not buttons(at, "Open case")


@pytest.mark.parametrize("user", [VIC, COLE], ids=["viewer", "collector"])
def test_customer_page_without_the_right_has_no_button(tmp_path, monkeypatch, user):
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, user)
    at = page("pages/customer.py", customer_id="L1")
    assert not buttons(at, "Request limit") and not buttons(at, "Open case")
    assert not [x for x in at.expander if x.label in ("Request a limit", "Open a dispute case")]
    core_refuses(d, user, "L1", "I2", DECISIONS_T)


def test_at_risk_list_requests_a_limit(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, ANNA)
    at = page("pages/at_risk.py")
    at.selectbox(key="ar_limit_for").set_value("L3").run()
    no_errors(at)
    at.number_input(key="ar_limit_limit").set_value(3_000.0)
    at.text_input(key="ar_limit_reason").set_value("new shop opened")
    at.date_input(key="ar_limit_valid_to").set_value(DECISIONS_T.replace(month=9))
    click(at, "Request limit")
    (e,) = events(d, "limit.request")
    assert f"Limit requested for L3 (audit entry {e['seq']})." in said(at)
    assert any("Limit request 1 pending: USD 3,000.00 (temporary until 2026-09-30)" in i.value.replace("\\", "") for i in at.info)
    assert (e["user"], e["details"]["customer_id"], e["details"]["requested_limit"], e["details"]["valid_to"]) == ("anna", "L3", 3_000.0, "2026-09-30")
    assert limits.request_row(d.trail(), 1)["kind"] == "temporary"

    signed_in_as(monkeypatch, VIC)
    at = page("pages/at_risk.py")
    assert not [s for s in at.selectbox if s.key == "ar_limit_for"] and not buttons(at, "Request limit")
    core_refuses(d, VIC, "L3", "I4", DECISIONS_T)


def test_worklist_row_opens_a_case(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, WORKLIST_LEDGER, COLLECTIONS_T)
    signed_in_as(monkeypatch, ANNA)
    at = page("pages/collections.py", co_customer="C1")
    # C1: overdue I1 8,000 + I2 4,000 (flagged disputed) - CN1 1,000 = 11,000, collectible 11,000 - 4,000 = 7,000
    assert any("collectible **USD 7,000.00**" in m.value for m in at.markdown)
    at.multiselect(key="co_case_docs").set_value(["I1"])
    at.number_input(key="co_case_amount").set_value(2_500.0)
    at.selectbox(key="co_case_reason").set_value("quality")
    click(at, "Open case")
    (e,) = events(d, "dispute.open")
    assert f"Dispute case opened for C1 on I1 (audit entry {e['seq']})." in said(at)
    assert (e["user"], e["details"]["customer_id"], e["details"]["invoice_ids"], e["details"]["amount"]) == ("anna", "C1", ["I1"], 2_500.0)
    # the new state: I1 is under an open case, so the whole document leaves the collectible amount (disputes.md):
    # 7,000 - 8,000 = -1,000 (the credit note is left), and it is shown disputed among the open items
    assert any("collectible **-USD 1,000.00**" in m.value for m in at.markdown)
    (docs,) = [x for x in at.dataframe if "disputed" in x.value.columns and "days_past_due" in x.value.columns]
    assert dict(zip(docs.value["invoice_id"], docs.value["disputed"])) == {"I1": True, "I2": True, "I3": False, "CN1": False}

    signed_in_as(monkeypatch, COLE)  # a collector works the row (contacts, promises) but opens no case
    at = page("pages/collections.py", co_customer="C1")
    assert buttons(at, "Log contact") and not buttons(at, "Open case")
    core_refuses(d, COLE, "C1", "I3", COLLECTIONS_T)


def test_what_if_one_click_requests_the_scenarios_limits(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, ANNA)
    at = page("pages/whatif.py")
    assert not buttons(at, "Request these limits")  # no lever changes a limit yet
    at.slider(key="wi_lim_pct").set_value(50).run()
    # L1 10,000 and L3 1,000 x 1.5; L2 has no limit and keeps none
    click(at, "Request these limits (2 customers, one request each)")
    assert "2 limit request(s) from scenario 'My scenario' (My_scenario.json)." in said(at)
    req = limits.stored(d.trail()).sort("customer_id")
    assert req.select("customer_id", "current_limit", "requested_limit", "scenario_id", "status", "requested_by").rows() == [
        ("L1", 10_000.0, 15_000.0, "My_scenario.json", "pending", "anna"),
        ("L3", 1_000.0, 1_500.0, "My_scenario.json", "pending", "anna"),
    ]
    assert [e["details"]["scenario_id"] for e in events(d, "limit.request")] == ["My_scenario.json"] * 2
    # the scenario the ids name is saved, and that save is in the audit trail with its levers
    (s,) = events(d, "scenario.save")
    assert s["details"]["file"] == "My_scenario.json" and s["details"]["scenario"]["levers"][0]["pct"] == 0.5
    # a second click makes none: one open request per customer, both named
    click(at, "Request these limits")
    assert any(x.startswith("0 limit request(s) from scenario 'My scenario' (My_scenario.json); 2 skipped: L1 already has a pending") for x in said(at))

    signed_in_as(monkeypatch, VIC)
    at = page("pages/whatif.py")
    at.slider(key="wi_lim_pct").set_value(50).run()
    assert not buttons(at, "Request these limits")


def test_review_queue_requests_a_limit(tmp_path, monkeypatch):
    first = {
        "invoices": "invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed\nI3,L2,2025-03-01,2025-03-31,700,2025-03-30,no",
        "customers": "customer_id,name,segment,credit_limit\nL1,Lima Steel,Enterprise,10000\nL2,Mike Tools,SMB,",
    }
    assert ingest([write_csvs(tmp_path / "first", first)], DataDir(tmp_path / "data"), Settings(), as_of=DECISIONS_T.replace(year=2025)).ok
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, ANNA)
    # never reviewed: L1 (class A) counts from the first snapshot that holds it, 2025-06-30 + 365 days = 2026-06-30: due
    at = page("pages/credit.py", cr_review="L1")
    assert buttons(at, "Mark review done")
    at.number_input(key="cr_q_limit_limit").set_value(12_000.0)
    at.text_input(key="cr_q_limit_reason").set_value("review: steady payer")
    click(at, "Request limit")
    (e,) = events(d, "limit.request")
    assert f"Limit requested for L1 (audit entry {e['seq']})." in said(at)
    assert (e["user"], e["details"]["customer_id"], e["details"]["requested_limit"]) == ("anna", "L1", 12_000.0)
    assert any(i.value.replace("\\", "").startswith("Limit request 1 pending: USD 12,000.00") for i in at.info)

    signed_in_as(monkeypatch, VIC)
    at = page("pages/credit.py", cr_review="L1")
    assert not buttons(at, "Request limit") and not buttons(at, "Mark review done")
