"""pytest fixtures; the ledgers and helpers they use live in tests/fixtures.py."""

from __future__ import annotations

import os

import pytest

from tests.fixtures import load, postgres_schema

# The store tests: every test file that opens the workbench store (directly, through a data folder's trail, the
# workbench's core or a command that writes or reads it), serves the app (a server's pages write) or runs a page that
# writes in AppTest. CI (.ci/run) runs them a second time with O2C_DB_URL at PostgreSQL (`pytest -m store`: they carry
# the marker `store`); tests/test_suite_hygiene.py fails when a file that uses the store is missing here. (Any test
# that loads a ledger records the load in the store's audit trail; those whose only use is that are not listed.)
STORE_TESTS = frozenset(
    {
        "test_assignment.py",
        "test_browser.py",
        "test_cli_answers.py",
        "test_cli_as.py",
        "test_collections.py",
        "test_collections_browser.py",
        "test_collections_invariants.py",
        "test_collections_page.py",
        "test_collections_store.py",
        "test_customer_workbench.py",
        "test_data_page.py",
        "test_decisions.py",
        "test_decisions_browser.py",
        "test_decisions_entry_points.py",
        "test_decisions_pages.py",
        "test_decisions_store.py",
        "test_decisions_whatif.py",
        "test_deep_link.py",
        "test_disputes.py",
        "test_disputes_invariant.py",
        "test_disputes_wiring.py",
        "test_dunning.py",
        "test_dunning_browser.py",
        "test_dunning_invariants.py",
        "test_dunning_mail.py",
        "test_dunning_page.py",
        "test_effective_limits_wiring.py",
        "test_engine_memory.py",
        "test_forecast_browser.py",
        "test_ingest_concurrency.py",
        "test_ingest_declared.py",
        "test_ingest_hostile.py",
        "test_ingest_refusals.py",
        "test_install.py",
        "test_login.py",
        "test_page_fixes.py",
        "test_pages_apptest.py",
        "test_pages_present.py",
        "test_prediction.py",
        "test_provisions_overlay.py",
        "test_risk_pages.py",
        "test_scenario_audit.py",
        "test_serve.py",
        "test_serve_costs.py",
        "test_store.py",
        "test_whatif_page.py",
        "test_whatif_selection.py",
        "test_workbench.py",
        "test_worklist_arrays.py",
    }
)


# Store tests that reach the store only because the app opens one while they draw pages (sweeps over every page,
# the serve start-up, the prediction pages) or load files: CI's PostgreSQL pass leaves them out for time (the writes
# they could make are the write-flow tests' above, which it runs). `O2C_DB_URL=... pytest` runs them on PostgreSQL too.
PAGE_SWEEPS = frozenset(
    {
        "test_engine_memory.py",
        "test_ingest_concurrency.py",
        "test_page_fixes.py",
        "test_pages_apptest.py",
        "test_pages_present.py",
        "test_prediction.py",
        "test_risk_pages.py",
        "test_serve.py",
        "test_serve_costs.py",
        "test_whatif_page.py",
        "test_whatif_selection.py",
    }
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in STORE_TESTS:
            item.add_marker(pytest.mark.store)
        if item.path.name in PAGE_SWEEPS:
            item.add_marker(pytest.mark.page_sweep)


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
    config.addinivalue_line("markers", "store: a store test (STORE_TESTS): CI runs it again with the workbench store on PostgreSQL")
    config.addinivalue_line("markers", "page_sweep: a store test that reaches the store only through the app it draws (PAGE_SWEEPS)")
    config.addinivalue_line("markers", "module_store: the module's tests share its schema on PostgreSQL (they read what its module-scoped server wrote)")
    config.addinivalue_line("markers", "slow: takes tens of seconds (a wheel built and installed, a server started); still part of the suite")
