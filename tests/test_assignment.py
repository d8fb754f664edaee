"""Collector pools and optimistic versions of the workbench (access.md; collections.md "Assignment"),
on SQLite and, when O2C_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import threading

import polars as pl
import pytest
import sqlalchemy as sa

from dashboard.settings import CollectorPool, Settings, SettingsError, load_settings
from dashboard.workbench import audit, notes
from dashboard.workbench.assignment import Roster, all_collectors, collectors, effective_collector, same_person
from dashboard.workbench.errors import Conflict
from dashboard.workbench.identity import User
from dashboard.workbench.schema import customer_settings
from dashboard.workbench.versions import stale
from tests.fixtures import POOL_LEDGER, STORE_BACKENDS, load, workbench_store

ADA = User("ada", "admin", "oidc")
BEN = User("ben", "admin", "oidc")
OLGA = User("olga", "collector", "oidc")
CARL = User("carl", "collector", "oidc")
ANNA = User("anna", "credit_analyst", "oidc")

# First match wins, in file order; values match whatever their case and spaces (" smb" is SMB).
POOLS = (
    CollectorPool(collector="olga", segments=(" smb",), regions=("EMEA",)),
    CollectorPool(collector="carl", segments=("SMB",)),
    CollectorPool(collector="pia", regions=("emea",)),
)


@pytest.fixture(params=STORE_BACKENDS)
def store(request, tmp_path):
    yield from workbench_store(request.param, tmp_path)


@pytest.fixture
def roster(tmp_path):
    eng = load(tmp_path, POOL_LEDGER)
    return Roster(POOLS, Roster.of(eng).master)


def ctx(roster: Roster) -> notes.Context:
    return notes.Context(dt.date(2026, 9, 1), "S1", "d" * 64, roster)


def as_rows(frame: pl.DataFrame) -> list[tuple]:
    return frame.select("customer_id", "collector", "source", "pool").rows()


def test_pools_by_hand_first_match_wins_and_a_hand_assignment_wins_over_any_pool(store, roster):
    # C1 SMB/EMEA: olga's pool asks for both and comes first (carl's SMB and pia's EMEA would match too).
    # C2 SMB/AMER: not olga's (region), carl's (segment SMB). C3 Enterprise/EMEA: pia's (region EMEA).
    # C4 Public Sector/APAC: no pool. C5 has neither in the master (ingest writes "Unassigned"): no pool.
    assert as_rows(all_collectors(store, roster)) == [
        ("C1", "olga", "pool", "segment SMB, region EMEA"),
        ("C2", "carl", "pool", "segment SMB"),
        ("C3", "pia", "pool", "region EMEA"),
        ("C4", None, None, None),
        ("C5", None, None, None),
    ]
    notes.assign(store, ADA, ctx(roster), "C2", "zoe")
    notes.assign(store, ADA, ctx(roster), "C4", "zoe")
    got = as_rows(all_collectors(store, roster))
    assert got[1] == ("C2", "zoe", "assigned", None) and got[3] == ("C4", "zoe", "assigned", None)
    e = effective_collector(store, roster, "C2")
    assert (e.collector, e.source, e.version) == ("zoe", "assigned", 1)
    assert e.describe() == "collector zoe (assigned by hand)"
    assert effective_collector(store, roster, "C3").describe() == "collector pia (pool: region EMEA)"
    # Clearing the hand assignment gives the customer back to its pool (not to nobody).
    notes.assign(store, ADA, ctx(roster), "C2", "", version=1)
    e = effective_collector(store, roster, "C2")
    assert (e.collector, e.source, e.pool, e.version) == ("carl", "pool", "segment SMB", 2)
    # A customer the snapshot does not know: only a hand assignment could place it.
    assert effective_collector(store, roster, "NOPE").source is None


def test_one_customer_and_all_customers_agree_on_a_generated_master(store):
    rng = random.Random(7)
    segs, regs = ["SMB", "Mid-Market", "Enterprise", None], ["EMEA", "AMER", "APAC", None]
    master = pl.DataFrame(
        {
            "customer_id": [f"K{i:04d}" for i in range(300)],
            "segment": [rng.choice(segs) for _ in range(300)],
            "region": [rng.choice(regs) for _ in range(300)],
        },
        schema={"customer_id": pl.Utf8, "segment": pl.Utf8, "region": pl.Utf8},
    )
    pools = tuple(
        CollectorPool(collector=f"c{i}", segments=tuple(rng.sample(segs[:3], rng.randint(0, 2))), regions=tuple(rng.sample(regs[:3], rng.randint(1, 2))))
        for i in range(6)
    )
    roster = Roster(pools, lambda cid: master if cid is None else master.filter(pl.col("customer_id") == cid))
    given: dict[str, str] = {}
    for cid in rng.sample(master["customer_id"].to_list(), 40):
        given[cid] = rng.choice(["h1", "h2", ""])  # '' clears: back to the pool
        notes.assign(store, ADA, ctx(roster), cid, given[cid])
    hand = {cid: name for cid, name in given.items() if name}
    every = all_collectors(store, roster)
    assert every["customer_id"].to_list() == master["customer_id"].to_list()
    keys = {cid: (seg, reg) for cid, seg, reg in master.rows()}
    for r in every.iter_rows(named=True):  # the write check's answer is the frame's, customer by customer
        e = effective_collector(store, roster, r["customer_id"])
        assert (e.collector, e.source, e.pool, e.version) == (r["collector"], r["source"], r["pool"], r["version"])
        # an oracle written plainly: a hand assignment, else the first pool holding the segment and the region
        seg, reg = keys[r["customer_id"]]
        first = next((p for p in pools if (not p.segments or seg in p.segments) and (not p.regions or reg in p.regions)), None)
        assert r["collector"] == hand.get(r["customer_id"], first.collector if first else None)
    assert 0 < len(hand) <= 40 and every["source"].null_count() > 0 and (every["source"] == "pool").sum() > 0
    with store.begin() as conn:  # an empty master is an empty frame, not an error
        assert collectors(conn, pools, master.head(0)).height == 0


def test_a_collector_writes_only_for_the_customers_of_their_pool(store, roster):
    c = ctx(roster)
    with pytest.raises(notes.Refused, match=r"C1 is assigned to olga \(through the pool of segment SMB, region EMEA\): carl may log contacts only"):
        notes.log_contact(store, CARL, c, "C1", "call", "reached")
    notes.log_contact(store, CARL, c, "C2", "call", "reached")  # carl's pool
    notes.add_note(store, OLGA, c, "C4", "no pool: anyone may")
    notes.add_note(store, ANNA, c, "C1", "analysts are not bound to pools")
    notes.assign(store, ADA, c, "C1", "carl")  # by hand: wins over olga's pool
    notes.log_contact(store, CARL, c, "C1", "email", "no answer")
    with pytest.raises(notes.Refused, match=r"C1 is assigned to carl \(by hand\)"):
        notes.add_note(store, OLGA, c, "C1", "not mine any more")
    with store.begin() as conn:
        ev = audit.events(conn)
    assert [e["action"] for e in ev] == ["contact.add", "customer.assign", "note.add", "note.add", "contact.add"]
    assert all(e["snapshot_id"] == "S1" and e["details"]["data_sha256"] == "d" * 64 for e in ev)
    assert ev[1]["details"] == {"collector": "carl", "before": None, "version": 1, "data_sha256": "d" * 64}


def test_a_stale_assignment_is_refused_with_who_and_when_and_writes_nothing(store, roster):
    c = ctx(roster)
    seen_by_ada = effective_collector(store, roster, "C3").version
    seen_by_ben = effective_collector(store, roster, "C3").version
    assert seen_by_ada == seen_by_ben == 0  # nobody assigned C3 by hand yet
    notes.assign(store, ADA, c, "C3", "olga", version=seen_by_ada)
    with pytest.raises(Conflict, match=r"^the collector of C3 was changed by ada at \d\d:\d\d UTC since you opened it: reload, then edit again\.$"):
        notes.assign(store, BEN, c, "C3", "carl", version=seen_by_ben)
    again = effective_collector(store, roster, "C3")
    assert (again.collector, again.version) == ("olga", 1)
    notes.assign(store, BEN, c, "C3", "carl", version=again.version)  # after a reload it goes through
    with pytest.raises(Conflict, match="changed by ben"):
        notes.assign(store, ADA, c, "C3", "pia", version=1)
    with store.begin() as conn:
        assert [(e["user"], e["details"]["collector"]) for e in audit.events(conn, action="customer.assign")] == [("ben", "carl"), ("ada", "olga")]


def race(store, c: notes.Context, seen: int, *writers: tuple[User, str]) -> dict[str, object]:
    """Each user assigns C4 from the same version, released at the same moment; what each got back."""
    gate = threading.Barrier(len(writers))
    results: dict[str, object] = {}

    def write(user: User, who: str) -> None:
        gate.wait()
        try:
            results[user.name] = notes.assign(store, user, c, "C4", who, version=seen)
        except Exception as exc:
            results[user.name] = exc

    threads = [threading.Thread(target=write, args=w) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("start", ["no row yet", "row at version 1"])
def test_two_users_racing_one_wins_the_other_is_told(store, roster, start):
    """Both read the same version, then write at the same moment: exactly one write lands."""
    c = ctx(roster)
    if start == "row at version 1":
        notes.assign(store, ADA, c, "C4", "pia")
    for round_ in range(5):
        seen = effective_collector(store, roster, "C4").version
        results = race(store, c, seen, (ADA, f"olga{round_}"), (BEN, f"carl{round_}"))
        won = [n for n, r in results.items() if isinstance(r, notes.Written)]
        lost = [r for r in results.values() if not isinstance(r, notes.Written)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], Conflict) and f"changed by {won[0]} at" in str(lost[0])
        now = effective_collector(store, roster, "C4")
        assert now.version == seen + 1 and now.collector == (f"olga{round_}" if won == ["ada"] else f"carl{round_}")
    with store.begin() as conn:
        assert audit.verify(conn) is None
        assert len(audit.events(conn, action="customer.assign")) == 5 + (start == "row at version 1")


def test_the_refusal_names_who_and_when_from_the_row():
    assert stale("note 7", {"updated_by": "olga", "updated_at": "2026-12-01T14:05:09.123456Z"}) == (
        "note 7 was changed by olga at 14:05 UTC since you opened it: reload, then edit again."
    )
    assert stale("note 7", None) == "note 7 was removed since you opened it: reload."


def test_a_versioned_row_that_vanished_is_refused(store, roster):
    notes.assign(store, ADA, ctx(roster), "C1", "carl")
    with store.begin() as conn:
        conn.execute(sa.delete(customer_settings))
    with pytest.raises(Conflict, match="the collector of C1 was removed since you opened it: reload"):
        notes.assign(store, ADA, ctx(roster), "C1", "olga", version=1)


def test_pools_and_cli_users_in_settings_are_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("O2C_SETTINGS", raising=False)
    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "settings.toml").write_text(
        '[access]\ncli_users = { "alice@corp.com" = "collector" }\n\n'
        '[[access.pools]]\ncollector = "alice@corp.com"\nsegments = ["SMB"]\n\n'
        '[[access.pools]]\ncollector = "bob@corp.com"\nregions = ["EMEA", "APAC"]\n'
    )
    s = load_settings(ok)
    assert s.access.pools == (
        CollectorPool(collector="alice@corp.com", segments=("SMB",)),
        CollectorPool(collector="bob@corp.com", regions=("EMEA", "APAC")),
    )
    assert s.access.cli_users == {"alice@corp.com": "collector"} and Settings().access.pools == ()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "settings.toml").write_text('[access]\ncli_users = { "x@corp.com" = "boss" }\n\n[[access.pools]]\ncollector = "bob"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(bad)
    text = str(err.value)
    assert "setting 'access.pools.0'" in text and "a pool needs segments, regions or both" in text
    assert "setting 'access.cli_users'" in text and "unknown role(s) boss" in text


def test_a_collector_is_the_same_person_whatever_the_case_of_their_address(store, roster):
    assert same_person("Olga@Corp.com", " olga@corp.com") and not same_person("olga", None)
    notes.assign(store, ADA, ctx(roster), "C4", "Olga@Corp.com")
    notes.add_note(store, User("olga@corp.com", "collector", "oidc"), ctx(roster), "C4", "mine")
    with pytest.raises(notes.Refused):
        notes.add_note(store, User("olgav@corp.com", "collector", "oidc"), ctx(roster), "C4", "not mine")
