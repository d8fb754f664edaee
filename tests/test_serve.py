"""The README's first command ends in `o2c serve`: it must start the dashboard and answer."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dashboard.cli import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, free_port


def test_o2c_serve_starts_the_dashboard(tmp_path):
    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=20_000).ok
    port = free_port()
    o2c = Path(sys.executable).parent / "o2c"
    proc = subprocess.Popen(
        [str(o2c), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        else:
            raise AssertionError("the dashboard did not answer within 60 s")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "<title>" in page.lower() or "streamlit" in page.lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_warm_up_fills_the_caches_the_first_visit_reads(tmp_path, monkeypatch, fresh_caches):
    """`o2c serve` calls pages.common.warm() before its first visitor: afterwards the engine and today's
    overview come from Streamlit's caches (opening the snapshot again would fail here)."""
    import logging

    from dashboard.metrics import kpis
    from dashboard.metrics.kpis import Filters
    from pages import common

    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=20_000).ok
    monkeypatch.setenv("O2C_DATA", str(data))
    logging.disable(logging.WARNING)  # Streamlit's "no script run context" outside a run
    try:
        common.warm()

        def no_second_open(*a, **k):
            raise AssertionError("the snapshot was opened again: the warm-up did not fill the cache")

        monkeypatch.setattr(kpis.Engine, "open", no_second_open)
        monkeypatch.setattr(kpis, "overview", no_second_open)
        monkeypatch.setattr(common, "overview", no_second_open)
        sid = DataDir(data).current_id()
        eng = common._engine(sid)
        assert common.cached_overview(sid, eng.as_of, Filters(), eng).headline["ar_total"] is not None
    finally:
        logging.disable(logging.NOTSET)
