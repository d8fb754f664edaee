"""An open dispute case counts as disputed beyond the ledger's flag: its invoices leave the worklist's
collectible amount and the dunning proposal (collections.md "Facts", dunning.md "dunnable")."""

from __future__ import annotations

from dashboard.collections import worklist as wl
from dashboard.disputes import cases
from dashboard.dunning import proposal
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from tests.fixtures import COLLECTIONS_T, DUNNING_LEDGER, DUNNING_T, WORKLIST_LEDGER, load

ANA = User("ana", "credit_analyst", "oidc")


def _store(eng):
    from dashboard.store.snapshots import DataDir

    return DataDir(eng.snapshot.path.parent.parent).trail()


def test_a_case_on_an_overdue_invoice_leaves_the_collectible_amount(tmp_path):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=COLLECTIONS_T)
    store = _store(eng)
    before = wl.worklist(eng, store, COLLECTIONS_T).rows
    # C1 by hand: overdue 8,000 (I1) + 4,000 (I2, flagged) - 1,000 (CN1) = 11,000; collectible 11,000 - 4,000 = 7,000
    assert before.filter(customer_id="C1")["collectible"].item() == 7000.0
    cases.open_case(store, ANA, Context(COLLECTIONS_T, eng.snapshot.id), eng, "C1", ["I1"], 8000.0, "pricing")
    after = wl.worklist(eng, store, COLLECTIONS_T)
    # I1 under a case too: collectible 11,000 - 4,000 - 8,000 = -1,000: nothing collectible, an exit rule takes C1 off
    assert "C1" not in after.rows["customer_id"].to_list()
    ex = after.exited.filter(customer_id="C1")
    assert ex["collectible"].item() == -1000.0 and "nothing_collectible" in ex["exit_rules"].item().to_list()


def test_a_case_keeps_its_invoices_out_of_the_dunning_proposal(tmp_path):
    eng = load(tmp_path, DUNNING_LEDGER, as_of=DUNNING_T)
    store = _store(eng)
    assert "K1" in proposal.propose(eng, store, DUNNING_T).letters["customer_id"].to_list()
    cases.open_case(store, ANA, Context(DUNNING_T, eng.snapshot.id), eng, "K1", ["A1"], 10000.0, "quality")
    p = proposal.propose(eng, store, DUNNING_T)
    assert "K1" not in p.letters["customer_id"].to_list()
    assert p.skipped.filter(customer_id="K1")["reason"].to_list() == ["dispute"]


def test_a_case_counts_in_disputed_ar_once_the_engine_reads_the_workbench(tmp_path):
    from dashboard.decisions.apply import NO_DECISIONS, apply_workbench, workbench_version
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings

    eng = load(tmp_path, WORKLIST_LEDGER, as_of=COLLECTIONS_T)
    store = _store(eng)
    assert workbench_version(store) == NO_DECISIONS
    assert eng.headline(COLLECTIONS_T)["disputed_ar"] == 4000.0  # I2, flagged in the ledger
    cases.open_case(store, ANA, Context(COLLECTIONS_T, eng.snapshot.id), eng, "C1", ["I1"], 8000.0, "pricing")
    assert workbench_version(store) != NO_DECISIONS  # the pages reopen their engine
    fresh = Engine.open(eng.snapshot, Settings())
    apply_workbench(fresh, store)
    # by hand: I2 4,000 (flag) + I1 8,000 (open case) = 12,000; I3 and CN1 stay undisputed
    assert fresh.headline(COLLECTIONS_T)["disputed_ar"] == 12000.0
    assert fresh.headline(COLLECTIONS_T)["ar_total"] == eng.headline(COLLECTIONS_T)["ar_total"]
