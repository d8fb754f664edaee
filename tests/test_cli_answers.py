"""What the command line answers a finance user who mistypes or asks too much (an outside tester's findings):
with --json every failure is one {"error", "details"} document on stderr, every command prints one JSON
document, a day after the snapshot is refused as the sidebar refuses it, a collector nobody has is named."""

from __future__ import annotations

import json

import pytest

from dashboard.cli import main
from dashboard.store.snapshots import DataDir
from tests.fixtures import COLLECTIONS_T, STORE_BACKENDS, WORKLIST_LEDGER, load, workbench_url

T = COLLECTIONS_T  # 2026-06-30, the snapshot's as-of date


@pytest.fixture
def d(tmp_path) -> list[str]:
    eng = load(tmp_path, WORKLIST_LEDGER, as_of=T)
    return ["--data", str(DataDir.of(eng.snapshot).root)]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["kpis", "--as-of", "2026-13-01"], "'2026-13-01' is not a date; write it as YYYY-MM-DD"),
        (["audit", "--since", "2026-13-01"], "'2026-13-01' is not a date"),
        (["promises", "add", "--customer", "C1", "--amount", "1,000", "--date", "2026-07-01"], "'1,000' is not an amount"),
        (["kpis", "--segment", "SMB"], "unrecognized arguments: --segment SMB"),
    ],
)
def test_a_command_line_argparse_refuses_is_one_json_error_on_stderr_with_json(d, capsys, argv, said):
    assert main([*argv, "--json", *d]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    err = json.loads(out.err)  # the whole of stderr is one document: no usage text around it
    assert set(err) == {"error", "details"} and said in err["error"], err
    assert err["details"] and err["details"][0].startswith("usage: o2c")


def test_without_json_a_usage_error_still_prints_usage_and_exits_2(d, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["kpis", "--as-of", "2026-13-01", *d])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: o2c kpis") and "'2026-13-01' is not a date" in err


def test_customers_set_with_a_collector_and_a_follow_up_prints_one_json_document(d, capsys):
    code = main(["customers", "set", "--customer", "C1", "--collector", "Dana", "--resubmission", "2026-11-06", "--dunning-block", "legal", "--json", *d])
    out = capsys.readouterr()
    assert code == 0, out.err
    answer = json.loads(out.out)  # two objects one after the other would not parse
    assert answer["id"] == "C1" and answer["seq"] == answer["seqs"][-1] and len(answer["seqs"]) == 2
    assert main(["audit", "--json", *d]) == 0
    trail = {e["seq"]: e["action"] for e in json.loads(capsys.readouterr().out)}
    assert [trail[s] for s in answer["seqs"]] == ["customer.followup", "customer.assign"]
    # one write keeps cli.md's {id, seq}
    assert main(["customers", "set", "--customer", "C2", "--collector", "Dana", "--json", *d]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"id", "seq"}


def test_customers_set_refused_on_its_follow_up_sets_no_collector_either(d, capsys):
    # 2026-06-01 is before the business date 2026-06-30: refused; the collector was written first before (half a change)
    code = main(["customers", "set", "--customer", "C1", "--collector", "Dana", "--resubmission", "2026-06-01", "--json", *d])
    assert code == 1
    assert "before the business date 2026-06-30" in json.loads(capsys.readouterr().err)["error"]
    assert main(["audit", "--action", "customer.assign", "--json", *d]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.fixture(params=STORE_BACKENDS)
def on_store(request, tmp_path, monkeypatch):
    """The command line's store: a SQLite file, or a schema of its own on the PostgreSQL server."""
    for url in workbench_url(request.param, tmp_path / "store"):
        monkeypatch.setenv("O2C_DB_URL", url)
        yield url


def test_customers_set_is_one_transaction_a_failure_in_the_collector_leaves_the_follow_up_unwritten(on_store, d, capsys, monkeypatch):
    from dashboard.workbench import notes
    from dashboard.workbench.errors import Conflict

    real = notes.versioned_write

    def changed_meanwhile(*a, **k):  # the collector's row is written, then found changed by someone else
        real(*a, **k)
        raise Conflict("the collector of C1 was changed by olga at 09:15, reload")

    with monkeypatch.context() as mp:
        mp.setattr(notes, "versioned_write", changed_meanwhile)
        code = main(["customers", "set", "--customer", "C1", "--collector", "Dana", "--resubmission", "2026-07-06", "--json", *d])
    assert code == 1
    assert json.loads(capsys.readouterr().err)["error"] == "the collector of C1 was changed by olga at 09:15, reload Nothing was changed."
    assert main(["audit", "--json", *d]) == 0
    before = json.loads(capsys.readouterr().out)
    assert {e["action"] for e in before} == {"load.started", "snapshot.load"}  # neither the follow-up nor the collector
    assert main(["worklist", "--json", *d]) == 0
    c1 = next(r for r in json.loads(capsys.readouterr().out)["rows"] if r["customer_id"] == "C1")
    assert c1["collector"] is None and "resubmission_due" not in [m["kind"] for m in c1["rules_met"]]
    # Unbroken, both are written, in the order the README gives, as consecutive entries of the one transaction.
    code = main(["customers", "set", "--customer", "C1", "--collector", "Dana", "--resubmission", "2026-06-30", "--json", *d])
    assert code == 0
    seqs = json.loads(capsys.readouterr().out)["seqs"]
    assert seqs == [len(before) + 1, len(before) + 2]
    assert main(["worklist", "--json", *d]) == 0
    c1 = next(r for r in json.loads(capsys.readouterr().out)["rows"] if r["customer_id"] == "C1")
    assert c1["collector"] == "Dana" and "resubmission_due" in [m["kind"] for m in c1["rules_met"]]
    assert main(["audit", "verify", *d]) == 0


def test_an_as_of_date_after_the_snapshot_is_refused_naming_both_dates(d, capsys):
    assert main(["kpis", "--as-of", "2030-01-01", "--json", *d]) == 1
    err = json.loads(capsys.readouterr().err)
    assert "2030-01-01" in err["error"] and "2026-06-30" in err["error"], err
    assert main(["worklist", "--as-of", "2026-07-01", *d]) == 1  # one day later: every command that computes figures
    assert "after the snapshot's as-of date 2026-06-30" in capsys.readouterr().err
    assert main(["kpis", "--as-of", "2026-06-30", "--json", *d]) == 0  # the snapshot's own day is fine
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-06-30"


def test_the_pages_and_the_cli_share_one_rule_for_the_latest_as_of_date():
    import datetime as dt

    from dashboard.metrics import as_of

    snap = dt.date(2026, 6, 30)
    assert as_of.checked(snap, None) == snap and as_of.checked(snap, dt.date(2026, 6, 1)) == dt.date(2026, 6, 1)
    with pytest.raises(as_of.AsOfAfterSnapshot):
        as_of.checked(snap, dt.date(2026, 7, 1))
    assert as_of.allowed(dt.date(2026, 1, 1), snap, snap) and not as_of.allowed(dt.date(2026, 1, 1), snap, dt.date(2026, 7, 1))


def test_a_worklist_for_a_collector_nobody_is_assigned_to_says_so(d, capsys):
    assert main(["customers", "set", "--customer", "C1", "--collector", "Dana", *d]) == 0
    capsys.readouterr()
    assert main(["worklist", "--collector", "nobody", *d]) == 0
    text = capsys.readouterr().out
    assert 'No customer is assigned to "nobody"; collectors with customers: Dana' in text
    # JSON keeps its documented shape: an empty list, no extra key
    assert main(["worklist", "--collector", "nobody", "--json", *d]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == [] and set(out) == {"as_of", "max_points", "rows", "exited"}
    # a known collector gets no such note
    assert main(["worklist", "--collector", "Dana", *d]) == 0
    assert "No customer is assigned" not in capsys.readouterr().out
