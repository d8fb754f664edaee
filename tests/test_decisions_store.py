"""Roles and four eyes for limit decisions in the workbench store, on SQLite and, when O2C_TEST_POSTGRES_URL
is set, on PostgreSQL (a schema per test): access.md "Segregation of duties", credit-decisions.md."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa
from alembic import command

from dashboard.decisions import limits
from dashboard.disputes import cases
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from dashboard.workbench.schema import limit_requests
from dashboard.workbench.store import Store, _alembic
from tests.fixtures import DECISIONS_LEDGER, DECISIONS_T, STORE_BACKENDS, load, workbench_url

T = DECISIONS_T
ANNA = User("anna", "credit_analyst", "oidc")
MONA = User("mona", "credit_manager", "oidc")
MAX = User("max", "credit_manager", "oidc")
VIC = User("vic", "viewer", "oidc")
CTX = Context(T, "S1")


@pytest.fixture(params=STORE_BACKENDS)
def url(request, tmp_path):
    """A store URL of its own: a SQLite file, or a fresh schema on the PostgreSQL server (dropped after)."""
    yield from workbench_url(request.param, tmp_path)


@pytest.fixture
def store(url):
    s = Store(url)
    yield s
    s.dispose()


@pytest.fixture
def eng(tmp_path):
    # four eyes above 5,000 (base currency)
    e = load(tmp_path, DECISIONS_LEDGER, as_of=T)
    return Engine(e.con, e.snapshot, Settings(access={"four_eyes_above": 5000}))


def test_upgrade_from_an_0002_store(url):
    old = Store(url, upgrade=False)
    with old.engine.begin() as conn:
        command.upgrade(_alembic(conn), "0002")
    assert old.upgrade() == ("0002", "0005")
    assert {"dispute_cases", "limit_requests", "approvals", "reviews", "hold_decisions"} <= set(sa.inspect(old.engine).get_table_names())
    old.dispose()


def test_roles_and_four_eyes(store, eng):
    with pytest.raises(AccessDenied, match="credit analyst"):
        limits.request(store, VIC, CTX, eng, "L1", 20_000, "growth")
    # 20,000 - 10,000 = 10,000 above 5,000: two approvers
    rid = int(limits.request(store, ANNA, CTX, eng, "L1", 20_000, "growth", scenario_id="sc-7").id)
    with pytest.raises(AccessDenied, match="credit manager"):
        limits.approve(store, ANNA, CTX, eng, rid)
    boss = User("anna", "credit_manager", "oidc")  # the requester, with a manager's role: still not her own
    with pytest.raises(Refused, match="nobody approves their own"):
        limits.approve(store, boss, CTX, eng, rid)
    limits.approve(store, MONA, CTX, eng, rid)
    assert limits.request_row(store, rid)["status"] == "pending"  # one of two
    with pytest.raises(Refused, match="already approved"):
        limits.approve(store, MONA, CTX, eng, rid)
    limits.approve(store, MAX, CTX, eng, rid)
    r = limits.request_row(store, rid)
    assert (r["status"], r["approvals_needed"], r["self_approved"], r["scenario_id"], r["current_limit"]) == ("approved", 2, False, "sc-7", 10_000.0)
    assert limits.effective_limits(store, eng).filter(pl.col("customer_id") == "L1")["effective_limit"][0] == 20_000.0
    # 22,000 - 20,000 = 2,000, not above 5,000: one approver is enough
    small = int(limits.request(store, ANNA, CTX, eng, "L1", 22_000, "more").id)
    with pytest.raises(Refused, match="one open request per customer"):
        limits.request(store, ANNA, CTX, eng, "L1", 23_000, "more still")
    limits.approve(store, MAX, CTX, eng, small)
    assert limits.request_row(store, small)["status"] == "approved"
    # a rejection needs a reason and a manager who is not the requester
    third = int(limits.request(store, ANNA, CTX, eng, "L3", 9_000, "new shop").id)
    with pytest.raises(Refused, match="reason is empty"):
        limits.reject(store, MONA, CTX, eng, third, " ")
    limits.reject(store, MONA, CTX, eng, third, "too thin a file")
    with pytest.raises(Refused, match="is rejected"):
        limits.approve(store, MAX, CTX, eng, third)
    with store.begin() as conn:
        assert audit.verify(conn) is None
        acts = [e["action"] for e in audit.events(conn, object_type="limit_request")]
    assert acts.count("limit.approve") == 3 and acts.count("limit.request") == 3 and acts.count("limit.reject") == 1


def test_local_mode_self_approval_is_recorded(store, eng):
    me = User("ada", "admin", "local")
    rid = int(limits.request(store, me, CTX, eng, "L1", 50_000, "big order").id)  # above 5,000: waived in local mode
    limits.approve(store, me, CTX, eng, rid)
    r = limits.request_row(store, rid)
    assert (r["status"], r["approvals_needed"], r["self_approved"]) == ("approved", 1, True)
    with store.begin() as conn:
        (e,) = audit.events(conn, action="limit.approve")
    assert e["details"]["self_approved"] == "self-approved (local mode)" and e["snapshot_id"] == "S1"


def test_a_stale_decision_is_refused_and_leaves_nothing(store, eng):
    rid = int(limits.request(store, ANNA, CTX, eng, "L3", 2_000, "ok").id)
    with store.begin() as conn:
        v = conn.execute(sa.select(limit_requests.c.version).where(limit_requests.c.request_id == rid)).scalar_one()
        n = len(audit.events(conn))
    limits.approve(store, MONA, CTX, eng, rid, version=v)
    rid2 = int(limits.request(store, ANNA, CTX, eng, "L1", 12_000, "ok").id)
    with pytest.raises(Conflict, match="changed by someone else"):
        limits.approve(store, MONA, CTX, eng, rid2, version=v + 5)
    with store.begin() as conn:
        assert len(audit.events(conn)) == n + 2  # the approval and the second request; the refused approval left nothing
        assert audit.verify(conn) is None
    assert limits.request_row(store, rid2)["status"] == "pending"


def test_dispute_roles_on_both_backends(store, eng):
    cid = int(cases.open_case(store, ANNA, Context(T, "S1"), eng, "L1", ["I2"], 1000, "pricing").id)
    with pytest.raises(AccessDenied):
        cases.open_case(store, VIC, Context(T, "S1"), eng, "L1", ["I2"], 10, "pricing")
    with pytest.raises(AccessDenied, match="credit manager"):
        cases.resolve(store, ANNA, Context(T, "S1"), eng, cid, "goodwill", written_off=10)
    cases.resolve(store, MONA, Context(T, "S1"), eng, cid, "goodwill", written_off=1000)  # 1,000, not above 5,000: one manager
    with store.begin() as conn:
        assert [e["action"] for e in audit.events(conn, object_type="dispute_case")] == ["dispute.resolve", "dispute.open"]
        assert audit.verify(conn) is None


def test_the_migrated_tables_are_the_schema(store):
    """Migration 0004 keeps a frozen copy of the tables: today it must build exactly what schema.py declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from dashboard.workbench.schema import metadata

    mine = {"dispute_cases", "dispute_invoices", "dispute_history", "limit_requests", "approvals", "reviews", "hold_decisions"}
    with store.begin() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)

    def table_of(d) -> str | None:
        d = d[0] if isinstance(d, list) else d
        for part in d[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in mine:
                return name
        return d[2] if len(d) > 2 and isinstance(d[2], str) else None

    assert [d for d in diff if table_of(d) in mine] == []
