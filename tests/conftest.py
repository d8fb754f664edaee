"""Shared fixtures: ledgers written as extract files into tmp_path and ingested."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from dashboard.ingest import ingest  # noqa: E402
from dashboard.kpis import Engine  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.snapshots import DataDir  # noqa: E402


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


@pytest.fixture
def ledger(tmp_path):
    def make(tables: dict[str, str], **kw) -> Engine:
        return load(tmp_path, tables, **kw)

    return make


@pytest.fixture
def fresh_caches():
    """Streamlit's caches live in the process: each AppTest journey starts from none."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


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
