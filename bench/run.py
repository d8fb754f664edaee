"""Benchmark: the product against what skilled users would write themselves, measured in the same run.

    .venv/bin/python bench/run.py --invoices 200000      # dev size, ~2 min (writes bench/results/bench-200k.json)
    .venv/bin/python bench/run.py --invoices 10000000    # the published figures (bench-10m.json), ~12-17 min on 2 quiet cores
                                                         # (incl. writing the 10M extract and its CSV copy the first time)
    .venv/bin/python bench/speed_section.py bench/results/bench-10m.json    # the README's Speed summary from it

--repeat (default 7) new dates per measure; --slow-repeat (default 3) for a baseline whose overview
at T took over --slow-s (1 s); --fresh-repeat (default 3); --baselines; --skip; see bench/README.md.

Baselines (bench/baselines/, each written from ../shared/spec/kpis.md and the ledger contract
alone; nothing of dashboard/ is imported for the computation):
  polars_prepared  polars + numpy, one-time preparation in memory (spans of days sorted by the
                   day they close, daily prefix sums of AR / aging / sales / settlements, dense keys)
  duckdb_mem       DuckDB SQL, the converted extract prepared once in DuckDB's memory
  duckdb_raw       DuckDB SQL on the extract's raw Parquet files, nothing kept between calls
  pandas           competent pandas: merges and daily series once, vectorised masks per date
  fresh processes: polars_fresh.py (lazy scans of the raw Parquet), duckdb_raw.py and
                   pandas_competent.py, each printing the Headline JSON for one date, against
                   `o2c kpis --json` (which reads the snapshot the product derived at ingest).

What is measured per as-of date: everything the executive overview shows (headline at T and at
the prior month-end, the 13 trend points, top-10 customers by overdue, aging by segment and
region), and the headline alone. Each repeat uses a new as-of date (never computed before in
this run), the same date for the product and every baseline, run interleaved in a rotating
order so machine noise hits all. Every result is compared with the product's (every headline
key, the trend, the top 10, the aging cells; abs/rel tolerance 1e-6) at every date, month-ends
and mid-month dates among them: any difference fails the run (exit 1, nothing written but a
*.failed.json). Ratios are against the best baseline per measure (product / best: above 1 =
the product is slower).

Also measured, as before: loading Parquet and CSV extracts in a fresh process (time, peak
memory) against merely reading them with pandas and polars; what-if per lever change; the
exposure and at-risk pages for a new date; memory of a dashboard-like process.

Work files (extracts, data folders) go to bench/work/ (git-ignored) and the extract is reused
when the arguments are the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import checks  # noqa: E402
from baselines import duckdb_raw, pandas_competent, polars_prepared  # noqa: E402
from baselines import spec as bspec  # noqa: E402

from dashboard.load.demo import write_demo_extract  # noqa: E402
from dashboard.load.ingest import ingest  # noqa: E402
from dashboard.metrics.kpis import Engine, Filters, overview  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.store.snapshots import DataDir  # noqa: E402

PY = sys.executable
O2C = str(REPO / ".venv" / "bin" / "o2c")
BASELINES = {
    "polars_prepared": ("polars + numpy, prepared in memory", lambda x: polars_prepared.Prepared(x)),
    "duckdb_mem": ("DuckDB SQL, prepared in DuckDB's memory", lambda x: duckdb_raw.Raw(x, prepared=True)),
    "duckdb_raw": ("DuckDB SQL on the raw Parquet, nothing kept", lambda x: duckdb_raw.Raw(x)),
    "pandas": ("competent pandas, prepared in memory", lambda x: pandas_competent.Prepared(x)),
}
FRESH = {
    "polars_fresh": "bench/baselines/polars_fresh.py",
    "duckdb_raw": "bench/baselines/duckdb_raw.py",
    "pandas": "bench/baselines/pandas_competent.py",
}


def timed(fn, repeat: int = 1) -> tuple[list[float], object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def p95(xs: list[float]) -> float:
    """Nearest rank (with a handful of repeats: the largest but none)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def stats_ms(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs) * 1000, 1), "p95": round(p95(xs) * 1000, 1), "n": len(xs)}


