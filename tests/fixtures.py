"""Test ledgers and helpers shared by the tests (one module; tests never import each other)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def write_csvs(folder: Path, tables: dict[str, str]) -> Path:
    """tables: name -> CSV text (header first)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


def load(tmp_path: Path, tables: dict[str, str], settings: Settings | None = None, as_of: dt.date | None = None) -> Engine:
    """Ingest the ledger and open an engine on it; fail loudly if it is refused."""
    data = DataDir(tmp_path / "data")
    res = ingest([write_csvs(tmp_path / "extract", tables)], data, settings or Settings(), as_of=as_of)
    assert res.ok, res.report.to_text()
    return Engine.open(res.snapshot, settings or Settings())


def app_page(path: str | None = None, **state):
    """A fresh AppTest session of the whole app (router and sidebar), with this session state,
    switched to `path` (a file under pages/) if given; it must not raise."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if path:
        at.switch_page(path).run()
    assert not at.exception, at.exception
    return at
