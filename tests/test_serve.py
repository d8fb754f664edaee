"""The README's first command ends in `o2c serve`: it must start the dashboard and answer."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import REPO
from dashboard.cli import make_demo
from dashboard.snapshots import DataDir
from test_browser import free_port


def test_o2c_serve_starts_the_dashboard(tmp_path):
    data = tmp_path / "data"
    assert make_demo(DataDir(data), invoices=20_000).ok
    port = free_port()
    o2c = Path(sys.executable).parent / "o2c"
    proc = subprocess.Popen([str(o2c), "serve", "--port", str(port), "--data", str(data)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
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
