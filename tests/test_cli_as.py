"""The command line's identity (access.md): the operating-system user as administrator in local mode; in
oidc mode a workbench change only `--as` a person settings [access] cli_users allow, recorded with the
operating-system account that ran it."""

from __future__ import annotations

import getpass
import json

import pytest

from dashboard import cli
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from tests.fixtures import POOL_LEDGER, load

ME = getpass.getuser()
SETTINGS = """
[access]
cli_users = { "Alice@corp.com" = "collector", "root-admin@corp.com" = "admin" }

[[access.pools]]
collector = "alice@corp.com"
segments = ["SMB"]

[[access.pools]]
collector = "bob@corp.com"
regions = ["EMEA"]
"""


@pytest.fixture
def data(tmp_path, monkeypatch):
    for var in ("O2C_SECRETS", "O2C_SETTINGS", "O2C_DB_URL"):
        monkeypatch.delenv(var, raising=False)
    load(tmp_path, POOL_LEDGER)
    folder = tmp_path / "data"
    (folder / "settings.toml").write_text(SETTINGS)
    return DataDir(folder)


def oidc(data: DataDir) -> None:
    (data.root / "secrets.toml").write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "x"\n')


def o2c(data: DataDir, capsys, *argv: str) -> tuple[int, dict]:
    code = cli.main(["--data", str(data.root), "--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out if code == 0 else err)


def trail(data: DataDir) -> list[dict]:
    """The workbench changes, newest first."""
    with data.trail().begin() as conn:
        return audit.events(conn, object_type="customer")  # the load of the fixture is in the trail too


def test_local_mode_acts_as_the_os_user_and_refuses_as(data, capsys):
    code, out = o2c(data, capsys, "notes", "add", "--customer", "C3", "--text", "called")
    assert code == 0 and set(out) == {"id", "seq"}
    [e] = trail(data)
    assert (e["user"], e["role"], e["snapshot_id"]) == (ME, "admin", data.current_id()) and "via" not in e["details"]
    assert len(e["details"]["data_sha256"]) == 64
    code, err = o2c(data, capsys, "--as", "alice@corp.com", "notes", "add", "--customer", "C3", "--text", "as alice?")
    assert code == 2 and f"in local mode (no sign-in configured) the command line acts as the operating-system user {ME}" in err["error"]
    assert len(trail(data)) == 1


def test_oidc_mode_refuses_a_change_without_a_person(data, capsys):
    oidc(data)
    code, err = o2c(data, capsys, "contacts", "add", "--customer", "C1", "--channel", "call", "--outcome", "reached")
    assert code == 1 and "must carry a person's name. Give --as NAME" in err["error"]
    assert "settings [access] cli_users (now: Alice@corp.com, root-admin@corp.com)" in err["error"]
    code, err = o2c(data, capsys, "notes", "add", "--customer", "C1", "--text", "x", "--as", "mallory@corp.com")
    assert code == 1 and "the command line may not act as mallory@corp.com" in err["error"]
    # Loads and rollbacks carry a person's name too: not the server's account as administrator.
    code, err = o2c(data, capsys, "rollback", data.current_id())
    assert code == 1 and "--as NAME" in err["error"]
    assert trail(data) == []


def test_oidc_mode_acts_as_the_listed_person_with_their_role_and_pool(data, capsys):
    oidc(data)
    # The address in any case is the listed person, written as settings spell it; recorded with the OS account.
    code, out = o2c(data, capsys, "notes", "add", "--customer", "C1", "--text", "statement sent", "--as", "alice@CORP.com")
    assert code == 0
    [e] = trail(data)
    assert (e["user"], e["role"], e["action"]) == ("Alice@corp.com", "collector", "note.add")
    assert e["details"]["via"] == f"CLI, OS user {ME}"
    # C3 (Enterprise, EMEA) is in bob's pool: alice, a collector, may not work it; nor assign customers, nor roll back.
    code, err = o2c(data, capsys, "--as", "alice@corp.com", "contacts", "add", "--customer", "C3", "--channel", "call", "--outcome", "reached")
    assert code == 1 and "C3 is assigned to bob@corp.com (through the pool of region EMEA)" in err["error"]
    code, err = o2c(data, capsys, "--as", "alice@corp.com", "customers", "set", "--customer", "C3", "--collector", "alice@corp.com")
    assert code == 1 and "may not assign customers to collectors: this needs the role administrator" in err["error"]
    code, err = o2c(data, capsys, "--as", "alice@corp.com", "rollback", data.current_id())
    assert code == 1 and "may not roll back the company's data" in err["error"]
    code, out = o2c(data, capsys, "--as", "root-admin@corp.com", "customers", "set", "--customer", "C3", "--collector", "Alice@corp.com")
    assert code == 0
    code, out = o2c(data, capsys, "--as", "alice@corp.com", "contacts", "add", "--customer", "C3", "--channel", "call", "--outcome", "promise")
    assert code == 0
    assert [(e["user"], e["action"], e["details"]["via"]) for e in trail(data)] == [
        ("Alice@corp.com", "contact.add", f"CLI, OS user {ME}"),
        ("root-admin@corp.com", "customer.assign", f"CLI, OS user {ME}"),
        ("Alice@corp.com", "note.add", f"CLI, OS user {ME}"),
    ]
