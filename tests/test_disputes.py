"""Dispute cases worked by hand (disputes.md) on DISPUTE_LEDGER, the CLI end to end, and roles."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.disputes import amounts, cases, kpis
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import DISPUTE_LEDGER, DISPUTES_T, load, write_csvs

T = DISPUTES_T
ADA = User("ada", "admin", "local")
ANNA = User("anna", "credit_analyst", "oidc")
VIC = User("vic", "viewer", "oidc")
D = dt.date


@pytest.fixture
def eng(tmp_path):
    return load(tmp_path, DISPUTE_LEDGER, as_of=T)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'wb.sqlite'}")
    yield s
    s.dispose()


def at(day: dt.date) -> Context:
    return Context(day, "S1")


def history(eng, store):
    """The cases of the module docstring, in the order they happened (an invoice is in one open case at a time)."""
    c4 = cases.open_case(store, ADA, at(D(2026, 3, 15)), eng, "D1", ["A1"], 2000, "quality").id
    cases.resolve(store, ADA, at(D(2026, 4, 5)), eng, c4, "damaged in transit", written_off=500, cleared=1500)
    c1 = cases.open_case(store, ADA, at(D(2026, 4, 10)), eng, "D1", ["A1"], 1500, "pricing").id
    cases.resolve(store, ADA, at(D(2026, 5, 25)), eng, c1, "price list not updated", credited=1500)
    c2 = cases.open_case(store, ADA, at(D(2026, 5, 10)), eng, "D1", ["A2"], 3000, "quantity").id
    cases.move(store, ADA, at(D(2026, 5, 12)), c2, "in_process")
    c3 = cases.open_case(store, ADA, at(D(2026, 6, 1)), eng, "D2", ["B1"], 4000, "delivery").id
    c5 = cases.open_case(store, ADA, at(D(2026, 6, 5)), eng, "D1", ["A3"], 2000, "other").id
    cases.move(store, ADA, at(D(2026, 6, 6)), c5, "voided")
    return {"C1": c1, "C2": c2, "C3": c3, "C4": c4, "C5": c5}


def test_every_dispute_kpi_by_hand(eng, store):
    ids = history(eng, store)
    p = kpis.picture(eng, store, T)
    # open: C2 (in process) and C3 (new). C2's A2 was paid 1,000 on 05-20 and 2,000 on 06-20: open 0; C3 4,000.
    # disputed_ar = A3 flagged 2,000 + B1 in C3 4,000 (A2 in C2 is no longer open) = 6,000 of AR 11,000.
    # ages: C2 opened 05-10 -> 51 days, C3 opened 06-01 -> 29 days: mean 40.0. Overdue: C2 (deadline 06-09).
    # resolved in [2025-07-01, 2026-06-30]: C4 03-15 -> 04-05 = 21 days, C1 04-10 -> 05-25 = 45 days:
    # median 33.0, P90 = 21 + 0.9 x (45 - 21) = 42.6; write-off rate 500 / (2,000 + 1,500) = 0.1429.
    assert p["kpis"] == {
        "open_cases": 2,
        "open_amount": 4000.0,
        "pct_ar_in_dispute": round(6000 / 11000, 4),
        "avg_open_age_days": 40.0,
        "overdue_cases": 1,
        "cycle_days_median": 33.0,
        "cycle_days_p90": 42.6,
        "write_off_rate": 0.1429,
    }
    assert p["disputed_ar"] == 6000.0
    c = p["cases"].sort("case_id")
    row = {r["case_id"]: r for r in c.iter_rows(named=True)}
    assert (row[ids["C2"]]["paid"], row[ids["C2"]]["open"], row[ids["C2"]]["proposed_close"]) == (3000.0, 0.0, True)
    assert (row[ids["C5"]]["status"], row[ids["C5"]]["voided"], row[ids["C5"]]["open"]) == ("voided", 2000.0, 0.0)
    assert row[ids["C2"]]["overdue"] and not row[ids["C3"]]["overdue"]

    # resolution mix over C4, C1 and the voided C5: credited 1,500, written off 500, cleared 1,500, voided 2,000 of 5,500
    mix = dict(kpis.resolution_mix(c, T).select("outcome", "amount").iter_rows())
    assert mix == {"paid": 0.0, "credited": 1500.0, "written off": 500.0, "cleared": 1500.0, "voided": 2000.0}
    # Pareto: damaged in transit 2,000 (4/7 of 3,500), then price list 1,500 (all of it)
    rc = kpis.root_causes(c, T)
    assert rc["root_cause"].to_list() == ["damaged in transit", "price list not updated"]
    assert rc["cumulative_share"].round(4).to_list() == [round(2000 / 3500, 4), 1.0]
    # opened: Mar 1 (C4), Apr 1 (C1), May 1 (C2), Jun 2 (C3, C5); solved: Apr (C4), May (C1)
    nv = kpis.new_vs_solved(c, T)
    assert nv.height == 12 and nv["month"][0] == D(2025, 7, 31) and nv["month"][-1] == D(2026, 6, 30)
    assert nv["opened"].to_list()[-4:] == [1, 1, 1, 2] and nv["solved"].to_list()[-4:] == [0, 1, 1, 0]
    # A3's case was voided: it is an unmanaged dispute again
    assert amounts.unmanaged(eng, c, T)["invoice_id"].to_list() == ["A3"]


def test_amounts_move_with_the_date(eng, store):
    ids = history(eng, store)
    # 2026-05-31: C2 has 1,000 paid (05-20), 2,000 open; C1 is resolved (credited 1,500 from 05-25); C3 not yet opened
    c = kpis.picture(eng, store, D(2026, 5, 31))["cases"]
    r = {x["case_id"]: x for x in c.iter_rows(named=True)}
    assert (r[ids["C2"]]["paid"], r[ids["C2"]]["open"], r[ids["C2"]]["status"]) == (1000.0, 2000.0, "in_process")
    assert ids["C3"] not in r
    # 2026-05-20, before C1's resolution: C1 is still open for its whole 1,500, nothing credited yet
    c = kpis.picture(eng, store, D(2026, 5, 20))["cases"]
    r = {x["case_id"]: x for x in c.iter_rows(named=True)}
    assert (r[ids["C1"]]["credited"], r[ids["C1"]]["open"], r[ids["C1"]]["status"]) == (0.0, 1500.0, "new")


def test_disputed_documents_for_worklist_and_dunning(eng, store):
    history(eng, store)
    c = kpis.picture(eng, store, T)["cases"]
    d = amounts.disputed_documents(eng, c, T).sort("invoice_id")
    # A3 by its flag only (its case was voided), B1 by the open case C3 (not flagged in the ledger)
    assert d.select("invoice_id", "open_amount", "flagged").rows() == [("A3", 2000.0, True), ("B1", 4000.0, False)]
    by = amounts.disputed_by_customer(eng, c, T).sort("customer_id")
    # B1 falls due 06-14: overdue at 06-30; A3 due 05-31: overdue
    assert by.rows() == [("D1", 2000.0, 2000.0), ("D2", 4000.0, 4000.0)]


def test_refusals_name_the_rule(eng, store):
    with pytest.raises(AccessDenied, match="credit analyst"):
        cases.open_case(store, VIC, at(T), eng, "D1", ["A1"], 100, "pricing")
    with pytest.raises(Refused, match="more than the 5,000.00"):
        cases.open_case(store, ADA, at(T), eng, "D1", ["A1"], 5000.01, "pricing")
    with pytest.raises(Refused, match="belong to another customer"):
        cases.open_case(store, ADA, at(T), eng, "D2", ["A1"], 100, "pricing")
    with pytest.raises(Refused, match="not one of the settings' dispute reasons"):
        cases.open_case(store, ADA, at(T), eng, "D1", ["A1"], 100, "weather")
    cid = cases.open_case(store, ANNA, at(D(2026, 6, 1)), eng, "D1", ["A1"], 1000, "pricing").id
    with pytest.raises(Refused, match="already in an open case"):
        cases.open_case(store, ADA, at(T), eng, "D1", ["A1"], 100, "pricing")
    # a write-off needs a credit manager
    with pytest.raises(AccessDenied, match="credit manager"):
        cases.resolve(store, ANNA, at(T), eng, cid, "goodwill", written_off=100)
    with pytest.raises(Refused, match="is more than the 1,000.00"):
        cases.resolve(store, ADA, at(T), eng, cid, "goodwill", credited=800, cleared=300)
    with pytest.raises(Refused, match="in_process only from new"):
        cases.move(store, ADA, at(T), cid, "in_process") and cases.move(store, ADA, at(T), cid, "in_process")


def test_write_off_four_eyes_in_oidc_mode(eng, store):
    settings = Settings(access={"four_eyes_above": 500})
    eng4 = type(eng)(eng.con, eng.snapshot, settings)
    mona, max_ = User("mona", "credit_manager", "oidc"), User("max", "credit_manager", "oidc")
    cid = cases.open_case(store, mona, at(D(2026, 6, 1)), eng4, "D1", ["A1"], 1000, "pricing").id
    with pytest.raises(Refused, match="nobody approves their own"):
        cases.resolve(store, mona, at(T), eng4, cid, "goodwill", written_off=600)
    anna_mgr = User("anna", "credit_manager", "oidc")
    first = cases.resolve(store, anna_mgr, at(T), eng4, cid, "goodwill", written_off=600, credited=400)
    c = kpis.picture(eng4, store, T)["cases"]
    assert c.filter(pl.col("case_id") == cid)["status"][0] == "new"  # waits for the second approver
    with pytest.raises(Refused, match="already approved"):
        cases.resolve(store, anna_mgr, at(T), eng4, cid, "goodwill", written_off=600, credited=400)
    with pytest.raises(Refused, match="awaits a second approval"):
        cases.resolve(store, max_, at(T), eng4, cid, "goodwill", written_off=500, credited=500)
    second = cases.resolve(store, max_, at(T), eng4, cid, "goodwill", written_off=600, credited=400)
    assert second.seq == first.seq + 1
    c = kpis.picture(eng4, store, T)["cases"].filter(pl.col("case_id") == cid)
    assert c.select("status", "written_off", "credited", "open").row(0) == ("resolved", 600.0, 400.0, 0.0)
    with store.begin() as conn:
        assert audit.verify(conn) is None
        acts = [e["action"] for e in audit.events(conn, object_type="dispute_case")]
    assert acts == ["dispute.resolve", "dispute.write_off_approved", "dispute.open"]


def test_cli_open_resolve_and_json(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("O2C_DATA", str(data))
    assert main(["ingest", str(write_csvs(tmp_path / "x", DISPUTE_LEDGER)), "--json"]) == 0
    capsys.readouterr()
    assert main(["disputes", "open", "--customer", "D2", "--invoice", "B1", "--amount", "4000", "--reason", "delivery", "--as-of", "2026-06-01", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert set(made) == {"id", "seq"}
    assert main(["disputes", "resolve", str(made["id"]), "--credited", "1000", "--root-cause", "late truck", "--as-of", "2026-06-21", "--json"]) == 0
    capsys.readouterr()
    assert main(["disputes", "--json", "--as-of", "2026-06-30"]) == 0
    out = json.loads(capsys.readouterr().out)
    # resolved 06-01 -> 06-21: cycle 20 days; open 4,000 - 1,000 credited = 3,000 (the customer still owes it, not in dispute)
    assert out["kpis"]["open_cases"] == 0 and out["kpis"]["cycle_days_median"] == 20.0 and out["kpis"]["write_off_rate"] == 0.0
    (case,) = out["cases"]
    assert case == {
        "case_id": made["id"],
        "customer_id": "D2",
        "invoice_ids": ["B1"],
        "status": "resolved",
        "reason": "delivery",
        "opened_on": "2026-06-01",
        "deadline": "2026-07-01",
        "original": 4000.0,
        "open": 3000.0,
        "paid": 0.0,
        "credited": 1000.0,
        "written_off": 0.0,
        "cleared_manually": 0.0,
    }
    assert main(["disputes", "resolve", str(made["id"]), "--root-cause", "again", "--json"]) == 1
    assert "only a new or in-process case" in json.loads(capsys.readouterr().err)["error"]
    assert main(["audit", "verify"]) == 0
    assert DataDir(data).current() is not None
