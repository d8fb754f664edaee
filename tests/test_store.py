"""The snapshot store: any data folder name works, DuckDB spills inside the data folder, never the working directory,
and the snapshot history and rollback the CLI and the Data page share."""

import datetime as dt
import json
import os

import pytest

import dashboard.store.derive as derive_module
from dashboard.cli import main
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir, UnknownSnapshot, rollback, snapshot_rows
from tests.fixtures import MIXED, write_csvs

T = dt.date(2026, 5, 31)


def kpis(data, capsys) -> dict:
    capsys.readouterr()
    assert main(["kpis", "--json", "--as-of", T.isoformat(), "--data", str(data)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_data_folder_with_a_quote_in_its_name_loads_and_answers(tmp_path, capsys):
    plain, quoted = tmp_path / "data", tmp_path / "it's data"
    extract = write_csvs(tmp_path / "Q1 'final'", MIXED)  # the extract's folder too
    for data in (plain, quoted):
        assert main(["ingest", str(extract), "--as-of", T.isoformat(), "--data", str(data)]) == 0, capsys.readouterr().err
    h = kpis(quoted, capsys)
    assert h["ar_total"] == 865.0 and h["ar_overdue"] == 240.0 and h["dso_standard"] == 52.78  # test_kpis_handworked, by hand
    assert h == kpis(plain, capsys)
    # the dashboard's engine holds some tables in memory (CREATE TABLE) and views the rest
    eng = Engine.open(DataDir(quoted).current(), Settings(), in_memory=True)
    assert eng.headline(T)["ar_total"] == 865.0
    assert sorted(eng.documents(T)["invoice_id"]) == ["D1", "D2", "D3", "D5"]  # a drill-down reads the invoices view (D4 is paid)


def test_queries_spill_into_the_data_folder_not_the_working_directory(tmp_path, monkeypatch):
    data = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", MIXED)], data, Settings(), as_of=T).ok
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # DuckDB's default for an in-memory database is .tmp/ here
    eng = Engine.open(data.current(), Settings(), in_memory=True)
    con = eng.con
    assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [(str(data.tmp),)]
    # more than the memory limit: it must spill
    con.execute("SET memory_limit = '32MB'").fetchall()
    con.execute("CREATE TEMP TABLE big AS SELECT random() AS r, range AS i FROM range(6000000)").fetchall()
    spilled = [p.name for p in data.tmp.iterdir()]
    assert any(n.startswith("duckdb_temp") for n in spilled), spilled
    assert not (work / ".tmp").exists()
    con.close()
    assert not any(n.startswith("duckdb_temp") and n.endswith(".tmp") for n in os.listdir(data.tmp))  # DuckDB took its files away


def test_the_derive_step_spills_inside_the_loads_staging_folder(tmp_path, monkeypatch):
    seen = []
    real = derive_module.connect

    def spy(temp_dir, **config):
        con = real(temp_dir, **config)
        seen.append(con.execute("SELECT current_setting('temp_directory'), current_setting('memory_limit')").fetchall()[0])
        return con

    monkeypatch.setattr(derive_module, "connect", spy)
    monkeypatch.chdir(tmp_path)
    data = DataDir(tmp_path / "data")
    res = ingest([write_csvs(tmp_path / "x", MIXED)], data, Settings(), as_of=T)
    assert res.ok
    ((spill, limit),) = seen
    assert spill.startswith(str(data.staging / res.snapshot.id)) and "GiB" not in limit
    assert not (tmp_path / ".tmp").exists() and not (res.snapshot.path / "spill").exists()


# ----------------------------------------------------------------------------- snapshot history and rollback (CLI and Data page)


def two_loads(tmp_path) -> tuple[DataDir, str, str]:
    data = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "a", MIXED)], data, Settings(), as_of=T, source="first").ok
    first = data.current_id()
    june = dict(MIXED, invoices=MIXED["invoices"].rstrip() + "\nD6,C3,2026-04-01,2026-05-01,50,USD,,\n")
    assert ingest([write_csvs(tmp_path / "b", june)], data, Settings(), as_of=T, source="second").ok
    return data, first, data.current_id()


def test_snapshot_rows_list_the_history_oldest_first(tmp_path):
    data, first, second = two_loads(tmp_path)
    rows = snapshot_rows(data)
    assert [(r.id, r.source, r.current, r.as_of) for r in rows] == [(first, "first", False, "2026-05-31"), (second, "second", True, "2026-05-31")]
    assert rows[1].files == ("customers.csv", "fx.csv", "invoices.csv", "orders.csv", "payments.csv")
    assert (rows[0].rows["invoices"], rows[1].rows["invoices"]) == (5, 6)
    assert rows[1].warnings == 2  # P3 and O2 are dated after the as-of date


def test_rollback_takes_only_an_id_of_the_folders_own_list(tmp_path):
    data, first, second = two_loads(tmp_path)
    audit = len(data.read_audit())
    for bad in (f"../snapshots/{first}", "no-such-id", first + "/"):
        with pytest.raises(UnknownSnapshot) as err:
            rollback(data, bad, source="test")
        assert err.value.known == (first, second)
    assert data.current_id() == second and len(data.read_audit()) == audit  # nothing changed, nothing logged
    assert rollback(data, first, source="Data page (alice)").id == first
    assert data.current_id() == first
    last = data.read_audit()[-1]
    assert (last["event"], last["snapshot"], last["source"], last["outcome"]) == ("rollback", first, "Data page (alice)", "current")


def test_the_cli_prints_the_specs_keys(tmp_path, capsys):
    data, first, second = two_loads(tmp_path)
    d = ["--data", str(data.root)]
    capsys.readouterr()
    assert main(["snapshots", "--json", *d]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [set(s) for s in listed] == [{"id", "as_of", "loaded_at", "source", "files", "rows", "current", "status"}] * 2
    assert [s["status"] for s in listed] == ["loaded", "loaded"]  # both loads recorded as completed in the audit trail
    assert listed[1]["files"] == ["customers.csv", "fx.csv", "invoices.csv", "orders.csv", "payments.csv"] and listed[1]["current"] is True
    assert main(["rollback", first, "--json", *d]) == 0
    assert json.loads(capsys.readouterr().out) == {"current": first}
    assert data.read_audit()[-1]["source"] == "o2c rollback"
    assert main(["rollback", f"../snapshots/{second}", "--json", *d]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err == {"error": f"unknown snapshot id '../snapshots/{second}'", "details": [f"known ids: {first}, {second}"]}
    assert main(["ingest", str(tmp_path / "a"), "--as-of", T.isoformat(), "--json", *d]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"snapshot", "as_of", "rows", "seconds", "report"} and out["rows"]["invoices"] == 5
    assert set(out["report"]) == {"ok", "errors", "warnings", "facts", "issues"} and out["report"]["warnings"] == 2
    assert list(out["report"]["issues"][0]) == ["severity", "file", "rule", "message", "row", "column", "value", "rows"]
    assert main(["demo", "--invoices", "2000", "--json", *d]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert set(demo) == {"snapshot", "as_of", "rows", "seconds"} and demo["rows"]["invoices"] == 2000
