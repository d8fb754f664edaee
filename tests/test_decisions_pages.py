"""The Disputes and Credit decisions pages through AppTest: an analyst opens a case from an unmanaged
dispute, resolves it, and the KPIs move; an analyst requests a limit that they cannot approve in oidc mode,
a manager approves it and the effective limit and held orders change; every table is headed from the
registry; a viewer reads both pages without any form."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.present.labels import label
from dashboard.workbench import audit
from dashboard.workbench.identity import User
from tests.fixtures import DECISIONS_LEDGER, DECISIONS_T, DISPUTE_LEDGER, DISPUTES_T, app_page, data_folder, no_errors, signed_in_as

pytestmark = pytest.mark.usefixtures("fresh_caches")


def page(path: str, **state) -> AppTest:
    at = app_page(path, timeout=60, **state)
    no_errors(at)
    return at


def headings(df) -> dict[str, str | None]:
    cfg = json.loads(df.proto.columns) if df.proto.columns else {}
    order = list(df.proto.column_order) or list(df.value.columns)
    return {c: cfg.get(c, {}).get("label") for c in order if not cfg.get(c, {}).get("hidden")}


def registry_headed(at: AppTest) -> None:
    assert len(at.dataframe) >= 2
    for df in at.dataframe:
        for name, heading in headings(df).items():
            assert heading == label(name.removesuffix("__pct"), "USD") and not re.search(r"\b[a-z]+_[a-z_]+\b", heading), (name, heading)


def metric(at: AppTest, title: str) -> str:
    (m,) = [m for m in at.metric if m.label == title]
    return m.value


def click(at: AppTest, text: str, refused: bool = False) -> None:
    (b,) = [b for b in at.button if b.label.startswith(text)]
    b.click().run()
    if not refused:
        no_errors(at)
    assert not at.exception, at.exception


def test_an_analyst_works_a_dispute_on_the_page(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, DISPUTE_LEDGER, DISPUTES_T)
    signed_in_as(monkeypatch, User("anna", "credit_analyst", "oidc"))
    at = page("pages/disputes.py")
    assert metric(at, "Open cases") == "0"
    # disputed AR = A3 flagged, 2,000 of AR 11,000 = 18.2 %
    assert metric(at, "AR in dispute") == "18.2%"
    (un,) = [x for x in at.dataframe if "days_past_due" in x.value.columns]
    assert un.value["invoice_id"].tolist() == ["A3"]
    at.session_state["di_document"] = "A3"  # as a click on the row does
    at.run()
    click(at, "Open a case on A3")
    assert any("Case opened on A3" in s.value for s in at.success)
    assert metric(at, "Open cases") == "1" and metric(at, "AR in dispute") == "18.2%"  # the same document: flagged and now in a case
    with d.trail().begin() as conn:
        (e,) = audit.events(conn, action="dispute.open")
    at.session_state["di_case"] = int(e["object_id"])
    at.run()
    at.text_input(key="di_cause").set_value("duplicate invoice")
    at.number_input(key="di_credited").set_value(2000.0)
    (go,) = [b for b in at.button if b.label == "Resolve"]
    go.click().run()
    no_errors(at)
    assert metric(at, "Open cases") == "0" and metric(at, "Cycle time (median)") == "0.0 days"
    assert any("duplicate invoice" in str(x.value["root_cause"].tolist()) for x in at.dataframe if "root_cause" in x.value.columns)
    assert len(at.get("plotly_chart")) == 2  # the Pareto of root causes, new vs resolved
    registry_headed(at)
    with d.trail().begin() as conn:
        assert audit.verify(conn) is None


def test_request_approve_and_held_orders_on_the_page(tmp_path, monkeypatch):
    d = data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    anna = User("anna", "credit_analyst", "oidc")
    signed_in_as(monkeypatch, anna)
    at = page("pages/credit.py", cr_customer="L1")
    at.number_input(key="cr_limit").set_value(22_000.0)
    at.text_input(key="cr_reason").set_value("order book doubled")
    (go,) = [b for b in at.button if b.label == "Request"]
    go.click().run()
    no_errors(at)
    assert any("Limit requested for L1" in s.value for s in at.success)
    # the same person, now with a manager's role, cannot approve her own request (oidc mode)
    signed_in_as(monkeypatch, User("anna", "credit_manager", "oidc"))
    at = page("pages/credit.py", cr_request_id=1)
    click(at, "Approve", refused=True)
    # shown as text (escaped for markdown, so a name or id can never turn into a link or formatting)
    assert [e.value.replace("\\", "").replace("\u2060", "") for e in at.error] == [
        "anna requested limit request 1: another credit manager approves it (nobody approves their own)."
    ]
    signed_in_as(monkeypatch, User("mona", "credit_manager", "oidc"))
    # a manager sees the request form and the approval box at once (a form key once clashed with the box's key)
    at = page("pages/credit.py", cr_request_id=1, cr_customer="L1")
    (hold,) = [x for x in at.dataframe if "until_date" in x.value.columns]
    assert hold.value["status"].tolist() == ["held", "held", "held", "held"]  # master limits: L1 and L3 over
    click(at, "Approve")
    assert any("Request 1 approved" in s.value for s in at.success)
    (hold,) = [x for x in at.dataframe if "until_date" in x.value.columns]
    # 22,000 - AR 18,250 = 3,750: O1 (2,000) fits; O2, O3 and L3's O4 stay held
    assert hold.value["order_id"].tolist() == ["O2", "O3", "O4"]
    registry_headed(at)
    with d.trail().begin() as conn:
        assert [e["action"] for e in audit.events(conn, object_type="limit_request")] == ["limit.approve", "limit.request"]
        assert audit.verify(conn) is None


def test_a_viewer_reads_both_pages_without_forms(tmp_path, monkeypatch):
    data_folder(tmp_path, monkeypatch, DECISIONS_LEDGER, DECISIONS_T)
    signed_in_as(monkeypatch, User("vic", "viewer", "oidc"))
    for path, key in (("pages/credit.py", "cr_customer"), ("pages/disputes.py", "di_case")):
        at = page(path, **{key: "L1"})
        assert not [b for b in at.button if b.label in ("Request", "Approve", "Resolve", "Release")]
        assert len(at.dataframe) >= 2


def test_a_second_manager_completes_a_write_off_on_the_page(tmp_path, monkeypatch):
    from dashboard.disputes import cases
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import load_settings
    from dashboard.workbench.notes import Context

    d = data_folder(tmp_path, monkeypatch, DISPUTE_LEDGER, DISPUTES_T)
    (d.root / "settings.toml").write_text("[access]\nfour_eyes_above = 500\n")
    eng = Engine.open(d.current(), load_settings(d.root))
    ctx = Context(DISPUTES_T, d.current().id)
    cid = int(cases.open_case(d.trail(), User("anna", "credit_analyst", "oidc"), ctx, eng, "D1", ["A1"], 1000, "pricing").id)
    # 600 written off is above 500: mona's approval is the first of two
    cases.resolve(d.trail(), User("mona", "credit_manager", "oidc"), ctx, eng, cid, "goodwill", credited=400, written_off=600)
    signed_in_as(monkeypatch, User("max", "credit_manager", "oidc"))
    at = page("pages/disputes.py", di_case=cid)
    (w,) = at.warning
    said = w.value.replace("\\", "")  # shown as text: escaped for markdown
    assert said == "Awaiting a second approval: credited USD 400.00, written off USD 600.00, cleared USD 0.00, root cause 'goodwill'."
    click(at, "Approve this write-off")
    assert any("Write-off of case" in s.value.replace("\\", "") for s in at.success)
    assert metric(at, "Write-off rate") == "60.0%"  # 600 written off / 1,000 disputed, resolved today
    with d.trail().begin() as conn:
        assert [(e["action"], e["user"]) for e in audit.events(conn, object_type="dispute_case")][:2] == [
            ("dispute.resolve", "max"),
            ("dispute.write_off_approved", "mona"),
        ]
