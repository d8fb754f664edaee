"""The workbench store, roles and audit trail (access.md), on SQLite and, when O2C_TEST_POSTGRES_URL
is set (CI sets it when a server answers on 127.0.0.1:5432), on PostgreSQL too."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import pytest
import sqlalchemy as sa

from dashboard.workbench import audit, notes
from dashboard.workbench.identity import AccessDenied, User, role_from_groups
from tests.fixtures import STORE_BACKENDS, workbench_store

CTX = notes.Context(dt.date(2026, 10, 31), "20261031T000000000-abcd")
ADMIN = User("ada", "admin", "oidc")
COLLECTOR = User("carl", "collector", "oidc")
OTHER = User("olga", "collector", "oidc")
ANALYST = User("anna", "credit_analyst", "oidc")
VIEWER = User("vic", "viewer", "oidc")


@pytest.fixture(params=STORE_BACKENDS)
def store(request, tmp_path):
    yield from workbench_store(request.param, tmp_path)


def rows(store, table):
    with store.begin() as c:
        return c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_first_row_hash_follows_the_spec_by_hand(store):
    with store.begin() as c:
        audit.append(c, ADMIN, "note.add", "customer", "C1", "S1", {"b": 1, "a": "é"}, at="2026-11-01T10:00:00.000000Z")
    with store.begin() as c:
        r = c.execute(sa.text("SELECT prev_hash, hash FROM audit WHERE seq = 1")).one()
    # RFC 8785 by hand: keys sorted, no spaces, UTF-8 as is; prev_hash of the first row is 64 zeros.
    canonical = (
        '{"action":"note.add","at":"2026-11-01T10:00:00.000000Z","details":{"a":"é","b":1},"object_id":"C1",'
        '"object_type":"customer","prev_hash":"' + "0" * 64 + '","role":"admin","seq":1,"snapshot_id":"S1","user":"ada"}'
    )
    assert r.prev_hash == "0" * 64
    assert r.hash == hashlib.sha256(("0" * 64 + canonical).encode("utf-8")).hexdigest()


def test_verify_names_the_first_changed_or_missing_row(store):
    with store.begin() as c:
        for i in range(4):
            audit.append(c, ADMIN, "note.add", "customer", f"C{i}", None, {"i": i})
    with store.begin() as c:
        assert audit.verify(c) is None
        c.execute(sa.text("UPDATE audit SET details = :d WHERE seq = 2"), {"d": json.dumps({"i": 99})})
    with store.begin() as c:
        broken = audit.verify(c)
    assert broken is not None and broken.seq == 2 and "changed" in broken.why
    with store.begin() as c:
        c.execute(sa.text("UPDATE audit SET details = :d WHERE seq = 2"), {"d": json.dumps({"i": 1})})
        assert audit.verify(c) is None
        c.execute(sa.text("DELETE FROM audit WHERE seq = 3"))
    with store.begin() as c:
        broken = audit.verify(c)
    assert broken is not None and broken.seq == 4 and "missing" in broken.why


def test_a_viewer_cannot_write_and_nothing_is_recorded(store):
    with pytest.raises(AccessDenied, match="vic may not add notes: this needs the role collector"):
        notes.add_note(store, VIEWER, CTX, "C1", "called, no answer")
    assert rows(store, "notes") == 0 and rows(store, "audit") == 0


def test_a_collector_works_only_their_own_customers(store):
    notes.assign(store, ADMIN, CTX, "C1", "olga")
    with pytest.raises(notes.Refused, match="C1 is assigned to olga"):
        notes.log_contact(store, COLLECTOR, CTX, "C1", "call", "reached")
    notes.log_contact(store, OTHER, CTX, "C1", "call", "promise", "pays Friday")
    notes.log_contact(store, COLLECTOR, CTX, "C2", "email", "no answer")  # unassigned: anyone may
    notes.add_note(store, ANALYST, CTX, "C1", "analyst's view")  # analysts are not bound to assignments
    with pytest.raises(AccessDenied):
        notes.assign(store, ANALYST, CTX, "C2", "carl")
    with store.begin() as c:
        ev = audit.events(c)
    assert [e["action"] for e in ev] == ["note.add", "contact.add", "contact.add", "customer.assign"]
    assert ev[1]["user"] == "carl" and ev[1]["role"] == "collector" and ev[1]["snapshot_id"] == CTX.snapshot_id
    assert ev[2]["details"] == {"contact_id": 1, "channel": "call", "outcome": "promise", "note": "pays Friday", "business_date": "2026-10-31"}


def test_a_second_edit_of_a_changed_note_is_refused_with_who_and_when(store):
    w = notes.add_note(store, COLLECTOR, CTX, "C1", "first")
    notes.edit_note(store, COLLECTOR, CTX, int(w.id), "second", version=1)
    with pytest.raises(notes.Conflict, match=r"changed by carl at \d\d:\d\d UTC since you opened it: reload"):
        notes.edit_note(store, COLLECTOR, CTX, int(w.id), "stale edit", version=1)
    [ev] = [e for e in notes.workbench_events(store, "C1") if e["kind"] == "note"]
    assert (ev["detail"], ev["version"]) == ("second", 2)


def test_a_write_whose_audit_fails_leaves_nothing(store, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        notes.add_note(store, COLLECTOR, CTX, "C1", "lost?")
    assert rows(store, "notes") == 0


def test_writes_in_one_store_transaction_commit_together_or_not_at_all(store):
    with store.transaction() as tx:
        n = notes.add_note(tx, COLLECTOR, CTX, "C1", "called, no answer")
        c = notes.log_contact(tx, COLLECTOR, CTX, "C1", "call", "no answer")
        with tx.begin() as conn:  # the second write's reads see the first, uncommitted
            assert conn.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 1
    assert (rows(store, "notes"), rows(store, "contacts"), c.seq) == (1, 1, n.seq + 1)
    # The second part refused: the first, already written inside the transaction, is rolled back with it.
    with pytest.raises(notes.Refused, match="assigned to olga"):
        with store.transaction() as tx:
            notes.assign(tx, ADMIN, CTX, "C2", "olga")
            notes.add_note(tx, COLLECTOR, CTX, "C2", "mine?")
    assert (rows(store, "notes"), rows(store, "contacts"), rows(store, "customer_settings"), rows(store, "audit")) == (1, 1, 0, 2)
    with store.begin() as conn:
        assert audit.verify(conn) is None


def test_bad_input_is_refused_in_words(store):
    with pytest.raises(notes.Refused, match="channel 'fax' is not one of call, email"):
        notes.log_contact(store, COLLECTOR, CTX, "C1", "fax", "reached")
    with pytest.raises(notes.Refused, match="the note is empty"):
        notes.add_note(store, COLLECTOR, CTX, "C1", "   ")


def test_concurrent_writers_keep_one_unbroken_chain(store):
    errors = []

    def work(user):
        try:
            for i in range(15):
                notes.add_note(store, user, CTX, f"C{i % 3}", f"{user.name} {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u,)) for u in (ANALYST, ADMIN, User("bob", "credit_manager", "oidc"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with store.begin() as c:
        assert audit.verify(c) is None
        assert [e["seq"] for e in audit.events(c)] == list(range(45, 0, -1))


def test_upgrade_is_idempotent_and_at_head(store):
    before, after = store.upgrade()
    assert before == after == store.head() == "0005"  # 0005_overlays is the newest migration (after 0004_decisions)


def test_roles_from_token_groups_take_the_highest_mapped():
    mapping = {"ar-team": "collector", "credit-leads": "credit_manager", "odd": "superuser"}
    assert role_from_groups(["ar-team", "credit-leads"], mapping) == "credit_manager"
    assert role_from_groups("ar-team", mapping) == "collector"
    assert role_from_groups(["odd", "unknown"], mapping) is None
    assert role_from_groups(None, mapping) is None


def test_timeline_merges_ledger_and_team_events_newest_first(store):
    import polars as pl

    from dashboard.workbench.timeline import timeline

    docs = pl.DataFrame(
        {
            "invoice_id": ["I1", "CN1"],
            "invoice_date": [dt.date(2026, 9, 1), dt.date(2026, 9, 20)],
            "due_date": [dt.date(2026, 10, 1), dt.date(2026, 9, 20)],
            "amount_base": [1000.0, -200.0],
            "paid_date": [dt.date(2026, 10, 13), None],
            "days_late": [12, None],
        }
    )
    notes.log_contact(store, COLLECTOR, notes.Context(dt.date(2026, 10, 5)), "C1", "call", "promise", "pays next week")
    notes.add_note(store, COLLECTOR, notes.Context(dt.date(2026, 10, 20)), "C1", "paid after the call")
    tl = timeline(store, "C1", docs)
    assert tl.select("date", "kind", "what", "detail").rows() == [
        (dt.date(2026, 10, 20), "note", "Note", "paid after the call"),
        (dt.date(2026, 10, 13), "settled", "Settled I1", "12 days late"),
        (dt.date(2026, 10, 5), "contact", "Contact", "Call, promise: pays next week"),
        (dt.date(2026, 9, 20), "credit note", "Credit note CN1", "due 2026-09-20"),
        (dt.date(2026, 9, 1), "invoice", "Invoice I1", "due 2026-10-01"),
    ]
    assert timeline(store, "C1", docs, kinds=("note", "contact"))["kind"].to_list() == ["note", "contact"]
