"""An engine that is replaced (a new snapshot, a rollback) is freed with its tables: nothing in the
process keeps old snapshots alive (functools.lru_cache on methods once did, for every engine)."""

from __future__ import annotations

import gc
import weakref

from dashboard.metrics.kpis import Engine, Filters, overview
from dashboard.settings import Settings
from tests.fixtures import load

LEDGER = {
    "invoices": """invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date
I1,C1,2026-01-10,2026-02-09,1000,USD,
I2,C1,2026-02-01,2026-03-03,500,USD,2026-03-10
I3,C2,2026-02-15,2026-03-17,250,USD,""",
}


def test_a_dropped_engine_is_freed_after_its_caches_were_filled(tmp_path):
    eng = load(tmp_path, LEDGER)
    overview(eng)  # fills the per-selection caches (daily series, month-end cube)
    eng.headline(f=Filters(segments=("Unassigned",)))
    assert eng._cache, "the caches were filled"
    ref = weakref.ref(eng)
    con = eng.con
    del eng
    gc.collect()
    assert ref() is None, gc.get_referrers(ref()) if ref() else None
    con.close()


def test_the_apps_engine_cache_lets_an_old_snapshot_go(tmp_path, monkeypatch, fresh_caches):
    from dashboard.decisions.apply import NO_DECISIONS
    from pages import common

    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))
    from dashboard.load.ingest import ingest
    from dashboard.store.snapshots import DataDir
    from tests.fixtures import write_csvs

    data = DataDir(tmp_path / "data")
    ids = []
    for i in range(3):
        res = ingest([write_csvs(tmp_path / f"x{i}", LEDGER)], data, Settings())
        assert res.ok
        ids.append(res.snapshot.id)
    engines = [common._engine(sid, NO_DECISIONS) for sid in ids]  # max_entries=2: the first falls out
    ref = weakref.ref(engines[0])
    assert isinstance(engines[0], Engine)
    del engines
    common._engine(ids[1], NO_DECISIONS), common._engine(ids[2], NO_DECISIONS)
    gc.collect()
    assert ref() is None
