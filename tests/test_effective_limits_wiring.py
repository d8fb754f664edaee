"""An approved limit is the limit in every figure (credit-decisions.md "The effective limit"): the headline's
over-limit count, the per-customer positions, the worklist's over-limit rule and the what-if baseline read
it once the engine is opened with the workbench's decisions (dashboard/decisions/apply.py), in the CLI too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dashboard.collections import worklist as wl
from dashboard.decisions import limits
from dashboard.decisions.apply import apply_effective_limits, may_have_decisions
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.whatif.model import baseline
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context
from tests.fixtures import COLLECTIONS_T, WORKLIST_LEDGER, load

T = COLLECTIONS_T
ANA = User("ana", "credit_analyst", "oidc")
MIA = User("mia", "credit_manager", "oidc")


def _approve_20k(eng, store):
    ctx = Context(T, eng.snapshot.id)
    w = limits.request(store, ANA, ctx, eng, "C1", 20000.0, "seasonal peak, good payer")
    limits.approve(store, MIA, ctx, eng, int(w.id))


def test_an_approved_limit_is_in_every_figure(tmp_path):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T)
    data = DataDir(tmp_path / "data")
    store = data.trail()
    # By hand: C1's exposure 8,000 + 4,000 + 3,000 - 1,000 = 14,000 over its master limit of 10,000.
    assert eng.headline(T)["over_limit_customers"] == 1
    server = os.environ.get("O2C_DB_URL")  # as the CLI asks: a store on a server is always asked, the embedded one only once it holds a decision
    assert may_have_decisions(data.root, server) is bool(server)
    _approve_20k(eng, store)
    assert may_have_decisions(data.root, server)
    fresh = Engine.open(eng.snapshot, Settings())
    assert apply_effective_limits(fresh, store) == 1  # one customer's limit differs from the master's
    # 14,000 against 20,000: within the limit, 70 % used
    assert fresh.headline(T)["over_limit_customers"] == 0
    c1 = fresh.customers_frame(T).filter(customer_id="C1")
    assert c1["credit_limit"].item() == 20000.0 and abs(c1["utilization"].item() - 0.7) < 1e-12
    rows = wl.worklist(fresh, store, T).rows.filter(customer_id="C1")
    assert "over_limit" not in [r["kind"] for r in rows["rules_met"].item()]
    b = baseline(fresh, T)
    assert b.limit[b.customers["customer_id"].to_list().index("C1")] == 20000.0
    # the ERP's own limit is kept apart: the effective-limit rule still sees the master's 10,000
    e = limits.effective_limits(store, fresh, T).filter(customer_id="C1")
    assert (e["master_limit"].item(), e["effective_limit"].item(), e["limit_source"].item()) == (10000.0, 20000.0, "approved")


def test_the_command_line_reads_the_effective_limit(tmp_path):
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T)
    data = DataDir(tmp_path / "data")
    _approve_20k(eng, data.trail())
    out = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "kpis", "--json", "--data", str(data.root), "--as-of", T.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["over_limit_customers"] == 0
