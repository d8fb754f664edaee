"""Held orders a credit manager released or rejected, in the what-if baseline (credit-decisions.md "Held orders":
a released order counts as released in the what-if baseline and uses up headroom first; whatif.md "Limits"),
worked by hand on DECISIONS_LEDGER; and the studio's one click on a limit lever (dashboard/decisions/limits.py
from_scenario) with the studio's own baseline."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dashboard.decisions import holds, limits
from dashboard.decisions.apply import NO_DECISIONS, apply_workbench, workbench_version
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.whatif import model as S
from dashboard.workbench import audit
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import DECISIONS_LEDGER, DECISIONS_T, STORE_BACKENDS, load, workbench_store

T = DECISIONS_T
ADA = User("ada", "admin", "local")


@pytest.fixture
def eng(tmp_path):
    return load(tmp_path, DECISIONS_LEDGER, as_of=T)


@pytest.fixture(params=STORE_BACKENDS)
def store(request, tmp_path):
    """SQLite, and PostgreSQL when O2C_TEST_POSTGRES_URL is set (a schema of its own)."""
    yield from workbench_store(request.param, tmp_path)


def reopened(eng: Engine, store: Store) -> Engine:
    """The engine as the dashboard and every command open it: with the team's decisions applied."""
    fresh = Engine.open(eng.snapshot, Settings())
    apply_workbench(fresh, store)
    return fresh


def blocked(b: S.Baseline, sc: S.Scenario | None = None) -> tuple[dict, dict]:
    s = S.run(b, sc or S.Scenario())
    side = lambda x: (x["blocked_orders_value"], x["blocked_orders_count"])  # noqa: E731
    return side(s.summary["baseline"]), side(s.summary["scenario"])


def test_released_and_rejected_orders_in_the_what_if_baseline(eng, store):
    ctx = Context(T, eng.snapshot.id)
    rid = int(limits.request(store, ADA, ctx, eng, "L1", 22_000, "order book doubled").id)
    limits.approve(store, ADA, ctx, eng, rid)
    before = reopened(eng, store)
    # L1: limit 22,000 - AR 18,250 = 3,750 of headroom; O1 2,000 fits, O2 (running 5,000) and O3 (6,000) do not;
    # L3: limit 1,000 - AR 1,500 = -500: O4 500 blocked. Blocked: 3,000 + 1,000 + 500 = 4,500 in 3 orders.
    assert blocked(S.baseline(before, T))[0] == (4_500.0, 3)

    key = workbench_version(store)
    holds.release(store, ADA, ctx, before, "O2", "director's call", until=dt.date(2026, 7, 5))
    holds.reject(store, ADA, ctx, before, "O4", "customer cancelled")
    assert workbench_version(store) not in (key, NO_DECISIONS)  # the pages reopen their engine after a decision on an order
    after = reopened(eng, store)
    b = S.baseline(after, T)
    # O2's 3,000 released by the decision uses the headroom first: 3,750 - 3,000 = 750 left; O1 2,000 no longer fits,
    # nor O3 (running 3,000 of the rule's orders); O4 is rejected: blocked whatever the headroom.
    # Blocked: O1 2,000 + O3 1,000 + O4 500 = 3,500 in 3 orders; O2 is not blocked.
    assert blocked(b)[0] == (3_500.0, 3)
    # the same orders the Held orders list holds or rejected at T (one rule)
    h = holds.holds(after, store, T)
    assert sorted(h.filter(pl.col("status").is_in(["held", "rejected"]))["order_id"].to_list()) == ["O1", "O3", "O4"]
    assert h.filter(pl.col("status") == "released")["order_id"].to_list() == ["O2"]

    # A scenario: L1's limit set to 30,000 and L3's to 10,000. L1: 30,000 - 18,250 = 11,750 - O2 3,000 released first
    # = 8,750: O1 2,000 and O3 (running 3,000) fit; L3: O4 stays rejected (8,500 of headroom or not): 500 in 1 order.
    sc = S.parse_scenario(
        {"levers": [{"kind": "limits", "value": 30_000, "customer_ids": ["L1"]}, {"kind": "limits", "value": 10_000, "customer_ids": ["L3"]}]}
    )
    assert blocked(b, sc) == ((3_500.0, 3), (500.0, 1))
    # A limit of 0 for L1 (-100 %): headroom -18,250; the released O2 stays released, O1 and O3 are blocked: 3,500 in 3.
    cut = S.parse_scenario({"levers": [{"kind": "limits", "pct": -1, "customer_ids": ["L1"]}]})
    assert blocked(b, cut)[1] == (3_500.0, 3)

    # After its until-date (5 July) O2's release lapses: at 6 July it is back under the rule, as on the Held orders
    # list: O1 2,000 fits the 3,750, O2 (running 5,000) and O3 (6,000) do not; O4 rejected: 3,000 + 1,000 + 500.
    assert blocked(S.baseline(after, dt.date(2026, 7, 6)))[0] == (4_500.0, 3)
    later = holds.holds(after, store, dt.date(2026, 7, 6), everything=True)
    assert dict(later.select("order_id", "status").iter_rows()) == {"O1": "within limit", "O2": "held", "O3": "held", "O4": "rejected"}


def test_the_decisions_reach_the_cli_what_if(tmp_path, eng, capsys, monkeypatch):
    """`o2c whatif` opens the snapshot with the decisions too (dashboard/cli.py: may_have_decisions, apply_workbench)."""
    import json

    from dashboard.cli import main
    from dashboard.workbench.store import store_url

    data = tmp_path / "data"
    wb = Store(store_url(data))  # the store the command will open (O2C_DB_URL's when the suite runs on PostgreSQL)
    ctx = Context(T, eng.snapshot.id)
    holds.release(wb, ADA, ctx, eng, "O4", "prepaid")
    wb.dispose()
    monkeypatch.setenv("O2C_DATA", str(data))
    (tmp_path / "none.json").write_text('{"levers": []}')
    assert main(["whatif", "--scenario", str(tmp_path / "none.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # master limits: L1's three orders (6,000) blocked; L3's O4 released by the decision
    assert (out["baseline"]["blocked_orders_value"], out["baseline"]["blocked_orders_count"]) == (6_000.0, 3)


def test_one_click_takes_the_studio_baseline_and_checks_the_role(eng, store):
    b = S.baseline(eng, T)
    sc = S.parse_scenario({"name": "grow", "levers": [{"kind": "limits", "pct": 0.5}]})
    ctx = Context(T, eng.snapshot.id)
    with pytest.raises(AccessDenied, match="request limit changes"):
        limits.from_scenario(store, User("vic", "collector", "oidc"), ctx, eng, sc, "grow.json", "what-if", base=b)
    made, skipped = limits.from_scenario(store, User("anna", "credit_analyst", "oidc"), ctx, eng, sc, "grow.json", "what-if", base=b)
    # L1 10,000 and L3 1,000 x 1.5; L2 has no limit and keeps none: one request each, with the scenario's id
    assert limits.stored(store).select("customer_id", "requested_limit", "scenario_id").rows() == [("L1", 15_000.0, "grow.json"), ("L3", 1_500.0, "grow.json")]
    assert len(made) == 2 and skipped == []
    with store.begin() as conn:
        assert [e["object_id"] for e in audit.events(conn, action="limit.request")] == ["2", "1"]
