"""Credit decisions worked by hand (credit-decisions.md) on DECISIONS_LEDGER: the proposal formula, the
effective limit (permanent, temporary, expired, a newer master limit), limits to reconcile, held orders
after a release, the review queue, the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.decisions import holds, limits, proposals, reviews
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import CreditPolicySettings, Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import DECISIONS_LEDGER, DECISIONS_T, load, write_csvs

T = DECISIONS_T
ADA = User("ada", "admin", "local")


@pytest.fixture
def eng(tmp_path):
    return load(tmp_path, DECISIONS_LEDGER, as_of=T)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'wb.sqlite'}")
    yield s
    s.dispose()


def ctx(day: dt.date = T) -> Context:
    return Context(day, "S1")


def granted(store, eng, customer, limit, valid_to=None, day=T) -> int:
    rid = int(limits.request(store, ADA, ctx(day), eng, customer, limit, "annual review", valid_to).id)
    limits.approve(store, ADA, ctx(day), eng, rid)
    return rid


def test_proposal_formula_by_hand(eng, store):
    p = {r["customer_id"]: r for r in proposals.proposals_json(eng, store, T)["proposals"]}
    # L1: sales of 2025-07-01..2026-06-30 = 18,250 + 18,250 - 1,000 = 35,500; terms = (18,250 x 30 + 18,250 x 60) / 36,500
    # = 45 days (the credit note has amount < 0); need = 35,500 / 365 x (45 + 30) = 7,294.52; class A: x 1.5 = 10,941.78,
    # rounded up to 11,000; a thin file (I1 paid + I2 open = 2 documents, fewer than 3) caps it at 10,000.
    assert p["L1"] == {
        "customer_id": "L1",
        "class": "A",
        "sales_365": 35500.0,
        "terms": 45.0,
        "cover_days": 30,
        "need": 7294.52,
        "class_factor": 1.5,
        "proposed_limit": 10000.0,
        "current_limit": 10000.0,
        "thin_file": True,
    }
    # L2: nothing issued in the window: sales 0, terms from the master (45), need 0; no class computed -> C (1.0): 0
    assert (p["L2"]["terms"], p["L2"]["need"], p["L2"]["class"], p["L2"]["class_factor"], p["L2"]["proposed_limit"], p["L2"]["current_limit"]) == (
        45.0,
        0.0,
        None,
        1.0,
        0.0,
        None,
    )
    # L3: 1,500 / 365 x (30 + 30) = 246.58; x 1.5 = 369.86 -> 1,000
    assert (p["L3"]["need"], p["L3"]["proposed_limit"]) == (246.58, 1000.0)


def test_proposal_rounding_clamps_and_classes():
    cp = CreditPolicySettings(min_limit=2000, max_limit=50_000)
    base = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            # a: 73,000 / 365 x (30 + 30) = 12,000 exactly, x 1.0 (C) = 12,000 stays 12,000 (no float creep to 13,000)
            # b: 365,000 / 365 x 60 = 60,000 x 1.25 (B) = 75,000 -> clamped to max 50,000
            # c: 3,650 / 365 x 60 = 600 x 0.6 (D) = 360 -> 1,000 -> clamped up to min 2,000
            # d: class E: x 0 -> 0 -> min 2,000; e: negative sales count 0 -> 0 -> min 2,000, but a thin file: at most 10,000
            "sales_365": [73_000.0, 365_000.0, 3_650.0, 36_500.0, -500.0],
            "terms_days": [30.0, 30.0, 30.0, 30.0, None],
            "master_terms_days": [None, None, None, None, 14],
            "risk_class": [None, "B", "D", "E", "A"],
            "thin_file": [False, False, False, False, True],
        }
    )
    out = proposals.proposal_frame(base, cp)
    assert out["need"].round(2).to_list() == [12000.0, 60000.0, 600.0, 6000.0, 0.0]
    assert out["terms"].to_list() == [30.0, 30.0, 30.0, 30.0, 14.0]
    assert out["proposed_limit"].to_list() == [12000.0, 50000.0, 2000.0, 2000.0, 2000.0]


def test_effective_limit_permanent_temporary_expired(eng, store):
    granted(store, eng, "L1", 22_000)
    e = limits.effective_limits(store, eng, T).filter(pl.col("customer_id") == "L1")
    assert e.select("master_limit", "effective_limit", "limit_source").row(0) == (10_000.0, 22_000.0, "approved")
    # the day before it was asked and approved, the master's limit held
    assert limits.effective_limits(store, eng, T - dt.timedelta(days=1)).filter(pl.col("customer_id") == "L1")["effective_limit"][0] == 10_000.0
    granted(store, eng, "L1", 30_000, valid_to=dt.date(2026, 7, 15))
    at = {
        d: limits.effective_limits(store, eng, d).filter(pl.col("customer_id") == "L1").select("effective_limit", "limit_source").row(0)
        for d in (T, dt.date(2026, 7, 15), dt.date(2026, 7, 16))
    }
    assert at[T] == (30_000.0, "temporary")  # 1. a temporary limit whose [valid_from, valid_to] holds T
    assert at[dt.date(2026, 7, 15)] == (30_000.0, "temporary")  # valid_to is its last day
    assert at[dt.date(2026, 7, 16)] == (22_000.0, "approved")  # expired: back to the latest permanent one
    # a later permanent approval wins over the earlier one (latest valid_from, then approval time)
    granted(store, eng, "L1", 25_000, day=dt.date(2026, 7, 1))
    assert limits.effective_limits(store, eng, dt.date(2026, 7, 16)).filter(pl.col("customer_id") == "L1")["effective_limit"][0] == 25_000.0
    # L2 and L3: no decision, the master (none for L2)
    rest = limits.effective_limits(store, eng, T).filter(pl.col("customer_id") != "L1").sort("customer_id")
    assert rest.select("customer_id", "effective_limit", "limit_source").rows() == [("L2", None, "master"), ("L3", 1000.0, "master")]


def _later(tmp_path: Path, master_l1: str) -> Engine:
    tables = DECISIONS_LEDGER | {
        "customers": DECISIONS_LEDGER["customers"].replace("L1,Lima Steel,Enterprise,10000,30", f"L1,Lima Steel,Enterprise,{master_l1},30")
    }
    res = ingest([write_csvs(tmp_path / f"later{master_l1}", tables)], DataDir(tmp_path / "data"), Settings(), as_of=dt.date(2026, 7, 31))
    assert res.ok
    return Engine.open(res.snapshot, Settings())


def test_a_newer_master_limit_is_listed_to_reconcile(eng, store, tmp_path):
    granted(store, eng, "L1", 22_000)
    assert limits.to_reconcile(store, eng).height == 0  # approved today: the ERP has not had a day to follow
    newer = _later(tmp_path, "15000")  # the ERP changed L1 outside the process
    e = limits.effective_limits(store, newer).filter(pl.col("customer_id") == "L1")
    assert e.select("master_limit", "effective_limit", "limit_source").row(0) == (15_000.0, 22_000.0, "approved")
    r = limits.to_reconcile(store, newer)
    assert r.select("customer_id", "approved_limit", "master_limit", "approved_on").rows() == [("L1", 22_000.0, 15_000.0, T)]
    followed = _later(tmp_path, "22000")  # the ERP was updated to the approved limit: nothing to reconcile
    assert limits.to_reconcile(store, followed).height == 0


def test_held_orders_after_a_release(eng, store):
    # with master limits: L1 AR 18,250 > 10,000 and L3 AR 1,500 > 1,000: every order is held
    assert [(r["order_id"], r["status"]) for r in holds.holds_json(eng, store, T)["holds"]] == [("O1", "held"), ("O2", "held"), ("O3", "held"), ("O4", "held")]
    granted(store, eng, "L1", 22_000)
    # headroom 22,000 - 18,250 = 3,750: O1 2,000 fits (running 2,000), O2 does not (5,000), nor O3 (6,000)
    st = lambda d=T: dict(holds.holds(eng, store, d, everything=True).filter(pl.col("customer_id") == "L1").select("order_id", "status").iter_rows())  # noqa: E731
    assert st() == {"O1": "within limit", "O2": "held", "O3": "held"}
    holds.release(store, ADA, ctx(), eng, "O3", "pays in advance", until=dt.date(2026, 7, 5))
    # O3's 1,000 uses the headroom first: O1 2,000 + 1,000 = 3,000 <= 3,750 still fits, O2 5,000 + 1,000 does not
    assert st() == {"O1": "within limit", "O2": "held", "O3": "released"}
    holds.release(store, ADA, ctx(), eng, "O2", "director's call")
    # O3 1,000 + O2 3,000 = 4,000 released first, above the 3,750: O1 (2,000) no longer fits by the rule
    assert st() == {"O1": "held", "O2": "released", "O3": "released"}
    holds.reject(store, ADA, ctx(), eng, "O2", "customer cancelled")
    assert st() == {"O1": "within limit", "O2": "rejected", "O3": "released"}
    # after its until-date O3's release lapses: back under the rule, O1 2,000 + O3 1,000 = 3,000 fit
    assert st(dt.date(2026, 7, 6)) == {"O1": "within limit", "O2": "rejected", "O3": "within limit"}
    with pytest.raises(Refused, match="only a held order is released"):
        holds.release(store, ADA, ctx(), eng, "O1", "again")
    with pytest.raises(Refused, match="no open order 'O9'"):
        holds.release(store, ADA, ctx(), eng, "O9", "typo")
    with store.begin() as conn:
        e = audit.events(conn, action="order.release")[-1]
        assert audit.verify(conn) is None
    # the decision keeps the data it was made on: snapshot, score, class, exposure 24,250 and utilisation 24,250 / 22,000
    assert e["snapshot_id"] == "S1" and e["details"]["exposure"] == 24_250.0 and e["details"]["utilisation"] == round(24_250 / 22_000, 4)
    assert e["details"]["risk_class"] == "A" and e["details"]["until"] == "2026-07-05"


def test_review_queue_by_class(tmp_path):
    settings = Settings(credit_policy={"review_days": {"A": 90, "B": 270, "C": 180, "D": 90, "E": 30}})
    first = {
        "invoices": "invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed\nI3,L2,2025-03-01,2025-03-31,700,2025-03-30,no",
        "customers": "customer_id,name,segment,credit_limit\nL1,Lima Steel,Enterprise,10000\nL2,Mike Tools,SMB,",
    }
    assert ingest([write_csvs(tmp_path / "first", first)], DataDir(tmp_path / "data"), settings, as_of=dt.date(2025, 12, 31)).ok
    eng = load(tmp_path, DECISIONS_LEDGER, settings, as_of=T)
    store = Store(f"sqlite:///{tmp_path / 'wb.sqlite'}")
    # L1 (class A) first seen 2025-12-31 + 90 = 2026-03-31 <= T: due; L2 (no class -> C) 2025-12-31 + 180 = 2026-06-29: due;
    # L3 (A) first seen in today's snapshot: 2026-06-30 + 90, not due. Most exposed first: L1 24,250, then L2 0.
    q = reviews.queue(eng, store, T)
    assert q.select("customer_id", "next_review", "last_review_kind").rows() == [
        ("L1", dt.date(2026, 3, 31), "first snapshot"),
        ("L2", dt.date(2026, 6, 29), "first snapshot"),
    ]
    reviews.mark_done(store, ADA, ctx(), eng, "L1", "no change needed")  # a review without a change is a decision
    rid = int(limits.request(store, ADA, ctx(), eng, "L2", 5000, "first limit").id)
    limits.reject(store, ADA, ctx(), eng, rid, "no trading history")
    assert reviews.queue(eng, store, T).height == 0
    with store.begin() as conn:
        (done,) = audit.events(conn, action="review.done")
        assert audit.verify(conn) is None
    # the review is a decision like any other: snapshot, data it was made on (L1: exposure 24,250, 10,000 limit)
    assert (done["object_id"], done["snapshot_id"], done["details"]["exposure"], done["details"]["utilisation"]) == ("L1", "S1", 24_250.0, 2.425)
    full = reviews.queue(eng, store, T, due_only=False).sort("customer_id")
    assert full.select("customer_id", "last_review", "last_review_kind", "next_review").rows()[:2] == [
        ("L1", T, "review done", T + dt.timedelta(days=90)),
        ("L2", T, "limit decision", T + dt.timedelta(days=180)),
    ]
    store.dispose()


def test_cli_limits_and_holds(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))
    assert main(["ingest", str(write_csvs(tmp_path / "x", DECISIONS_LEDGER)), "--json"]) == 0
    capsys.readouterr()
    assert main(["limits", "propose", "--customer", "L1", "--json", "--as-of", "2026-06-30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2026-06-30" and list(out["proposals"][0]) == [
        "customer_id",
        "class",
        "sales_365",
        "terms",
        "cover_days",
        "need",
        "class_factor",
        "proposed_limit",
        "current_limit",
        "thin_file",
    ]
    assert main(["limits", "request", "--customer", "L1", "--limit", "22000", "--reason", "growth", "--as-of", "2026-06-30", "--json"]) == 0
    req = json.loads(capsys.readouterr().out)
    assert req["status"] == "pending" and req["self_approved"] is False
    assert main(["limits", "request", "--customer", "L1", "--limit", "23000", "--reason", "again", "--json"]) == 1
    assert "one open request per customer" in json.loads(capsys.readouterr().err)["error"]
    assert main(["limits", "approve", str(req["request_id"]), "--as-of", "2026-06-30", "--json"]) == 0
    ok = json.loads(capsys.readouterr().out)
    assert (ok["status"], ok["self_approved"]) == ("approved", True)  # local mode: one operator, recorded as self-approved
    assert main(["limits", "approve", str(req["request_id"]), "--json"]) == 1
    capsys.readouterr()
    assert main(["holds", "--as-of", "2026-06-30", "--json"]) == 0
    h = json.loads(capsys.readouterr().out)
    assert [(r["order_id"], r["status"]) for r in h["holds"]] == [("O2", "held"), ("O3", "held"), ("O4", "held")]
    assert main(["holds", "release", "O3", "--reason", "prepaid", "--as-of", "2026-06-30", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"id", "seq"}
    assert main(["limits", "reviews", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"as_of", "reviews"}
    assert main(["audit", "verify"]) == 0
    with DataDir(tmp_path / "data").trail().begin() as conn:  # the command's store: the data folder's, or O2C_DB_URL's
        e = audit.events(conn, action="limit.approve")[0]
    assert e["details"]["self_approved"] == "self-approved (local mode)"


def test_one_click_from_a_scenario_makes_requests(eng, store):
    from dashboard.whatif.model import parse_scenario

    sc = parse_scenario(
        {
            "name": "grow enterprise",
            "levers": [{"kind": "limits", "pct": 0.5, "segment": "Enterprise"}, {"kind": "limits", "value": 800, "customer_ids": ["L3"]}],
        }
    )
    made, skipped = limits.from_scenario(store, ADA, ctx(), eng, sc, "grow-enterprise.json", "what-if: grow enterprise")
    # L1 (Enterprise) 10,000 x 1.5 = 15,000; L3 set to 800; L2 has no limit and keeps none
    req = limits.stored(store).sort("customer_id")
    assert req.select("customer_id", "current_limit", "requested_limit", "scenario_id", "status").rows() == [
        ("L1", 10_000.0, 15_000.0, "grow-enterprise.json", "pending"),
        ("L3", 1_000.0, 800.0, "grow-enterprise.json", "pending"),
    ]
    assert len(made) == 2 and skipped == []
    # a second click skips both: one open request per customer
    again, skipped = limits.from_scenario(store, ADA, ctx(), eng, sc, "grow-enterprise.json", "again")
    assert again == [] and len(skipped) == 2 and "already has a pending limit request" in skipped[0]
    with store.begin() as conn:
        assert [e["details"]["scenario_id"] for e in audit.events(conn, action="limit.request")] == ["grow-enterprise.json"] * 2
