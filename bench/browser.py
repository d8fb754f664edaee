"""Benchmark: how long the executive overview takes to settle in a real browser.

    .venv/bin/python bench/browser.py [--visits 15] [--data DIR] [--out bench/results/browser.json]

Starts the dashboard the way the README does (`o2c serve`, on the default demo ledger in a
work folder unless --data is given) and a bare Streamlit page ("hello world", same config) as
the baseline measured in the same run: the framework's own floor on this machine. Each visit
uses a fresh browser context (Debian's chromium, headless), so nothing is cached: the first
visit of a new user. A second series reuses one context (a returning user, scripts cached).

"Settled" means every tile and all four charts (trends, aging, top customers) are drawn. Not a
test: it prints and writes figures (median, p90, max, and ratios to the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
OVERVIEW_SETTLED = (
    "document.querySelectorAll('[data-testid=stMetric]').length >= 12"
    " && document.querySelectorAll('[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg').length >= 4"
)
HELLO_SETTLED = "document.body.innerText.includes('hello, world')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 300  # a first `o2c serve` creates the demo ledger
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    raise SystemExit(f"{' '.join(cmd)} did not answer within 300 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def visits(browser, url: str, settled: str, n: int, fresh: bool) -> list[float]:
    times, ctx = [], None if fresh else browser.new_context(viewport={"width": 1500, "height": 1100})
    for _ in range(n):
        page = browser.new_page(viewport={"width": 1500, "height": 1100}) if fresh else ctx.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_function(f"() => {settled}", timeout=60_000, polling=20)
        times.append(time.perf_counter() - t0)
        page.context.close() if fresh else page.close()
    if ctx:
        ctx.close()
    return times


def summary(xs: list[float]) -> dict:
    s = sorted(xs)
    return {
        "median_s": round(statistics.median(s), 3),
        "p90_s": round(s[max(0, int(round(0.9 * len(s))) - 1)], 3),
        "max_s": round(s[-1], 3),
        "runs": [round(x, 3) for x in xs],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=15)
    ap.add_argument(
        "--data",
        type=Path,
        default=REPO / "bench" / "work" / "browser-data",
        help="data folder for `o2c serve` (created with the default demo ledger when empty)",
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "browser.json")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    o2c = Path(sys.executable).parent / "o2c"
    app_port, hello_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp)
        (hello / ".streamlit").mkdir()
        (hello / ".streamlit" / "config.toml").write_text((REPO / ".streamlit" / "config.toml").read_text())
        (hello / "hello.py").write_text('import streamlit as st\n\nst.write("hello, world")\n')
        app = start([str(o2c), "serve", "--port", str(app_port), "--data", str(args.data)], app_port, REPO)
        base = start([str(Path(sys.executable).parent / "streamlit"), "run", "hello.py", "--server.port", str(hello_port)], hello_port, hello)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                first = visits(browser, f"http://127.0.0.1:{app_port}/", OVERVIEW_SETTLED, 1, fresh=True)  # the first visit after start
                # Interleaved, so that whatever else the machine does weighs on both alike.
                over, floor, load = [], [], []
                for _ in range(args.visits):
                    over += visits(browser, f"http://127.0.0.1:{app_port}/", OVERVIEW_SETTLED, 1, fresh=True)
                    floor += visits(browser, f"http://127.0.0.1:{hello_port}/", HELLO_SETTLED, 1, fresh=True)
                    load.append(os.getloadavg()[0])  # the cores are shared: the ratio is the steadier figure
                returning = visits(browser, f"http://127.0.0.1:{app_port}/", OVERVIEW_SETTLED, args.visits + 1, fresh=False)[1:]
                browser.close()
        finally:
            stop(app)
            stop(base)
    result = {
        "what": "executive overview of the default demo ledger, settled in headless chromium (12 tiles, 4 charts)",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1min_during": {"min": round(min(load), 2), "mean": round(sum(load) / len(load), 2), "max": round(max(load), 2)},
        },
        "first_visit_after_start_s": round(first[0], 3),
        "overview_new_visitor": summary(over),
        "overview_returning_visitor": summary(returning),
        "baseline_streamlit_hello_world": summary(floor),
    }
    result["ratio_overview_to_hello_world_median"] = round(result["overview_new_visitor"]["median_s"] / result["baseline_streamlit_hello_world"]["median_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    o, r, h = result["overview_new_visitor"], result["overview_returning_visitor"], result["baseline_streamlit_hello_world"]
    print(f"overview, new visitor:       median {o['median_s']:.2f} s  p90 {o['p90_s']:.2f}  max {o['max_s']:.2f}  ({args.visits} visits)")
    print(f"overview, returning visitor: median {r['median_s']:.2f} s  p90 {r['p90_s']:.2f}  max {r['max_s']:.2f}")
    print(f"first visit after start:     {result['first_visit_after_start_s']:.2f} s")
    print(f"baseline, Streamlit hello:   median {h['median_s']:.2f} s  -> overview = {result['ratio_overview_to_hello_world_median']}x the framework's floor")
    la = result["machine"]["load_avg_1min_during"]
    print(f"load average (1 min) during the visits: mean {la['mean']:.1f}, min {la['min']:.1f}, max {la['max']:.1f}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
