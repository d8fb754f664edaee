"""Benchmark: everything the executive overview shows, on a large demo ledger, against a
straightforward pandas implementation of the same KPIs measured in the same run.

    .venv/bin/python bench/run.py [--invoices 10000000] [--repeat 20] [--out bench/results/latest.json]

Not a test: it prints and writes figures (ratios against the pandas baseline
measured in the same run), and checks that both give the same numbers.
Work files (the extract and the data folder) go to bench/work/ (git-ignored)
and are reused when the arguments are the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import pandas_baseline  # noqa: E402

from dashboard.load.demo import write_demo_extract  # noqa: E402
from dashboard.load.ingest import ingest  # noqa: E402
from dashboard.metrics.kpis import Engine, Filters, month_ends_before, overview, prior_month_end  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.store.snapshots import DataDir  # noqa: E402


def timed(fn, repeat: int = 1) -> tuple[list[float], object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def compare(a: dict, b: dict, path: str = "") -> list[str]:
    """Differences between two headline dicts (amounts may differ by summation order: 0.011)."""
    diffs = []
    for k in a:
        va, vb = a[k], b.get(k, "MISSING")
        if isinstance(va, dict):
            diffs += compare(va, vb if isinstance(vb, dict) else {}, f"{path}{k}.")
        elif isinstance(va, list):
            sa = {r["segment"]: r for r in va}
            sb = {r["segment"]: r for r in (vb if isinstance(vb, list) else [])}
            for s in sa.keys() | sb.keys():
                diffs += compare(sa.get(s, {}), sb.get(s, {}), f"{path}{k}[{s}].")
        elif isinstance(va, float) and isinstance(vb, (int, float)):
            if abs(va - vb) > 0.011:
                diffs.append(f"{path}{k}: engine {va} vs pandas {vb}")
        elif va != vb:
            diffs.append(f"{path}{k}: engine {va} vs pandas {vb}")
    return diffs


def rss_of(cmd: list[str]) -> tuple[float, float, str]:
    """Wall time and peak memory (MB) of a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    peak_kb = float(proc.stderr.strip().splitlines()[-1]) if proc.stderr.strip() else float("nan")
    return wall, peak_kb / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = ap.parse_args()
    work = REPO / "bench" / "work" / f"demo-{args.invoices}-{args.seed}"
    extract, data_root = work / "extract", work / "data"
    res: dict = {"invoices": args.invoices, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": dt.date.today().isoformat()}

    if not (extract / "invoices.parquet").exists():
        print(f"writing a {args.invoices:,}-document demo extract ...", flush=True)
        t, _ = timed(lambda: write_demo_extract(extract, invoices=args.invoices, seed=args.seed))
        res["demo_extract_s"] = round(t[0], 1)

    # 1. Load: check the Parquet extract whole and publish a queryable snapshot.
    data = DataDir(data_root)
    print("ingesting the Parquet extract ...", flush=True)
    t, r = timed(lambda: ingest([extract], data, Settings(), source="bench"))
    assert r.ok, r.report.to_text()
    res["ingest_parquet_s"] = round(t[0], 2)
    res["ingest_timings"] = {k: round(v, 2) for k, v in r.timings.items()}
    snap = r.snapshot
    T = snap.as_of

    # 2. Engine: cold (open the snapshot in memory + first overview), then warm.
    settings = Settings()
    t_open, eng = timed(lambda: Engine.open(snap, settings, in_memory=True))
    t_first, _ = timed(lambda: overview(eng, T))
    res["engine_open_s"] = round(t_open[0], 3)
    res["engine_cold_overview_s"] = round(t_open[0] + t_first[0], 3)
    warm, _ = timed(lambda: overview(eng, T), args.repeat)
    res["engine_warm_overview_ms"] = {"median": round(statistics.median(warm) * 1000, 1), "p95": round(p95(warm) * 1000, 1)}
    # a new selection each time: nothing of it computed before
    dims = eng.dimensions()
    views = [(T - dt.timedelta(days=7 * i), Filters(segments=(dims["segments"][i % len(dims["segments"])],))) for i in range(1, 9)]
    fresh = []
    for t_, f_ in views:
        tt, _ = timed(lambda: overview(eng, t_, f_))
        fresh.append(tt[0])
    res["engine_new_selection_overview_ms"] = {"median": round(statistics.median(fresh) * 1000, 1), "max": round(max(fresh) * 1000, 1)}

    # 3. The pandas baseline, same process, same data held in memory.
    print("pandas baseline ...", flush=True)
    t_load, tables = timed(lambda: pandas_baseline.load_extract(extract))
    res["pandas_load_s"] = round(t_load[0], 2)
    points = month_ends_before(T, settings.trend_months) + [T, prior_month_end(T)]

    def pandas_overview():
        # What an analyst would do: the headline at T, at the prior month-end, and at each trend point.
        return [pandas_baseline.headline(tables, as_of=d) for d in points]

    pw, pout = timed(pandas_overview, 1)
    res["pandas_warm_overview_s"] = round(statistics.median(pw), 2)
    res["speedup_warm_overview"] = round(statistics.median(pw) / statistics.median(warm), 1)
    ph, _ = timed(lambda: pandas_baseline.headline(tables, as_of=T), 2)
    eh, _ = timed(lambda: eng.headline(T), args.repeat)
    res["headline_only_ms"] = {
        "engine": round(statistics.median(eh) * 1000, 1),
        "pandas": round(statistics.median(ph) * 1000, 1),
        "speedup": round(statistics.median(ph) / statistics.median(eh), 1),
    }

    # 4. Same numbers?
    diffs = compare(eng.headline(T), pandas_baseline.headline(tables, as_of=T))
    prior = prior_month_end(T)
    diffs += [f"at {prior}: {d}" for d in compare(eng.headline(prior), pandas_baseline.headline(tables, as_of=prior))]
    res["same_numbers"] = not diffs
    res["differences"] = diffs[:20]
    del tables, pout
    gc.collect()

    # 5. Fresh processes: `o2c kpis --json` against a pandas script on the same extract.
    print("fresh processes ...", flush=True)
    o2c = [str(REPO / ".venv" / "bin" / "o2c"), "kpis", "--json", "--data", str(data_root)]
    pandas_cmd = [sys.executable, str(REPO / "bench" / "pandas_baseline.py"), str(extract)]
    cli = [rss_of(o2c) for _ in range(3)]
    pan = [rss_of(pandas_cmd) for _ in range(2)]
    res["cli_kpis_s"] = round(min(c[0] for c in cli), 2)
    res["cli_kpis_peak_mb"] = round(max(c[1] for c in cli))
    res["pandas_process_s"] = round(min(p[0] for p in pan), 2)
    res["pandas_process_peak_mb"] = round(max(p[1] for p in pan))
    res["speedup_fresh_process"] = round(res["pandas_process_s"] / res["cli_kpis_s"], 1)
    same_cli = compare(json.loads(cli[0][2]), json.loads(pan[0][2]))
    res["cli_same_numbers_as_pandas_process"] = not same_cli

    # 6. Memory of a dashboard-like process: snapshot in memory + overview.
    probe = (
        "import sys; sys.path.insert(0, %r)\n"
        "from dashboard.metrics.kpis import Engine, overview\nfrom dashboard.settings import Settings\nfrom dashboard.store.snapshots import DataDir\n"
        "e = Engine.open(DataDir(%r).current(), Settings(), in_memory=True)\noverview(e)\n"
        "import streamlit, plotly\n"
    ) % (str(REPO), str(data_root))
    _, peak, _ = rss_of([sys.executable, "-c", probe])
    res["dashboard_engine_peak_mb"] = round(peak)
    res["bench_process_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    # 7. What-if: the per-customer baseline once, then each lever change as arithmetic over customers.
    # Comparator: recomputing the baseline from the ledger at every change (no cache).
    print("what-if ...", flush=True)
    from dashboard.whatif import model as S

    t_base, b = timed(lambda: S.baseline(eng, T))
    res["whatif_customers"] = b.customers.height
    res["whatif_baseline_s"] = round(t_base[0], 3)
    changes = [
        S.parse_scenario(
            {
                "levers": [
                    {"kind": "terms", "days": (i % 31) - 15, "segment": dims["segments"][i % len(dims["segments"])]},
                    {"kind": "collections", "reduction": (i % 10) / 10},
                    {"kind": "discount", "rate": 0.02, "within_days": 10, "uptake": (i % 5) / 5},
                    {"kind": "limits", "pct": ((i % 21) - 10) / 10},
                ]
            }
        )
        for i in range(100)
    ]
    per = [timed(lambda sc=sc: S.run(b, sc))[0][0] for sc in changes]
    res["whatif_per_change_ms"] = {"median": round(statistics.median(per) * 1000, 1), "p95": round(p95(per) * 1000, 1), "changes": len(per)}
    nocache = [timed(lambda sc=sc: S.run(S.baseline(eng, T), sc))[0][0] for sc in changes[:3]]
    res["whatif_no_cache_per_change_ms"] = round(statistics.median(nocache) * 1000, 1)
    res["speedup_whatif_cached_vs_no_cache"] = round(statistics.median(nocache) / statistics.median(per), 1)

    # 9. Exposure and at-risk pages: everything they compute, for an as-of date not seen before
    # (the page caches then make a rerun free). Comparator: the overview at the same dates.
    print("exposure and at-risk ...", flush=True)
    from dashboard.metrics import exposure
    from dashboard.risk import scorecard as risk

    def exposure_page(t_):
        s_ = risk.scores(eng, t_)
        return [exposure.by(s_, "segment"), exposure.watch_list(s_), exposure.utilisation_bins(s_), exposure.heatmap(s_, risk.CLASSES), exposure.pareto(s_)]

    def at_risk_page(t_):
        top_ = risk.rank(risk.scores(eng, t_)).head(500)
        return risk.reasons(top_), risk.backtest(eng, t_)

    dates = [T - dt.timedelta(days=3 + 7 * i) for i in range(5)]
    for name, fn in (("exposure_page", exposure_page), ("at_risk_page", at_risk_page), ("overview_same_dates", lambda t_: overview(eng, t_))):
        ts = [timed(lambda t_=t_: fn(t_))[0][0] for t_ in dates]
        res[f"{name}_new_date_ms"] = {"median": round(statistics.median(ts) * 1000, 1), "max": round(max(ts) * 1000, 1)}
    res["backtest_auc"] = risk.backtest(eng, T)["auc"]

    # 8. Loading in a fresh process, Parquet and CSV: time and peak memory of the whole load
    # (read, check everything, write the snapshot, derive), against pandas merely reading the same files.
    print("fresh-process loads ...", flush=True)
    csv_dir = work / "extract-csv"
    if not (csv_dir / "invoices.csv").exists():
        import polars as pl

        csv_dir.mkdir(parents=True, exist_ok=True)
        for f in extract.glob("*.parquet"):
            pl.read_parquet(f).write_csv(csv_dir / f"{f.stem}.csv")
    for fmt, src in (("parquet", extract), ("csv", csv_dir)):
        target = work / f"data-fresh-{fmt}"
        subprocess.run(["rm", "-rf", str(target)], check=True)
        wall, peak, out = rss_of([str(REPO / ".venv" / "bin" / "o2c"), "ingest", str(src), "--data", str(target), "--json"])
        assert json.loads(out)["rows"]["invoices"] == args.invoices, out[:500]
        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        pwall, ppeak, _ = rss_of(
            [sys.executable, "-c", f"import pandas as pd, pathlib; [pd.{reader}(f) for f in sorted(pathlib.Path({str(src)!r}).iterdir())]"]
        )
        res[f"load_{fmt}_fresh_process"] = {
            "seconds": round(wall, 1),
            "peak_mb": round(peak),
            "pandas_read_only_seconds": round(pwall, 1),
            "pandas_read_only_peak_mb": round(ppeak),
            "ratio_to_pandas_read": round(wall / pwall, 2),
        }
        subprocess.run(["rm", "-rf", str(target)], check=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
