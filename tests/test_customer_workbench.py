"""The customer page's workbench through AppTest: add a note, log a contact, see both in the timeline
with the ledger's events, find them in the audit trail under the acting user."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import User
from tests.fixtures import REPO, until_trained


@pytest.fixture
def demo(tmp_path, monkeypatch, fresh_caches):
    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=3_000).ok
    monkeypatch.setenv("O2C_DATA", str(data))
    return DataDir(data)


def customer_page(**state) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("pages/customer.py").run()
    assert not at.exception, at.exception
    return at


def timeline_rows(at: AppTest):
    [grid] = [d for d in at.dataframe if "what" in d.value.columns]
    return grid.value


def test_a_collector_logs_a_call_and_a_note_and_both_are_audited(demo, monkeypatch):
    from pages import identity

    monkeypatch.setattr(identity, "current_user", lambda settings: User("carla@example.com", "collector", "oidc"))
    cid = "C000001"
    at = customer_page(customer_id=cid)
    before = timeline_rows(at)
    assert set(before["kind"]) <= {"invoice", "credit note", "settled"} and before.shape[0] > 0  # the ledger's own events

    at.selectbox(key="wb_channel").set_value("call")
    at.selectbox(key="wb_outcome").set_value("promise")
    at.text_input(key="wb_contact_note").set_value("pays the March invoices on Friday")
    [submit] = [b for b in at.button if b.label == "Log contact"]
    submit.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_area(key="wb_note_text").set_value("asked for a statement")
    [submit] = [b for b in at.button if b.label == "Add note"]
    submit.click().run()
    assert not at.error, [e.value for e in at.error]
    assert any("Note added (audit entry" in s.value for s in at.success)

    rows = timeline_rows(at)
    team = rows[rows["kind"].isin(["note", "contact"])]
    assert list(team["what"]) == ["Note", "Contact"]  # same business date: the later write first
    assert "Call, promise: pays the March invoices on Friday" in set(team["detail"])
    assert set(team["by"]) == {"carla@example.com"}
    with demo.trail().begin() as conn:
        ev = audit.events(conn, object_id=cid)
    assert [e["action"] for e in ev] == ["note.add", "contact.add"]
    assert all(e["user"] == "carla@example.com" and e["role"] == "collector" and e["snapshot_id"] == demo.current_id() for e in ev)
    assert "Assign" not in [b.label for b in at.button]  # assignments are an administrator's


def test_a_viewer_sees_the_timeline_but_no_forms(demo, monkeypatch):
    from pages import identity

    monkeypatch.setattr(identity, "current_user", lambda settings: User("vic@example.com", "viewer", "oidc"))
    at = customer_page(customer_id="C000001")
    assert timeline_rows(at).shape[0] > 0
    assert not [b for b in at.button if b.label in ("Add note", "Log contact", "Assign")]


def master_keys(demo: DataDir, cid: str) -> tuple[str, str]:
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings
    from dashboard.workbench.assignment import Roster

    eng = Engine.open(demo.current(), Settings())
    try:
        _, seg, reg = Roster.of(eng).master(cid).row(0)
    finally:
        eng.con.close()
    return seg, reg


def shown(text: str) -> str:
    """Text as a reader sees it: the page escapes names and ids (never markdown, never a link)."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def caption_with(at: AppTest, start: str) -> str:
    return next(shown(c.value) for c in at.caption if shown(c.value).startswith(start))


def test_the_panel_names_the_pool_and_two_admins_racing_on_an_assignment(demo, monkeypatch):
    from pages import identity

    cid = "C000001"
    seg, reg = master_keys(demo, cid)
    (demo.root / "settings.toml").write_text(f'[[access.pools]]\ncollector = "carla@example.com"\nsegments = ["{seg}"]\n')
    acting = {"who": "ada@example.com"}
    monkeypatch.setattr(identity, "current_user", lambda settings: User(acting["who"], "admin", "oidc"))
    ada = customer_page(customer_id=cid)
    assert caption_with(ada, "Collector").startswith(f"Collector carla@example.com (pool: segment {seg}).")
    acting["who"] = "ben@example.com"
    ben = customer_page(customer_id=cid)  # ben opens the same customer before ada assigns it

    acting["who"] = "ada@example.com"
    ada.text_input(key=f"wb_collector:{cid}").set_value("olga@example.com")
    [assign] = [b for b in ada.button if b.label == "Assign"]
    assign.click().run()
    assert not ada.error and any("Collector assigned (audit entry" in s.value for s in ada.success)
    assert caption_with(ada, "Collector").startswith("Collector olga@example.com (assigned by hand).")

    acting["who"] = "ben@example.com"
    ben.text_input(key=f"wb_collector:{cid}").set_value("pia@example.com")
    [assign] = [b for b in ben.button if b.label == "Assign"]
    assign.click().run()
    [refused] = [shown(e.value) for e in ben.error]
    assert re.fullmatch(rf"the collector of {cid} was changed by ada@example.com at \d\d:\d\d UTC since you opened it: reload, then edit again\.", refused)
    assert caption_with(ben, "Collector").startswith("Collector olga@example.com (assigned by hand).")  # what ada wrote, now shown
    [assign] = [b for b in ben.button if b.label == "Assign"]
    assign.click().run()  # drawn again from the current version: ben's change goes through
    assert not ben.error and caption_with(ben, "Collector").startswith("Collector pia@example.com (assigned by hand).")
    with demo.trail().begin() as conn:
        ev = audit.events(conn, action="customer.assign")
    assert [(e["user"], e["details"]["collector"], e["details"]["before"], e["details"]["version"]) for e in ev] == [
        ("ben@example.com", "pia@example.com", "olga@example.com", 2),
        ("ada@example.com", "olga@example.com", None, 1),
    ]
    assert all(e["snapshot_id"] == demo.current_id() and len(e["details"]["data_sha256"]) == 64 for e in ev)


def test_a_collector_sees_whose_customer_it_is_and_no_forms_for_another_pool(demo, monkeypatch):
    from pages import identity

    cid = "C000001"
    seg, _ = master_keys(demo, cid)
    (demo.root / "settings.toml").write_text(f'[[access.pools]]\ncollector = "olga@example.com"\nsegments = ["{seg}"]\n')
    monkeypatch.setattr(identity, "current_user", lambda settings: User("carla@example.com", "collector", "oidc"))
    at = until_trained(customer_page(customer_id=cid))  # the late-payment model's note gone: only the panel's
    assert [shown(i.value) for i in at.info] == [f"{cid} is olga@example.com's customer: notes and contacts here are theirs (or an analyst's) to write."]
    assert not [b for b in at.button if b.label in ("Add note", "Log contact", "Assign")]
    monkeypatch.setattr(identity, "current_user", lambda settings: User("Olga@Example.com", "collector", "oidc"))
    at = until_trained(customer_page(customer_id=cid))
    assert not at.info and {"Add note", "Log contact"} <= {b.label for b in at.button}
