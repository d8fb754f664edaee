"""pytest fixtures; the ledgers and helpers they use live in tests/fixtures.py."""

from __future__ import annotations

import pytest

from tests.fixtures import load


@pytest.fixture
def ledger(tmp_path):
    def make(tables: dict[str, str], **kw):
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


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes tens of seconds (a wheel built and installed, a server started); still part of the suite")
