"""Saving, deleting and exporting a scenario are recorded in the audit trail with who and on which data."""

from __future__ import annotations

from dashboard.store.snapshots import DataDir
from dashboard.whatif import saved
from dashboard.whatif.model import parse_scenario
from dashboard.workbench import audit
from dashboard.workbench.identity import User


def test_save_and_delete_are_recorded_and_the_deleted_scenario_stays_readable(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    who = User("tina@example.com", "viewer", "oidc")
    sc = parse_scenario({"name": "Tighter SMB terms", "levers": [{"kind": "terms", "days": -15, "segment": "SMB"}]})
    saved.save_scenario(root, sc, who, "S1")
    saved.delete_scenario(root, "Tighter SMB terms", who, "S1")
    assert saved.list_scenarios(root) == {}
    with DataDir(root).trail().begin() as conn:
        ev = audit.events(conn, object_type="scenario")
        assert audit.verify(conn) is None
    assert [(e["action"], e["user"], e["snapshot_id"]) for e in ev] == [
        ("scenario.delete", "tina@example.com", "S1"),
        ("scenario.save", "tina@example.com", "S1"),
    ]
    assert ev[0]["details"]["scenario"]["levers"] == [{"kind": "terms", "days": -15, "segment": "SMB"}]
