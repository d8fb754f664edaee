"""Collections in the workbench store (migration 0002, roles, audit), on SQLite and, when
O2C_TEST_POSTGRES_URL is set, on PostgreSQL too."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from alembic import command

from dashboard.collections import followup
from dashboard.collections import promises as P
from dashboard.workbench import audit, notes
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.store import Store, _alembic
from dashboard.workbench.timeline import timeline
from tests.fixtures import COLLECTIONS_T, PROMISE_LEDGER, STORE_BACKENDS, load, workbench_url

T = COLLECTIONS_T
ADMIN = User("ada", "admin", "oidc")
CARL = User("carl", "collector", "oidc")
OLGA = User("olga", "collector", "oidc")
VIEWER = User("vic", "viewer", "oidc")


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
    return load(tmp_path, PROMISE_LEDGER, as_of=T)


def test_upgrade_from_an_0001_store_keeps_its_data(url):
    old = Store(url, upgrade=False)
    with old.engine.begin() as conn:
        command.upgrade(_alembic(conn), "0001")
    ctx = notes.Context(T, "S1")
    # Written as 0001 held it (today's code reads today's columns: a store is upgraded before it is used).
    with old.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO customer_settings (customer_id, collector, updated_by, updated_at, version) VALUES ('P1', 'carl', 'ada', '2026-06-30T09:00:00Z', 1)"
            )
        )
    notes.log_contact(old, CARL, ctx, "P1", "call", "promise", "pays Friday")
    with old.begin() as c:
        assert audit.verify(c) is None
    assert old.upgrade() == ("0001", "0005")  # to the newest migration, 0005_overlays
    # the collector and the contact are still there, the new columns empty, the chain unbroken
    assert followup.followup_of(old, "P1") | {} == {
        "customer_id": "P1",
        "collector": "carl",
        "resubmission_date": None,
        "dunning_block_reason": None,
        "dunning_block_by": None,
        "dunning_block_on": None,
        "version": 1,
    }
    assert [e["kind"] for e in notes.workbench_events(old, "P1")] == ["contact"]
    followup.set_followup(old, CARL, ctx, "P1", resubmission=T, dunning_block="disputes the price")
    with old.begin() as c:
        assert audit.verify(c) is None
        assert c.execute(sa.text("SELECT count(*) FROM promises")).scalar_one() == 0
    fu = followup.followup_of(old, "P1")
    assert (fu["collector"], fu["resubmission_date"], fu["dunning_block_reason"], fu["dunning_block_by"], fu["version"]) == (
        "carl",
        T,
        "disputes the price",
        "carl",
        2,
    )
    # and back: 0002's downgrade drops what it added, the collector stays
    with old.engine.begin() as conn:
        command.downgrade(_alembic(conn), "0001")
    with old.begin() as c:
        names = set(sa.inspect(c).get_table_names())
        cols = {col["name"] for col in sa.inspect(c).get_columns("customer_settings")}
        assert "promises" not in names and "resubmission_date" not in cols
        assert c.execute(sa.text("SELECT collector FROM customer_settings WHERE customer_id = 'P1'")).scalar_one() == "carl"
    old.dispose()


def test_a_viewer_records_nothing(store, eng):
    ctx = notes.Context(T, eng.snapshot.id)
    with pytest.raises(AccessDenied, match="vic may not record promises to pay: this needs the role collector"):
        P.record(store, VIEWER, ctx, eng, "P1", 100, T)
    with pytest.raises(AccessDenied, match="vic may not set resubmission dates and dunning blocks"):
        followup.set_followup(store, VIEWER, ctx, "P1", resubmission=T)
    with store.begin() as c:
        assert c.execute(sa.text("SELECT count(*) FROM audit")).scalar_one() == 0
    assert P.stored(store).height == 0 and followup.followup_of(store, "P1")["version"] == 0


def test_a_collector_works_only_their_own_customers(store, eng):
    ctx = notes.Context(T, eng.snapshot.id)
    notes.assign(store, ADMIN, ctx, "P1", "olga")
    with pytest.raises(P.Refused, match=r"P1 is assigned to olga \(by hand\): carl may record promises to pay only for their own customers"):
        P.record(store, CARL, ctx, eng, "P1", 100, T)
    with pytest.raises(P.Refused, match="P1 is assigned to olga"):
        followup.set_followup(store, CARL, ctx, "P1", dunning_block="asked for a credit note")
    w = P.record(store, OLGA, ctx, eng, "P1", 250.5, dt.date(2026, 7, 3), invoice_ids=["I2"], note="after the call")
    P.record(store, CARL, ctx, eng, "P2", 10, T)  # unassigned: any collector may
    followup.set_followup(store, OLGA, ctx, "P1", dunning_block="asked for a credit note", data_sha256="ab" * 32)
    with store.begin() as c:
        ev = audit.events(c)
    assert [(e["action"], e["user"], e["role"]) for e in ev] == [
        ("customer.followup", "olga", "collector"),
        ("promise.add", "carl", "collector"),
        ("promise.add", "olga", "collector"),
        ("customer.assign", "ada", "admin"),
    ]
    assert ev[2]["object_id"] == "P1" and ev[2]["snapshot_id"] == eng.snapshot.id
    assert ev[2]["details"] | {} == {
        "promise_id": w.id,
        "amount": 250.5,
        "made_on": "2026-06-30",
        "promised_date": "2026-07-03",
        "invoice_ids": ["I2"],
        "note": "after the call",
        "contact_id": None,
        "data_sha256": None,
    }
    assert ev[0]["details"]["after"]["dunning_block_reason"] == "asked for a credit note" and ev[0]["details"]["data_sha256"] == "ab" * 32
    stored = P.stored(store)
    assert stored.select("customer_id", "amount", "invoice_ids", "created_by").rows() == [("P1", 250.5, ["I2"], "olga"), ("P2", 10.0, [], "carl")]


def test_a_stale_follow_up_is_refused_and_a_failed_audit_leaves_nothing(store, eng, monkeypatch):
    ctx = notes.Context(T, eng.snapshot.id)
    followup.set_followup(store, CARL, ctx, "P1", resubmission=T, version=0)
    with pytest.raises(followup.Conflict, match=r"changed by carl at \d\d:\d\d UTC since you opened it"):
        followup.set_followup(store, CARL, ctx, "P1", resubmission=T + dt.timedelta(days=1), version=0)

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        P.record(store, CARL, ctx, eng, "P1", 100, T)
    with pytest.raises(RuntimeError):
        followup.set_followup(store, CARL, ctx, "P1", dunning_block="x", version=1)
    assert P.stored(store).height == 0 and followup.followup_of(store, "P1")["dunning_block_reason"] is None


def test_a_call_that_makes_a_promise_is_one_write(store, eng, monkeypatch):
    ctx = notes.Context(T, eng.snapshot.id)
    w = P.record(store, CARL, ctx, eng, "P1", 400, dt.date(2026, 7, 3), note="pays Friday", contact_channel="call")
    [contact] = notes.workbench_events(store, "P1")
    assert (contact["kind"], contact["detail"], contact["by"]) == ("contact", "Call, promise: pays Friday", "carl")
    with store.begin() as c:
        ev = audit.events(c)
    assert [e["action"] for e in ev] == ["promise.add", "contact.add"]
    assert ev[0]["details"]["contact_id"] == contact["id"] and ev[0]["details"]["promise_id"] == w.id
    with pytest.raises(P.Refused, match="channel 'fax' is not one of call"):
        P.record(store, CARL, ctx, eng, "P1", 400, T, contact_channel="fax")
    # the promise's audit entry fails: neither the contact nor the promise is kept
    real = audit.append

    def fail_on_promise(conn, user, action, *a, **k):
        if action == "promise.add":
            raise RuntimeError("disk full")
        return real(conn, user, action, *a, **k)

    monkeypatch.setattr(audit, "append", fail_on_promise)
    with pytest.raises(RuntimeError):
        P.record(store, CARL, ctx, eng, "P1", 100, T, contact_channel="email")
    assert P.stored(store).height == 1 and len(notes.workbench_events(store, "P1")) == 1


def test_promises_on_the_customer_timeline(store, eng):
    ctx = notes.Context(T, eng.snapshot.id)
    P.record(store, CARL, ctx, eng, "P1", 1000, dt.date(2026, 6, 27), made_on=dt.date(2026, 6, 20))
    docs = pl.DataFrame(
        {
            "invoice_id": ["I1"],
            "invoice_date": [dt.date(2026, 5, 1)],
            "due_date": [dt.date(2026, 5, 31)],
            "amount_base": [1000.0],
            "paid_date": [dt.date(2026, 6, 29)],
            "days_late": [29],
        }
    )
    ev = P.evaluate(eng, P.stored(store), T, 2)
    tl = timeline(store, "P1", docs, promises=ev)
    assert tl.select("date", "kind", "what", "amount_base", "detail", "by").rows()[:2] == [
        (dt.date(2026, 6, 29), "settled", "Settled I1", 1000.0, "29 days late", "ledger"),
        (dt.date(2026, 6, 20), "promise", "Promise 1", 1000.0, "promised for 2026-06-27: kept, paid 1,000.00", "carl"),
    ]
    # without the evaluation (a page that has none at hand): what was promised only
    assert timeline(store, "P1", docs, kinds=("promise",))["detail"].to_list() == ["promised for 2026-06-27"]


def test_pools_decide_the_worklists_collector_and_who_may_work_a_customer(store, tmp_path):
    """A pool takes the SMB customers for olga; carl's hand assignment of C2 wins over the pool."""
    from dashboard.collections import worklist as wl
    from dashboard.settings import Settings
    from dashboard.workbench.assignment import Roster
    from tests.fixtures import WORKLIST_LEDGER

    settings = Settings(access={"pools": [{"collector": "olga", "segments": ["SMB"]}]})
    e = load(tmp_path, WORKLIST_LEDGER, settings=settings, as_of=T)
    ctx = notes.Context(T, e.snapshot.id, None, Roster.of(e))
    notes.assign(store, ADMIN, ctx, "C2", "carl")
    rows = wl.worklist(e, store, T).rows
    assert dict(zip(rows["customer_id"], rows["collector"])) == {"C1": "olga", "C2": "carl"}
    assert wl.worklist(e, store, T, collector="olga").rows["customer_id"].to_list() == ["C1"]
    with pytest.raises(P.Refused, match="C1 is assigned to olga"):
        P.record(store, CARL, ctx, e, "C1", 100, T)
    P.record(store, OLGA, ctx, e, "C1", 100, T)  # her pool's customer
