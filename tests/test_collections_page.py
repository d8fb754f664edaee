"""The Collections page through AppTest: the worklist explains its order, a collector records a promise
and the customer leaves the list, sets a dunning block, and exports; a viewer has no such page."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import User
from tests.fixtures import COLLECTIONS_T, REPO, WORKLIST_LEDGER, no_errors, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", WORKLIST_LEDGER)], d, Settings(), as_of=COLLECTIONS_T).ok
    monkeypatch.setenv("O2C_DATA", str(d.root))
    return d


def as_user(monkeypatch, user: User) -> None:
    from pages import identity

    monkeypatch.setattr(identity, "current_user", lambda settings: user)


def collections_page(**state) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("pages/collections.py").run()
    no_errors(at)
    return at


def headings(df) -> dict[str, str | None]:
    cfg = json.loads(df.proto.columns) if df.proto.columns else {}
    order = list(df.proto.column_order) or list(df.value.columns)
    return {c: cfg.get(c, {}).get("label") for c in order if not cfg.get(c, {}).get("hidden")}


def grid(at: AppTest):
    [g] = [d for d in at.dataframe if "why" in d.value.columns]
    return g.value


def test_a_collector_works_the_list(data, monkeypatch):
    as_user(monkeypatch, User("carl", "collector", "oidc"))
    at = collections_page()
    at.toggle(key="co_mine").set_value(False).run()  # unassigned customers are everybody's to work
    g = grid(at)
    # default strategy, by hand (135 points): C1 oldest 91 days (25), over its limit (10), never contacted (10):
    # 45 -> 33.3 (+20 when its computed class is D or E); C2 never contacted: 10 -> 7.4
    assert list(g["customer_id"]) == ["C1", "C2"]
    assert g["priority"].iloc[1] == 7.4
    assert g["priority"].iloc[0] == (48.1 if g["risk_class"].iloc[0] in ("D", "E") else 33.3)
    assert "Oldest item 60+ days past due (+25)" in g["why"].iloc[0] and g["why"].iloc[1] == "No contact for 14+ days (+10)"
    assert at.metric[0].value == "2"

    at.session_state["co_customer"] = "C2"  # as a click on the row does
    at.run()
    no_errors(at)
    at.number_input(key="co_amount").set_value(1500.0)
    at.date_input(key="co_when").set_value(COLLECTIONS_T + dt.timedelta(days=2))
    at.selectbox(key="co_promise_channel").set_value("call")  # a call in which the customer promised
    [submit] = [b for b in at.button if b.label == "Record promise"]
    submit.click().run()
    no_errors(at)
    assert any("Promise recorded with the call as a contact (audit entry" in s.value for s in at.success)
    # covered by an open promise not yet due: off the list (promise_pending), listed as exited
    assert list(grid(at)["customer_id"]) == ["C1"]
    [exited] = [d for d in at.dataframe if "exit_rules" in d.value.columns]
    assert exited.value[["customer_id", "exit_rules"]].values.tolist() == [["C2", "promise_pending"]]
    assert at.metric[3].value == "12.0%"  # 1,500 open promised / 12,500 overdue AR (11,000 + 1,500)

    at.session_state["co_customer"] = "C1"
    at.run()
    at.text_input(key="co_block_reason").set_value("price dispute under review")
    [block] = [b for b in at.button if b.label == "Block dunning"]
    block.click().run()
    no_errors(at)
    assert grid(at)["dunning_block"].tolist() == ["price dispute under review"]
    with data.trail().begin() as conn:
        ev = audit.events(conn)
    assert [(e["action"], e["user"], e["object_id"]) for e in ev[:3]] == [
        ("customer.followup", "carl", "C1"),
        ("promise.add", "carl", "C2"),
        ("contact.add", "carl", "C2"),
    ]

    # C2's promise on its customer page's timeline, with its state at T (nothing paid since it was made)
    at.session_state["customer_id"] = "C2"
    at.switch_page("pages/customer.py").run()
    no_errors(at)
    [tl] = [d.value for d in at.dataframe if "what" in d.value.columns]
    promise = tl[tl["kind"] == "promise"]
    assert promise["detail"].tolist() == ["promised for 2026-07-02: open, paid 0.00"] and promise["by"].tolist() == ["carl"]
    at.switch_page("pages/collections.py").run()

    # every table of the page, the customer's panel included, is headed from the labels registry
    from dashboard.present.labels import label

    assert len(at.dataframe) >= 4
    for df in at.dataframe:
        for name, heading in headings(df).items():
            assert heading == label(name.removesuffix("__pct"), "USD") and not re.search(r"\b[a-z]+_[a-z_]+\b", heading), (name, heading)


def test_my_worklist_is_on_for_a_collector(data, monkeypatch):
    from dashboard.workbench.notes import Context, assign

    assign(data.trail(), User("ada", "admin", "oidc"), Context(COLLECTIONS_T), "C2", "olga")
    as_user(monkeypatch, User("olga", "collector", "oidc"))
    at = collections_page()
    assert at.toggle(key="co_mine").value is True
    assert list(grid(at)["customer_id"]) == ["C2"]  # her own customer only
    at.toggle(key="co_mine").set_value(False).run()
    at.selectbox(key="co_collector").set_value("Unassigned").run()
    assert list(grid(at)["customer_id"]) == ["C1"]


def test_the_export_has_the_registry_headings(data):
    from dashboard.collections import worklist as W
    from dashboard.metrics.kpis import Engine
    from dashboard.present.exports import to_csv

    eng = Engine.open(data.current(), Settings())
    wl = W.worklist(eng, data.trail(), COLLECTIONS_T)
    frame = wl.rows.with_columns(dunning_block=pl.col("dunning_block_reason")).select(
        "customer_id", "priority", "why", "collectible", "oldest_dpd", "last_contact"
    )
    out = pl.read_csv(io.BytesIO(to_csv(frame, "USD")))
    assert out.columns == ["Customer", "Priority", "Rules met (points)", "Collectible (USD)", "Oldest (days past due)", "Last contact"]
    assert out["Collectible (USD)"].to_list() == [7000.0, 1500.0]


def test_a_viewer_has_no_collections_page(data, monkeypatch):
    as_user(monkeypatch, User("vic", "viewer", "oidc"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    no_errors(at)
    # the page is not in a viewer's navigation at all (app.py lists it for collector and up)
    with pytest.raises(ValueError, match=r"Could not find a navigation page for .*collections.py"):
        at.switch_page("pages/collections.py")
