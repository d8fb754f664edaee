"""The snapshot store: any data folder name works."""

import datetime as dt
import json

from dashboard.cli import main
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