def compare(a: dict, b: dict, path: str = "") -> list[str]:
    """Differences between two rounded headline dicts (amounts may differ by summation order: 0.011).
    Kept for tests/test_cross_check.py (bench/pandas_baseline.py as an oracle); the bench itself uses checks.py."""
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
    if proc.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    peak_kb = float(proc.stderr.strip().splitlines()[-1]) if proc.stderr.strip() else float("nan")
    return wall, peak_kb / 1024, proc.stdout


def new_dates(t: dt.date, n: int, avoid: set[dt.date] = frozenset()) -> list[dt.date]:
    """n distinct as-of dates before T, none of them T, its prior month-end (both computed in the warm-up)
    or in `avoid`: every third a month-end, every third the 15th, the others any day of the month."""
    out: list[dt.date] = []
    seen = {t, bspec.prior_month_end(t), *avoid}
    i = 0
    while len(out) < n:
        d = t - dt.timedelta(days=9 + 13 * i)
        if i % 3 == 1:
            d = bspec.prior_month_end(d)
        elif i % 3 == 2:
            d = d.replace(day=15)
        i += 1
        if d not in seen and d < t:
            seen.add(d)
            out.append(d)
    return out


def ratio_row(product: float, baselines: dict[str, float], more: str = "slower", less: str = "faster") -> dict:
    """The product against the best (lowest) baseline: product / best, and in words."""
    best = min(baselines, key=baselines.get)
    r = product / baselines[best]
    return {
        "best_baseline": best,
        "best_baseline_value": baselines[best],
        "product_value": product,
        "product_over_best": round(r, 2),
        "verdict": f"product {r:.1f}x {more}" if r > 1 else f"product {1 / r:.1f}x {less}",
    }


