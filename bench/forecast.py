"""Benchmark: the cash-in forecast alone for a new as-of date, warm (forecast.md; issue 16's target:
under 500 ms at 10M documents).

    .venv/bin/python bench/forecast.py --data DIR [--repeat 7] [--profile] [--with-backtest]

The engine is opened as the dashboard opens it (in memory). The forecast is made once at the
snapshot's date (warm-up: the history, the held spans, the first query plans), then for each repeat
at a date never asked before. Prints the median and slowest wall time and the median CPU time of
the process (all threads), in ms, and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

from dashboard.forecast import backtest, cashin
from dashboard.metrics.kpis import Engine
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--offset", type=int, default=0, help="days before the snapshot's date of the first date asked")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the repeats (cumulative)")
    ap.add_argument(
        "--with-backtest",
        action="store_true",
        help="time the forecast with its backtest (the Forecast page's whole figure), after the backtest points the dashboard prepares after a load",
    )
    args = ap.parse_args()
    data = DataDir(args.data)
    snap = data.current()
    assert snap is not None, f"no snapshot in {args.data}"
    eng = Engine.open(snap, load_settings(data.root), in_memory=True)
    cashin.forecast(eng, eng.as_of)  # warm-up
    prepared: dict[str, float] = {}
    if args.with_backtest:
        start, start_cpu = time.perf_counter(), time.process_time()
        points = backtest.prepare(eng)  # what `o2c serve`'s warm-up starts on a thread of its own after a load
        prepared = {"points": points, "wall_s": round(time.perf_counter() - start, 2), "cpu_s": round(time.process_time() - start_cpu, 2)}
    load0 = os.getloadavg()
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
    times, cpu = [], []
    for k in range(1, args.repeat + 1):
        t = eng.as_of - dt.timedelta(days=args.offset + 3 * k)  # a date not asked before in this process
        start, start_cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        fc = cashin.forecast(eng, t)
        if args.with_backtest:
            backtest.backtest(eng, t)
        if prof:
            prof.disable()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    if prof:
        import pstats

        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    print(
        json.dumps(
            {
                "documents": snap.manifest["rows"]["invoices"],
                "open_documents": fc.documents,
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "cpu_median_ms": round(statistics.median(cpu), 1),
                "with_backtest": args.with_backtest,
                "prepared": prepared,
                "load_average": [round(x, 2) for x in (*load0, *os.getloadavg())],
            }
        )
    )


if __name__ == "__main__":
    main()
