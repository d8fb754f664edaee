"""The README's first command ends in `o2c serve`: it must start the dashboard and answer."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, free_port, script_run, wait_for_health


def test_o2c_serve_starts_the_dashboard(tmp_path):
    """Streamlit's HTML shell at / is the same for any app: what proves it is ours is a script run over
    the websocket, as the browser's page asks for one, drawing our pages from the --data folder."""
    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=20_000).ok
    port = free_port()
    o2c = Path(sys.executable).parent / "o2c"
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(o2c), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, stdout=err, stderr=err, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc)
        assert f"Dashboard on http://localhost:{port}" in log.read_text(), log.read_text()[-2000:]
        run = script_run(url)
        assert run.finished == 0, f"the script run did not finish successfully ({run.finished})"
        assert not run.of("exception"), [e.message for e in run.of("exception")]
        assert run.page_title == "O2C Credit Cockpit"
        assert run.pages == [
            "Executive overview",
            "Aging",
            "Credit exposure",
            "At-risk customers",
            "Customer",
            "Cash-in forecast",
            "Provisions",
            "What-if studio",
            "Collections",
            "Dunning",
            "Disputes",
            "Credit decisions",
            "Data",
            "Audit trail",
        ]  # local mode: the administrator sees every page
        assert [h.body for h in run.of("heading")][:1] == ["Executive overview"]
        assert run.metric("AR total").startswith("USD ")
        # the figures come from the snapshot of the folder we gave it
        sid = DataDir(data).current_id()
        assert any(sid in m.body for m in run.of("markdown")), f"snapshot {sid} is not named on the page"
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
        eng = common._engine(sid, common._seen["limits"])  # the state of the limit decisions warm() saw
        assert common.cached_overview(sid, eng.as_of, Filters(), eng).headline["ar_total"] is not None
    finally:
        logging.disable(logging.NOTSET)
