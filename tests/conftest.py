"""pytest fixtures; the ledgers and helpers they use live in tests/fixtures.py."""

from __future__ import annotations

import os

import pytest

from tests.fixtures import load, postgres_schema

# The whole suite on PostgreSQL: with O2C_DB_URL at a PostgreSQL server every module and every test get a schema of
# their own (postgres_schema), so no test sees another's rows and `public` stays empty. The module's schema holds
# what its module-scoped fixtures write (a server started once for the module inherits it); a test gets a fresh one,
# unless its module is marked `module_store` (its tests check what the module's server wrote).
_SUITE_DB_URL = os.environ.get("O2C_DB_URL", "")


def _own_schema(monkeypatch: pytest.MonkeyPatch):
    if not _SUITE_DB_URL.startswith("postgresql"):
        yield None
        return
    with postgres_schema(_SUITE_DB_URL) as url:
        monkeypatch.setenv("O2C_DB_URL", url)
        yield url


@pytest.fixture(scope="module", autouse=True)
def _module_schema():
    with pytest.MonkeyPatch.context() as mp:
        yield from _own_schema(mp)


@pytest.fixture(autouse=True)
def _test_schema(request, monkeypatch):
    if request.node.get_closest_marker("module_store"):
        yield None
        return
    yield from _own_schema(monkeypatch)


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
    config.addinivalue_line("markers", "module_store: the module's tests share its schema on PostgreSQL (they read what its module-scoped server wrote)")
    config.addinivalue_line("markers", "slow: takes tens of seconds (a wheel built and installed, a server started); still part of the suite")
