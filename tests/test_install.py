"""The package works installed, outside the repository: a wheel built from this checkout, installed
into a fresh virtual environment, run from a folder that is not the repository, with the repository
on no path. `o2c demo`, `o2c kpis --json` (figures checked against tests/oracle.py) and `o2c serve`
(the app's pages and SQL must travel inside the wheel) must all work.

The new environment sees the project's locked dependencies through a .pth line naming the project
environment's site-packages (a plain path: the .pth files in there, such as the editable install's
pointer to this checkout, are not read), so nothing is downloaded and the run takes seconds.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from dashboard.load.demo import DEMO_AS_OF
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, free_port, script_run, wait_for_health
from tests.oracle import Oracle, differences, read_parquet_extract

pytestmark = pytest.mark.slow


def uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if found.exists():
        return str(found)
    if shutil.which("uv"):
        return shutil.which("uv")
    pytest.skip("uv is not installed (bash scripts/install puts it in .venv/bin)")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the new environment's bin folder, a folder outside the repository, an environment for its commands)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run([uv(), "build", "--wheel", "--quiet", "-o", str(tmp / "dist")], cwd=REPO, check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("o2c_credit_cockpit-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(site, "o2c_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([uv(), "pip", "install", "--quiet", "--offline", "--no-deps", "--python", str(python), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "O2C_DATA", "O2C_SETTINGS", "PYTHONSAFEPATH")}
    return venv / "bin", elsewhere, env


def run(installed, *args: str) -> subprocess.CompletedProcess:
    bin_, elsewhere, env = installed
    return subprocess.run([str(bin_ / args[0]), *args[1:]], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)


def test_the_installed_package_is_the_one_imported_and_the_repository_is_on_no_path(installed):
    bin_, elsewhere, _ = installed
    out = run(installed, "python", "-c", "import json, sys, dashboard, pages; print(json.dumps([dashboard.__file__, pages.__file__, sys.path]))")
    assert out.returncode == 0, out.stderr
    dashboard_file, pages_file, path = json.loads(out.stdout)
    venv = bin_.parent.resolve()
    assert Path(dashboard_file).resolve().is_relative_to(venv) and Path(pages_file).resolve().is_relative_to(venv), (dashboard_file, pages_file)
    project_env = (REPO / ".venv").resolve()
    for entry in path:
        p = (elsewhere / entry).resolve()  # "" is the folder the command runs in
        assert not p.is_relative_to(REPO) or p.is_relative_to(project_env), f"{entry} (the repository) is on sys.path"


def test_demo_and_kpis_from_the_installed_package(installed, tmp_path):
    data = tmp_path / "data"
    demo = run(installed, "o2c", "demo", "--invoices", "5000", "--data", str(data))
    assert demo.returncode == 0, demo.stderr[-2000:]
    out = run(installed, "o2c", "kpis", "--json", "--data", str(data))
    assert out.returncode == 0, out.stderr[-2000:]
    h = json.loads(out.stdout)
    # 5,000 demo invoices: one customer per 75 invoices -> 66; three years ending the demo's as-of date
    assert h["as_of"] == DEMO_AS_OF.isoformat() and h["customers"] == 66
    assert h["ar_total"] > 0 and h["dso_standard"] > 0 and h["cei"] is not None and h["exposure_total"] >= h["ar_total"]
    # and they are the spec's figures, computed by the oracle from the extract the snapshot keeps
    snap = DataDir(data).current()
    want = Oracle(read_parquet_extract(snap.path / "source")).headline(DEMO_AS_OF)
    assert not differences(h, want, abs_=0.0051), differences(h, want, abs_=0.0051)


def test_serve_from_the_installed_package(installed, tmp_path):
    data = tmp_path / "data"
    assert run(installed, "o2c", "demo", "--invoices", "5000", "--data", str(data)).returncode == 0
    bin_, elsewhere, env = installed
    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(bin_ / "o2c"), "serve", "--port", str(port), "--data", str(data)], cwd=elsewhere, env=env, stdout=out, stderr=out, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_health(url, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
        # the server runs the router and the pages shipped in the wheel
        if Path(f"/proc/{proc.pid}/cwd").exists():
            assert Path(os.readlink(f"/proc/{proc.pid}/cwd")).resolve().is_relative_to(bin_.parent.resolve())
        page = script_run(url)
        assert page.finished == 0 and not page.of("exception"), [e.message for e in page.of("exception")] or log.read_text()[-3000:]
        assert page.page_title == "O2C Credit Cockpit" and "Executive overview" in page.pages
        assert [h.body for h in page.of("heading")][:1] == ["Executive overview"]
        assert page.metric("AR total").startswith("USD ")
        assert any(DataDir(data).current_id() in m.body for m in page.of("markdown"))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
