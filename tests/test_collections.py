"""The collections worklist and promises to pay (collections.md), worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.collections import promises as P
from dashboard.collections import worklist as W
from dashboard.settings import CollectionRule, CollectionsSettings, Settings, SettingsError, load_settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import COLLECTIONS_T, PROMISE_LEDGER, PROMISE_LEDGER_LATER, WORKLIST_LEDGER, load

T = COLLECTIONS_T
ADMIN = User("ada", "admin", "local")
D = dt.date


# ---------------------------------------------------------------------------- the strategy, by hand


def facts_frame(rows: list[dict]) -> pl.DataFrame:
    """Facts as worklist.facts() makes them, written by hand (every column a rule reads)."""
    schema = {
        "customer_id": pl.Utf8,
        "name": pl.Utf8,
        "collector": pl.Utf8,
        "collectible": pl.Float64,
        "overdue": pl.Float64,
        "oldest_dpd": pl.Int64,
        "risk_class": pl.Utf8,
        "exposure": pl.Float64,
        "effective_limit": pl.Float64,
        "broken_365": pl.Int64,
        "last_contact": pl.Date,
        "resubmission_date": pl.Date,
        "next_promised_date": pl.Date,
        "promised_not_due": pl.Float64,
        "promised_open": pl.Float64,
        "dunning_level": pl.Int64,
    }
    blank = {"name": None, "collector": None, "oldest_dpd": None, "risk_class": "A", "exposure": 0.0, "effective_limit": None, "broken_365": 0}
    blank |= {"last_contact": T, "resubmission_date": None, "next_promised_date": None, "promised_not_due": 0.0, "promised_open": 0.0, "dunning_level": 0}
    return pl.DataFrame([blank | {"overdue": r.get("collectible", 0.0)} | r for r in rows], schema=schema)


# Default strategy (collections.md): 30 + 25 + 20 + 15 + 10 + 10 + 20 + 5 = 135 points outside the exit rules.
FACTS = facts_frame(
    [
        # K5 first: the order must come from the rules, not from the input.
        {"customer_id": "K5", "collectible": 8000.0, "risk_class": "E", "exposure": 1.0, "effective_limit": 0.0},
        # every scoring rule but promise_due_within: 30+25+20+15+10+10+20 = 130 -> 100 x 130 / 135 = 96.296 -> 96.3
        {
            "customer_id": "K1",
            "collectible": 12000.0,
            "oldest_dpd": 75,
            "risk_class": "D",
            "exposure": 20000.0,
            "effective_limit": 15000.0,
            "broken_365": 1,
            "last_contact": None,
            "resubmission_date": T,
        },
        # each boundary met: collectible = 10,000, oldest = 60, last contact T - 14, promise due T + 2;
        # no limit (never over it), resubmission tomorrow (not yet), a promise of 3,000 not covering 10,000:
        # 30 + 25 + 10 + 5 = 70 -> 7000 / 135 = 51.85 -> 51.9
        {
            "customer_id": "K2",
            "collectible": 10000.0,
            "oldest_dpd": 60,
            "risk_class": "C",
            "exposure": 5000.0,
            "last_contact": T - dt.timedelta(days=14),
            "resubmission_date": T + dt.timedelta(days=1),
            "next_promised_date": T + dt.timedelta(days=2),
            "promised_not_due": 3000.0,
        },
        # each boundary just missed (9,999.99; 59 days; contact T - 13; promise due T + 3); class E 20 and
        # limit 0 with exposure above it 10: 30 -> 3000 / 135 = 22.2
        {
            "customer_id": "K3",
            "collectible": 9999.99,
            "oldest_dpd": 59,
            "risk_class": "E",
            "exposure": 1000.0,
            "effective_limit": 0.0,
            "last_contact": T - dt.timedelta(days=13),
            "next_promised_date": T + dt.timedelta(days=3),
            "promised_not_due": 100.0,
        },
        # 22.2 too, less collectible than K3: after it; K5 the same as K4: after it by customer id
        {"customer_id": "K4", "collectible": 8000.0, "risk_class": "E", "exposure": 1.0, "effective_limit": 0.0},
        # overdue 500, all of it disputed: nothing collectible (exit), listed under exited
        {"customer_id": "K6", "collectible": 0.0, "overdue": 500.0, "last_contact": None},
        # an open promise not yet due covers all 4,000 collectible: promise_pending (exit)
        {"customer_id": "K7", "collectible": 4000.0, "promised_not_due": 4000.0, "next_promised_date": T + dt.timedelta(days=10), "last_contact": None},
        # nothing overdue at all: off the list, and not listed as exited (nothing to explain)
        {"customer_id": "K8", "collectible": 0.0, "last_contact": None},
        # owes 100, contacted today, no rule met: on the list with priority 0
        {"customer_id": "K9", "collectible": 100.0},
    ]
)


def test_default_strategy_by_hand_every_rule_kind_exits_and_ties():
    cs = CollectionsSettings()
    wl = W.build(FACTS, T, cs, "USD")
    assert wl.max_points == 135
    got = wl.rows.select("customer_id", "priority").rows()
    assert got == [("K1", 96.3), ("K2", 51.9), ("K3", 22.2), ("K4", 22.2), ("K5", 22.2), ("K9", 0.0)]
    met = {r["customer_id"]: [(m["kind"], m["points"]) for m in r["rules_met"]] for r in wl.rows.iter_rows(named=True)}
    assert met["K1"] == [
        ("overdue_at_least", 30),
        ("oldest_dpd_at_least", 25),
        ("risk_class_in", 20),
        ("broken_promise", 15),
        ("over_limit", 10),
        ("no_contact_for", 10),
        ("resubmission_due", 20),
    ]
    assert met["K2"] == [("overdue_at_least", 30), ("oldest_dpd_at_least", 25), ("no_contact_for", 10), ("promise_due_within", 5)]
    assert met["K3"] == [("risk_class_in", 20), ("over_limit", 10)]
    assert met["K9"] == []
    # exited: with something overdue, most overdue first, with the exit rule met
    assert wl.exited.select("customer_id", "exit_rules").rows() == [("K7", ["promise_pending"]), ("K6", ["nothing_collectible"])]
    k1 = wl.rows.row(0, named=True)["why"]
    assert k1.startswith("Collectible at least USD 10,000 (+30); Oldest item 60+ days past due (+25); Risk class D, E (+20)")


def test_priority_rounds_half_away_from_zero_and_a_rules_list_replaces_the_default_whole():
    # 16 points: overdue_at_least 1 (1 point) and no_contact_for 30 (15); no exit rules any more.
    cs = CollectionsSettings(rules=(CollectionRule(kind="overdue_at_least", amount=1, points=1), CollectionRule(kind="no_contact_for", days=30, points=15)))
    wl = W.build(FACTS, T, cs)
    # K9: 100 >= 1 -> 1 point, contacted today: 100 x 1 / 16 = 6.25 -> 6.3 (Python's round() would give 6.2);
    # K2, K3, K4, K5 the same (contacted within 30 days), in order of collectible, then id.
    # K1 (12,000) and K7 (4,000), never contacted: 16 / 16 = 100. K6 and K8, nothing collectible and never
    # contacted: 15 / 16 = 93.75 -> 93.8, now on the list (the default exit rules are gone), by id.
    assert wl.rows.select("customer_id", "priority").rows() == [
        ("K1", 100.0),
        ("K7", 100.0),
        ("K6", 93.8),
        ("K8", 93.8),
        ("K2", 6.3),
        ("K3", 6.3),
        ("K4", 6.3),
        ("K5", 6.3),
        ("K9", 6.3),
    ]
    assert wl.exited.height == 0


def test_my_worklist_is_the_collectors_own_customers():
    facts = FACTS.with_columns(collector=pl.when(pl.col("customer_id").is_in(["K2", "K4"])).then(pl.lit("carl")))
    wl = W.mine(W.build(facts, T, CollectionsSettings()), "carl")
    assert wl.rows["customer_id"].to_list() == ["K2", "K4"]


# ------------------------------------------------------------------------------------------ settings


def write_settings(tmp_path, text: str):
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    return load_settings(tmp_path)


def test_rules_from_the_settings_file_and_clear_refusals(tmp_path):
    s = write_settings(
        tmp_path,
        '[collections]\npromise_tolerance_days = 1\n\n[[collections.rules]]\nkind = "overdue_at_least"\namount = 500\npoints = 40\n\n'
        '[[collections.rules]]\nkind = "risk_class_in"\nclasses = ["E"]\npoints = 10\n\n[[collections.rules]]\nkind = "nothing_collectible"\nexit = true\n',
    )
    assert s.collections.promise_tolerance_days == 1
    assert [(r.kind, r.points, r.exit) for r in s.collections.rules] == [
        ("overdue_at_least", 40, False),
        ("risk_class_in", 10, False),
        ("nothing_collectible", 0, True),
    ]
    for text, message in [
        ('[[collections.rules]]\nkind = "overdue"\npoints = 3\n', "unknown rule kind 'overdue'; the kinds are overdue_at_least"),
        ('[[collections.rules]]\nkind = "no_contact_for"\npoints = 3\n', "rule 'no_contact_for' needs days"),
        ('[[collections.rules]]\nkind = "over_limit"\ndays = 3\npoints = 3\n', "rule 'over_limit' takes no parameter, not days"),
        ('[[collections.rules]]\nkind = "risk_class_in"\nclasses = ["F"]\npoints = 3\n', "classes among A, B, C, D, E, not F"),
        ('[[collections.rules]]\nkind = "nothing_collectible"\nexit = true\n', "needs at least one rule that is not an exit rule"),
        ('[[collections.rules]]\nkind = "over_limit"\npoints = -1\n', "collections.rules.0.points"),
    ]:
        with pytest.raises(SettingsError, match=message):
            write_settings(tmp_path, text)


# ------------------------------------------------------------------------------------ promises, by hand


@pytest.fixture
def promise_eng(tmp_path):
    return load(tmp_path, PROMISE_LEDGER, as_of=T)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'workbench.sqlite'}")
    yield s
    s.dispose()


def record_all(store, eng):
    ctx = Context(T, eng.snapshot.id)
    for made, amount, promised, ids in [
        (D(2026, 6, 1), 500, D(2026, 6, 3), []),  # 1: nothing settled in [06-01, 06-05]: broken
        (D(2026, 6, 6), 1000, D(2026, 6, 12), ["I2"]),  # 2: I2's 600 on 06-10: partially kept
        (D(2026, 6, 7), 300, D(2026, 6, 8), ["I1"]),  # 3: I1 settled 06-29, after 06-10: broken
        (D(2026, 6, 20), 1000, D(2026, 6, 27), []),  # 4: for Saturday 06-27, I1's 1,000 on Monday 06-29: kept
        (D(2026, 6, 28), 200, D(2026, 7, 3), ["I2"]),  # 5: nothing on I2 since 06-28: open
    ]:
        P.record(store, ADMIN, ctx, eng, "P1", amount, promised, made, ids)


def test_promise_states_and_levels_by_hand(store, promise_eng):
    record_all(store, promise_eng)
    ev = P.evaluate(promise_eng, P.stored(store), T, 2)
    assert ev.select("promise_id", "paid", "state", "level").rows() == [
        (1, 0.0, "broken", 1),
        (2, 600.0, "partially kept", 2),  # 1 ended broken on 06-05, before 06-06
        (3, 0.0, "broken", 2),
        (4, 1000.0, "kept", 3),  # 1 and 3 (window ended 06-10) broken by 06-20
        (5, 0.0, "open", 3),
    ]
    # SAP's example: promised for Saturday, paid on Monday. Tolerance 2 keeps it, 1 does not.
    assert P.evaluate(promise_eng, P.stored(store), T, 1).filter(pl.col("promise_id") == 4)["state"].item() == "broken"
    # kept the day the money is there, open until then
    at = {d: P.evaluate(promise_eng, P.stored(store), d, 2).filter(pl.col("promise_id") == 4)["state"].item() for d in (D(2026, 6, 28), D(2026, 6, 29))}
    assert at == {D(2026, 6, 28): "open", D(2026, 6, 29): "kept"}
    # a promise made after T did not exist at T
    assert P.evaluate(promise_eng, P.stored(store), D(2026, 6, 27), 2)["promise_id"].to_list() == [1, 2, 3, 4]


def test_promise_kpis_by_hand(store, promise_eng):
    record_all(store, promise_eng)
    ev = P.evaluate(promise_eng, P.stored(store), T, 2)
    # windows ending in (04-01, 06-30]: 1, 2, 3, 4 (5 ends 07-05). Kept rate (0 + 600 + 0 + 1000) / (500 + 1000 + 300 + 1000)
    # = 1600 / 2800 = 0.5714; broken 1 and 3; promised_share: 5's 200 open / overdue AR 1,400 (I2) = 0.1429
    assert P.overdue_ar(promise_eng, T) == pytest.approx(1400.0)
    assert P.kpis(ev, P.overdue_ar(promise_eng, T), T, 90) == {"promise_kept_rate": 0.5714, "broken_promises": 2, "promised_share": 0.1429}


def test_a_new_extract_moves_a_promise(tmp_path, store, promise_eng):
    record_all(store, promise_eng)
    later = load(tmp_path / "later", PROMISE_LEDGER_LATER, as_of=D(2026, 7, 3))
    # the next extract has I2's other 1,400 on 07-02, inside promise 5's window [06-28, 07-05]: kept
    before = P.evaluate(promise_eng, P.stored(store), T, 2).filter(pl.col("promise_id") == 5)
    after = P.evaluate(later, P.stored(store), D(2026, 7, 3), 2).filter(pl.col("promise_id") == 5)
    assert (before["state"].item(), after["state"].item(), after["paid"].item()) == ("open", "kept", 200.0)
    # promise 2's window ended 06-14: the later payment does not change it
    assert P.evaluate(later, P.stored(store), D(2026, 7, 3), 2).filter(pl.col("promise_id") == 2)["state"].item() == "partially kept"


def test_bad_promises_are_refused_in_words(store, promise_eng):
    ctx = Context(T, promise_eng.snapshot.id)
    for kw, message in [
        ({"amount": 0, "promised_date": T}, "must be above 0"),
        ({"amount": 10, "promised_date": D(2026, 6, 1)}, "cannot be for 2026-06-01, a date before it"),
        ({"amount": 10, "promised_date": T, "customer_id": "NOPE"}, "there is no customer 'NOPE'"),
        ({"amount": 10, "promised_date": T, "invoice_ids": ["X9"]}, r"invoice\(s\) X9 are not in snapshot"),
        ({"amount": 10, "promised_date": T, "customer_id": "P2", "invoice_ids": ["I1"]}, "belong to another customer, not P2"),
    ]:
        args = {"customer_id": "P1"} | kw
        with pytest.raises(P.Refused, match=message):
            P.record(store, ADMIN, ctx, promise_eng, **args)
    assert P.stored(store).height == 0


# ------------------------------------------------------------------------ the worklist end to end (CLI)

STRATEGY = """
[collections]
[[collections.rules]]
kind = "overdue_at_least"
amount = 5000
points = 30
[[collections.rules]]
kind = "oldest_dpd_at_least"
days = 60
points = 25
[[collections.rules]]
kind = "over_limit"
points = 10
[[collections.rules]]
kind = "no_contact_for"
days = 14
points = 10
[[collections.rules]]
kind = "broken_promise"
points = 15
[[collections.rules]]
kind = "promise_due_within"
days = 2
points = 5
[[collections.rules]]
kind = "resubmission_due"
points = 20
[[collections.rules]]
kind = "nothing_collectible"
exit = true
[[collections.rules]]
kind = "promise_pending"
exit = true
"""


def o2c(capsys, *args) -> dict:
    code = main([*args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_worklist_on_a_ledger_through_the_cli(tmp_path, capsys):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T)
    data = DataDir.of(eng.snapshot).root
    (data / "settings.toml").write_text(STRATEGY, encoding="utf-8")
    d = ["--data", str(data)]
    wl = o2c(capsys, "worklist", *d)
    assert wl["as_of"] == "2026-06-30" and wl["max_points"] == 115  # 30 + 25 + 10 + 10 + 15 + 5 + 20
    c1, c2 = wl["rows"]
    # C1: collectible 11,000 - 4,000 disputed = 7,000 >= 5,000 (30), oldest 91 days (25), 14,000 > 10,000 (10),
    # never contacted (10): 75 -> 100 x 75 / 115 = 65.2
    assert c1 == {
        "customer_id": "C1",
        "name": "Acme",
        "collector": None,
        "priority": 65.2,
        "collectible": 7000.0,
        "overdue": 11000.0,
        "oldest_dpd": 91,
        "rules_met": [
            {"kind": "overdue_at_least", "points": 30},
            {"kind": "oldest_dpd_at_least", "points": 25},
            {"kind": "over_limit", "points": 10},
            {"kind": "no_contact_for", "points": 10},
        ],
        "promised_open": 0.0,
        "broken_365": 0,
        "last_contact": None,
        "dunning_level": 0,
        "risk_class": c1["risk_class"],
    }
    # C2: 1,500 collectible, 15 days, no limit, never contacted: 10 -> 8.7
    assert (c2["customer_id"], c2["priority"], c2["collectible"], c2["oldest_dpd"]) == ("C2", 8.7, 1500.0, 15)
    assert wl["exited"] == []  # C3 has nothing open: off the list, nothing to explain

    # C2 promises its 1,500 for Thursday: covered and not yet due -> off the list (promise_pending)
    assert o2c(capsys, "promises", "add", "--customer", "C2", "--amount", "1500", "--date", "2026-07-02", *d)["seq"] >= 1
    # C1: a call today (no_contact_for no longer met: 65 -> 56.5), then a resubmission for today (+20: 85 -> 73.9)
    o2c(capsys, "contacts", "add", "--customer", "C1", "--channel", "call", "--outcome", "reached", *d)
    assert o2c(capsys, "worklist", *d)["rows"][0]["priority"] == 56.5
    o2c(capsys, "customers", "set", "--customer", "C1", "--resubmission", "2026-06-30", "--dunning-block", "price dispute", *d)
    # and a promise made 06-01 for 06-10 on I3 (still open): broken -> broken_promise (+15): 100 -> 87.0
    o2c(capsys, "promises", "add", "--customer", "C1", "--amount", "100", "--date", "2026-06-10", "--made-on", "2026-06-01", "--invoice", "I3", *d)
    wl = o2c(capsys, "worklist", *d)
    [c1] = wl["rows"]
    assert (c1["priority"], c1["broken_365"], c1["last_contact"]) == (87.0, 1, "2026-06-30")
    assert [m["kind"] for m in c1["rules_met"]][-2:] == ["broken_promise", "resubmission_due"]
    assert wl["exited"] == [
        {"customer_id": "C2", "name": "Beta", "collector": None, "overdue": 1500.0, "collectible": 1500.0, "exit_rules": ["promise_pending"]}
    ]
    assert o2c(capsys, "worklist", "--collector", "nobody", *d)["rows"] == []

    listed = o2c(capsys, "promises", *d)
    assert [(p["customer_id"], p["state"], p["level"]) for p in listed["promises"]] == [("C2", "open", 1), ("C1", "broken", 1)]
    assert set(listed) == {"as_of", "promises", "kpis"} and set(listed["kpis"]) == {"promise_kept_rate", "broken_promises", "promised_share"}
    assert list(listed["promises"][0]) == ["promise_id", "customer_id", "amount", "made_on", "promised_date", "invoice_ids", "paid", "state", "level"]
    assert [p["promise_id"] for p in o2c(capsys, "promises", "--state", "broken", *d)["promises"]] == [2]
    # the dunning block is kept with its reason; --no-dunning-block lifts it
    from dashboard.collections.followup import followup_of

    store = DataDir(data).trail()
    assert followup_of(store, "C1")["dunning_block_reason"] == "price dispute"
    from dashboard.store.snapshots import data_sha256
    from dashboard.workbench import audit

    with store.begin() as conn:
        [ev] = audit.events(conn, action="customer.followup")
    # recorded with the snapshot and the hash of the data it was decided on
    assert (ev["snapshot_id"], ev["details"]["data_sha256"]) == (eng.snapshot.id, data_sha256(eng.snapshot.manifest["source_files"]))
    assert ev["details"]["after"] == {
        "resubmission_date": "2026-06-30",
        "dunning_block_reason": "price dispute",
        "dunning_block_by": ev["user"],
        "dunning_block_on": "2026-06-30",
    }
    o2c(capsys, "customers", "set", "--customer", "C1", "--no-dunning-block", *d)
    assert followup_of(store, "C1")["dunning_block_reason"] is None and followup_of(store, "C1")["resubmission_date"] == T
    o2c(capsys, "customers", "set", "--customer", "C1", "--resubmission", "", *d)  # '' clears the date: 87.0 - 20 points
    assert followup_of(store, "C1")["resubmission_date"] is None
    assert o2c(capsys, "worklist", *d)["rows"][0]["priority"] == 69.6  # 30 + 25 + 10 + 15 = 80 -> 8000 / 115 = 69.57


def test_cli_refusals_are_messages(tmp_path, capsys):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T)
    d = ["--data", str(DataDir.of(eng.snapshot).root)]
    assert main(["promises", "add", "--customer", "C1", "--amount", "-5", "--date", "2026-07-01", *d]) == 1
    assert "must be above 0" in capsys.readouterr().err
    assert main(["promises", "add", "--customer", "C1", *d]) == 2
    assert "needs --amount, --date" in capsys.readouterr().err
    assert main(["customers", "set", "--customer", "C1", *d]) == 2
    assert main(["customers", "set", "--customer", "C1", "--resubmission", "2026-06-01", *d]) == 1
    assert "before the business date 2026-06-30" in capsys.readouterr().err
    assert main(["worklist", "--top", "0", *d]) == 2


def test_the_worklist_frame_matches_the_facts_of_the_ledger(tmp_path):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T, settings=Settings())
    store = Store(f"sqlite:///{tmp_path / 'wb.sqlite'}")
    facts = W.facts(eng, store, T, eng.settings.collections).sort("customer_id")
    # per customer: overdue, disputed overdue, collectible, oldest dpd, exposure vs the master's limit
    assert facts.select("customer_id", "overdue", "disputed_overdue", "collectible", "oldest_dpd", "exposure", "effective_limit").rows() == [
        ("C1", 11000.0, 4000.0, 7000.0, 91, 14000.0, 10000.0),
        ("C2", 1500.0, 0.0, 1500.0, 15, 1500.0, None),
        ("C3", 0.0, 0.0, 0.0, None, 0.0, None),
    ]
    store.dispose()


def test_the_json_keys_are_the_command_line_reference_s():
    from typing import get_type_hints

    # cli.md, `o2c worklist` and `o2c promises`, in their order (exited: see the README's decisions)
    assert list(get_type_hints(W.WorklistJson)) == ["as_of", "max_points", "rows", "exited"]
    assert list(get_type_hints(W.WorklistRow)) == (
        "customer_id, name, collector, priority, collectible, overdue, oldest_dpd, rules_met, promised_open, broken_365, last_contact, dunning_level, risk_class"
    ).split(", ")
    assert list(get_type_hints(W.RuleMet)) == ["kind", "points"]
    assert list(get_type_hints(P.PromisesJson)) == ["as_of", "promises", "kpis"]
    assert list(get_type_hints(P.PromiseRow)) == "promise_id, customer_id, amount, made_on, promised_date, invoice_ids, paid, state, level".split(", ")
    assert list(get_type_hints(P.PromiseKpis)) == ["promise_kept_rate", "broken_promises", "promised_share"]