def size_label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def fail(res: dict, out: Path, diffs: list[str]) -> None:
    res["same_numbers"] = False
    res["differences"] = diffs[:200]
    failed = out.with_suffix(".failed.json")
    failed.parent.mkdir(parents=True, exist_ok=True)
    failed.write_text(json.dumps(res, indent=2, default=str))
    bar = "!" * 78
    print(f"\n{bar}\nFAILED: the product and a baseline disagree ({len(diffs)} differences); first ones:", file=sys.stderr)
    for d in diffs[:40]:
        print("  " + d, file=sys.stderr)
    print(f"details: {failed}\n{bar}", file=sys.stderr)
    raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--invoices", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=7, help="new as-of dates per in-process measure (overview, headline)")
    ap.add_argument("--slow-repeat", type=int, default=3, help="repeats for a baseline whose overview at T took over --slow-s seconds")
    ap.add_argument("--slow-s", type=float, default=1.0)
    ap.add_argument("--fresh-repeat", type=int, default=3, help="fresh processes per command (kpis JSON)")
    ap.add_argument("--baselines", default=",".join(BASELINES), help=f"comma list of {', '.join(BASELINES)}")
    ap.add_argument("--skip", default="", help="comma list of sections to leave out: fresh, loads, whatif, pages, memory")
    ap.add_argument("--out", type=Path, default=None, help="default bench/results/bench-<size>.json (bench-10m.json at 10M)")
    args = ap.parse_args()
    chosen = [b for b in args.baselines.split(",") if b]
    unknown = set(chosen) - set(BASELINES)
    if unknown:
        ap.error(f"unknown baselines {sorted(unknown)}")
    skip = set(filter(None, args.skip.split(",")))
    out = args.out or REPO / "bench" / "results" / f"bench-{size_label(args.invoices)}.json"
    work = REPO / "bench" / "work" / f"demo-{args.invoices}-{args.seed}"
    extract, data_root = work / "extract", work / "data"
    t_start = time.perf_counter()
    res: dict = {
        "invoices": args.invoices,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": dt.date.today().isoformat(),
        "repeat": args.repeat,
        "baselines": {b: BASELINES[b][0] for b in chosen},
        # other sessions share the cores: the 1, 5 and 15 minute load averages at the start, per section, at the end
        "load_average": {"start": [round(x, 1) for x in os.getloadavg()]},
    }

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f} s] {msg} (load {os.getloadavg()[0]:.1f})", flush=True)

    def load_at(section: str) -> None:
        res["load_average"][section] = [round(x, 1) for x in os.getloadavg()]

    if not (extract / "invoices.parquet").exists():
        say(f"writing a {args.invoices:,}-document demo extract ...")
        t, _ = timed(lambda: write_demo_extract(extract, invoices=args.invoices, seed=args.seed))
        res["demo_extract_s"] = round(t[0], 1)

    # 1. Load in this process: check the Parquet extract whole and publish a queryable snapshot.
    shutil.rmtree(data_root, ignore_errors=True)
    data = DataDir(data_root)
    say("ingesting the Parquet extract ...")
    t, r = timed(lambda: ingest([extract], data, Settings(), source="bench"))
    assert r.ok, r.report.to_text()
    res["ingest_parquet_s"] = round(t[0], 2)
    res["ingest_timings"] = {k: round(v, 2) for k, v in r.timings.items()}
    snap = r.snapshot
    T = snap.as_of
    res["as_of"] = T.isoformat()

    # 2. The product's engine: open (snapshot in memory) + first overview, the same date again (nothing
    # per date is cached), and a new date with a segment selection (its day series built on first use).
    settings = Settings()
    t_open, eng = timed(lambda: Engine.open(snap, settings, in_memory=True))
    t_first, ov_T = timed(lambda: overview(eng, T))
    res["customers"] = ov_T.headline["customers"]
    res["engine_open_s"] = round(t_open[0], 3)
    res["engine_cold_overview_s"] = round(t_open[0] + t_first[0], 3)
    same, _ = timed(lambda: overview(eng, T), args.repeat)
    res["product_overview_same_date_ms"] = stats_ms(same)
    dims = eng.dimensions()
    sel = [(T - dt.timedelta(days=7 * i + 3), Filters(segments=(dims["segments"][i % len(dims["segments"])],))) for i in range(1, 5)]
    res["product_overview_new_date_and_segment_ms"] = stats_ms([timed(lambda t_=t_, f_=f_: overview(eng, t_, f_))[0][0] for t_, f_ in sel])

    # 3. Baselines: one-time preparation each (timed apart), then a warm-up at T checked against the product.
    prepared, prep_s, warm_s = {}, {}, {}
    diffs: list[str] = []
    product_T = checks.product_overview(ov_T)
    for b in chosen:
        say(f"preparing {b} ...")
        gc.collect()
        t, prepared[b] = timed(lambda b=b: BASELINES[b][1](extract))
        prep_s[b] = round(t[0], 2)
        t, ov_b = timed(lambda b=b: prepared[b].overview(T))
        warm_s[b] = t[0]
        diffs += [f"{b} at {T}: {d}" for d in checks.diff_overview(product_T, ov_b)]
    res["baseline_preparation_s"] = prep_s
    # A baseline that takes seconds per overview (it works over every document per date) gets fewer repeats.
    repeats = {b: (min(args.repeat, args.slow_repeat) if warm_s[b] > args.slow_s else args.repeat) for b in chosen}
    res["repeats"] = {"product": args.repeat} | repeats

    # 4. Interleaved, new dates per repeat: the overview, then the headline alone.
    contenders = ["product", *chosen]
    pool = new_dates(T, 2 * args.repeat)
    dates_ov, dates_hl = pool[0::2], pool[1::2]
    res["dates_overview"] = [d.isoformat() for d in dates_ov]
    res["dates_headline"] = [d.isoformat() for d in dates_hl]
    ov_times: dict[str, list[float]] = {c: [] for c in contenders}
    hl_times: dict[str, list[float]] = {c: [] for c in contenders}
    run_ov = {"product": lambda d: checks.product_overview(overview(eng, d))} | {b: prepared[b].overview for b in chosen}
    run_hl = {"product": lambda d: eng.headline(d, rounded=False)} | {b: prepared[b].headline for b in chosen}

    def interleave(kind: str, dates: list, run: dict, times: dict[str, list[float]], diff) -> None:
        """Each date once per contender, in a rotating order (noise hits all alike); results checked against the product's."""
        for i, d in enumerate(dates):
            say(f"{kind} at {d} ({i + 1}/{len(dates)}) ...")
            results = {}
            for c in contenders[i % len(contenders) :] + contenders[: i % len(contenders)]:
                if c != "product" and i >= repeats[c]:
                    continue
                gc.collect()
                t0 = time.perf_counter()
                results[c] = run[c](d)
                times[c].append(time.perf_counter() - t0)
            for b in results.keys() - {"product"}:
                diffs.extend(f"{b} {kind} at {d}: {x}" for x in diff(results["product"], results[b]))

    interleave("overview", dates_ov, run_ov, ov_times, checks.diff_overview)
    load_at("overview")
    interleave("headline", dates_hl, run_hl, hl_times, checks.diff_headline)
    load_at("headline")
    res["checked_dates"] = {}
    for b in chosen:
        checked = sorted({T, *dates_ov[: repeats[b]], *dates_hl[: repeats[b]]})
        res["checked_dates"][b] = {
            "count": len(checked),
            "month_ends": sum(d == bspec.month_end(d) for d in checked),
            "mid_month": sum(d.day == 15 for d in checked),
            "dates": [d.isoformat() for d in checked],
        }
    if diffs:
        fail(res, out, diffs)
    res["overview_new_date_ms"] = {c: stats_ms(v) for c, v in ov_times.items()}
    res["headline_new_date_ms"] = {c: stats_ms(v) for c, v in hl_times.items()}
    ratios = {}
    for name, times in (("overview_new_date", ov_times), ("headline_new_date", hl_times)):
        for q in ("median", "p95"):
            f = statistics.median if q == "median" else p95
            ratios[f"{name}_{q}"] = ratio_row(round(f(times["product"]) * 1000, 1), {b: round(f(times[b]) * 1000, 1) for b in chosen})
    # The product's preparation is its ingest (which also checks the extract whole and writes the snapshot) and
    # opening the snapshot; against the baselines that prepare something (duckdb_raw keeps nothing: its cost is per call).
    kept = {b: v for b, v in prep_s.items() if b != "duckdb_raw"}
    if kept:
        ratios["preparation_s"] = ratio_row(round(res["ingest_parquet_s"] + res["engine_open_s"], 2), kept)
    res["ratios"] = ratios

    # 5. Fresh processes: the Headline JSON for one date, interleaved, a new date each round.
    if "fresh" not in skip:
        say("fresh processes ...")
        # Every contender imports from bytecode, as on an installed machine: with PYTHONDONTWRITEBYTECODE set
        # (as in this project's sessions) nothing writes __pycache__, and each fresh process compiled every
        # module it imports from source (~1.5 s of a 2.7 s `o2c kpis` at 1M, and most of polars' own import).
        compiled = [sysconfig.get_paths()["purelib"], str(REPO / "dashboard"), str(REPO / "bench")]
        subprocess.run([PY, "-m", "compileall", "-q", *compiled], check=True, stdout=subprocess.DEVNULL)
        res["fresh_bytecode"] = "compiled before the runs (compileall of site-packages, dashboard/, bench/)"
        cmds = {"product": lambda d: [O2C, "kpis", "--json", "--data", str(data_root), "--as-of", d.isoformat()]}
        cmds |= {b: (lambda d, s=s: [PY, str(REPO / s), str(extract), "--as-of", d.isoformat()]) for b, s in FRESH.items()}
        walls: dict[str, list[float]] = {c: [] for c in cmds}
        peaks: dict[str, list[float]] = {c: [] for c in cmds}
        fdiffs = []
        names = list(cmds)
        fresh_dates = [T, *new_dates(T, args.fresh_repeat - 1, set(pool))][: args.fresh_repeat]
        res["dates_fresh"] = [d.isoformat() for d in fresh_dates]
        for i, d in enumerate(fresh_dates):
            outs = {}
            for c in names[i % len(names) :] + names[: i % len(names)]:
                wall, peak, stdout = rss_of(cmds[c](d))
                walls[c].append(wall)
                peaks[c].append(peak)
                outs[c] = json.loads(stdout)
            for b in FRESH:
                fdiffs += [f"fresh {b} at {d}: {x}" for x in checks.diff_json(outs["product"], outs[b])]
        load_at("fresh")
        if fdiffs:
            fail(res, out, fdiffs)
        res["fresh_kpis_process"] = {
            c: {"median_s": round(statistics.median(walls[c]), 2), "max_s": round(max(walls[c]), 2), "peak_mb": round(max(peaks[c])), "n": len(walls[c])}
            for c in cmds
        }
        res["ratios"]["fresh_kpis_process_s"] = ratio_row(
            res["fresh_kpis_process"]["product"]["median_s"], {b: res["fresh_kpis_process"][b]["median_s"] for b in FRESH}
        )
        res["ratios"]["fresh_kpis_process_peak_mb"] = ratio_row(
            res["fresh_kpis_process"]["product"]["peak_mb"], {b: res["fresh_kpis_process"][b]["peak_mb"] for b in FRESH}, "the memory", "less memory"
        )
    res["same_numbers"] = True
    res["bench_process_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    prepared.clear()
    gc.collect()

    # 6. Memory of a dashboard-like process: snapshot in memory + overview.
    if "memory" not in skip:
        probe = (
            "import sys; sys.path.insert(0, %r)\n"
            "from dashboard.metrics.kpis import Engine, overview\nfrom dashboard.settings import Settings\nfrom dashboard.store.snapshots import DataDir\n"
            "e = Engine.open(DataDir(%r).current(), Settings(), in_memory=True)\noverview(e)\n"
            "import streamlit, plotly\n"
        ) % (str(REPO), str(data_root))
        _, peak, _ = rss_of([PY, "-c", probe])
        res["dashboard_engine_peak_mb"] = round(peak)

    # 7. What-if: the per-customer baseline once, then each lever change as arithmetic over customers.
    # Comparator: recomputing the baseline from the ledger at every change (no cache).
    if "whatif" not in skip:
        say("what-if ...")
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

    # 8. Exposure and at-risk pages: everything they compute, for an as-of date not seen before
    # (the page caches then make a rerun free). Comparator: the overview at the same dates.
    if "pages" not in skip:
        say("exposure and at-risk ...")
        from dashboard.metrics import exposure
        from dashboard.risk import scorecard as risk

        def exposure_page(t_):
            s_ = risk.scores(eng, t_)
            return [
                exposure.tiles(s_),
                exposure.by(s_, "segment"),
                exposure.watch_list(s_),
                exposure.utilisation_bins(s_),
                exposure.heatmap(s_, risk.CLASSES),
                exposure.pareto(s_),
            ]

        def at_risk_page(t_):
            s_ = risk.scores(eng, t_)
            top_ = risk.rank(s_, top=500)  # what the page does: the 500 rows it lists, and the count
            risk.ranked_count(s_)
            return risk.reasons(top_), risk.backtest(eng, t_)

        dates = [T - dt.timedelta(days=3 + 7 * i) for i in range(5)]
        for name, fn in (("exposure_page", exposure_page), ("at_risk_page", at_risk_page), ("overview_same_dates", lambda t_: overview(eng, t_))):
            ts = [timed(lambda t_=t_: fn(t_))[0][0] for t_ in dates]
            res[f"{name}_new_date_ms"] = {"median": round(statistics.median(ts) * 1000, 1), "max": round(max(ts) * 1000, 1)}
        res["backtest_auc"] = risk.backtest(eng, T)["auc"]

    # 9. Loading in a fresh process, Parquet and CSV: time and peak memory of the whole load
    # (read, check everything, write the snapshot, derive), against merely reading the same files (pandas, polars).
    if "loads" not in skip:
        say("fresh-process loads ...")
        csv_dir = work / "extract-csv"
        if not (csv_dir / "invoices.csv").exists():
            import polars as pl

            csv_dir.mkdir(parents=True, exist_ok=True)
            for f in extract.glob("*.parquet"):
                pl.read_parquet(f).write_csv(csv_dir / f"{f.stem}.csv")
        for fmt, src in (("parquet", extract), ("csv", csv_dir)):
            target = work / f"data-fresh-{fmt}"
            shutil.rmtree(target, ignore_errors=True)
            wall, peak, stdout = rss_of([O2C, "ingest", str(src), "--data", str(target), "--json"])
            assert json.loads(stdout)["rows"]["invoices"] == args.invoices, stdout[:500]
            reads = {}
            for lib, code in (
                ("pandas", f"import pandas as pd, pathlib; [pd.read_{fmt}(f) for f in sorted(pathlib.Path({str(src)!r}).iterdir())]"),
                ("polars", f"import polars as pl, pathlib; [pl.read_{fmt}(f) for f in sorted(pathlib.Path({str(src)!r}).iterdir())]"),
            ):
                rwall, rpeak, _ = rss_of([PY, "-c", code])
                reads[lib] = {"seconds": round(rwall, 1), "peak_mb": round(rpeak)}
            best = min(reads, key=lambda k: reads[k]["seconds"])
            res[f"load_{fmt}_fresh_process"] = {
                "seconds": round(wall, 1),
                "peak_mb": round(peak),
                "read_only": reads,
                "fastest_read": best,
                "ratio_to_fastest_read": round(wall / reads[best]["seconds"], 2),
            }
            shutil.rmtree(target, ignore_errors=True)

    load_at("end")
    res["bench_wall_s"] = round(time.perf_counter() - t_start, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))
    print(summary(res), flush=True)
    say(f"written {out}")


def summary(res: dict) -> str:
    """A table for people: per measure, the product, every baseline, the ratio to the best."""
    lines = [f"\n{res['invoices']:,} documents, {res.get('customers', '?'):,} customers, {res['machine']}, as of {res['as_of']}"]
    lines.append(f"baseline preparation (s): {res['baseline_preparation_s']}; product ingest {res['ingest_parquet_s']} s + open {res['engine_open_s']} s")
    for m in ("overview_new_date_ms", "headline_new_date_ms"):
        row = res[m]
        lines.append(f"{m}: " + ", ".join(f"{c} {v['median']} (p95 {v['p95']})" for c, v in row.items()))
        r = res["ratios"][m.removesuffix("_ms") + "_median"]
        lines.append(f"   -> vs best ({r['best_baseline']}): {r['verdict']}")
    if "fresh_kpis_process" in res:
        lines.append("fresh kpis process (s, MB): " + ", ".join(f"{c} {v['median_s']} / {v['peak_mb']}" for c, v in res["fresh_kpis_process"].items()))
        r = res["ratios"]["fresh_kpis_process_s"]
        lines.append(f"   -> vs best ({r['best_baseline']}): {r['verdict']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
