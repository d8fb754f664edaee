"""A hardened server, whatever the mode: no traceback or server path reaches the visitor."""

from __future__ import annotations

import pytest

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import app_page


@pytest.fixture
def demo(tmp_path, monkeypatch, fresh_caches):
    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=5_000).ok
    monkeypatch.setenv("O2C_DATA", str(data))
    return data


def test_a_page_that_fails_shows_an_error_id_not_a_traceback(demo, monkeypatch, caplog):
    from pages import common

    def broken(*a, **k):
        raise RuntimeError(f"cannot read {demo}/snapshots/secret.parquet")

    monkeypatch.setattr(common, "overview", broken)
    at = app_page()  # no exception reaches Streamlit (whose error box would carry the traceback)
    [err] = [e.value for e in at.error]
    assert "error id" in err and "server's log" in err
    assert str(demo) not in err and "Traceback" not in err and "secret.parquet" not in err
    error_id = err.split("error id ")[1][:8]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records), "the traceback is logged with the same id"


def test_local_mode_refuses_to_listen_beyond_this_computer(tmp_path, capsys):
    from dashboard.cli import main

    assert main(["serve", "--address", "0.0.0.0", "--data", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert "local mode has no sign-in" in err and "0.0.0.0" in err
    assert not (tmp_path / "data").exists()  # refused before anything was created
