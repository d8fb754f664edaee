"""The snapshot store: any data folder name works, and DuckDB spills inside the data folder, never the working directory."""

import datetime as dt
import json
import os

import dashboard.store.derive as derive_module
from dashboard.cli import main
from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import write_csvs
from tests.test_kpis_handworked import MIXED

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
