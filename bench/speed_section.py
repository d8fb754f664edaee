"""The README's "Speed" summary, filled from a bench/run.py result (no figure typed by hand).

    .venv/bin/python bench/speed_section.py bench/results/bench-10m.json > /tmp/speed.md

Prints the markdown between the README's <!-- bench-summary --> markers: what each baseline
prepares, the product against the best baseline per measure (median and p95, same run, same
dates), the fresh-process and load figures, and the product-only measures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = {
    "product": "this project",
    "polars_prepared": "polars + numpy, prepared",
    "duckdb_mem": "DuckDB, prepared in memory",
    "duckdb_raw": "DuckDB on the raw Parquet",
    "pandas": "competent pandas, prepared",
    "polars_fresh": "polars on the raw Parquet",
}
FRESH_NAMES = {"polars_fresh": "polars", "duckdb_raw": "DuckDB", "pandas": "pandas"}
PREPARES = {
    "polars_prepared": (
        "reads the extract; base currency; dense customer keys; every document and payment as a signed span of days; "
        "daily prefix sums of AR, current, disputed and each aging bucket per segment and region, of sales per segment "
        "and of settlements; spans sorted by the day they close",
        "array lookups; the spans still open after T (a slice) filtered to those started by T, one bincount per customer measure",
    ),
    "duckdb_mem": (
        "the converted documents, payments, orders and customers as DuckDB tables sorted by the day they close; daily sales and settlements",
        "documents x the dates needed (range join) as signed rows, then GROUP BYs",
    ),
    "duckdb_raw": ("nothing", "the same SQL from the Parquet files at every call (conversion included)"),
    "pandas": (
        "reads the extract; fx, payments and customer codes merged once; daily sales and settlements",
        "vectorised masks over all documents at each date needed (T, prior month-end, 13 trend points, T-90)",
    ),
}


def ms(v: float) -> str:
    return f"{v:,.0f} ms" if v >= 100 else f"{v:,.1f} ms"


def secs(v: float) -> str:
    return f"{v:,.2f} s" if v < 10 else f"{v:,.1f} s"


def mb(v: float) -> str:
    return f"{v / 1024:,.2f} GB" if v >= 1000 else f"{v:,.0f} MB"


def verdict(r: dict) -> str:
    x = r["product_over_best"]
    return f"**{x:,.1f}x slower**" if x > 1 else f"{1 / x:,.1f}x faster"


def render(res: dict, result_path: str) -> str:
    n = res["invoices"]
    out = []
    out.append(
        f"Measured with `bench/run.py` on this project's {res['machine'].replace(', ', ' machine, ', 1)} ({res['date']}), on the demo ledger at "
        f"{n:,} documents ({res['customers']:,} customers, as of {res['as_of']}). Each measure runs the product and the "
        "baselines of [`bench/baselines/`](bench/baselines/) in the same run, interleaved (rotating order) on the same new "
        "as-of dates, each date computed once: month-ends, mid-month and other days. The baselines are what a skilled "
        "user would write from the KPI definitions and the ledger contract alone (no product code), and "
        "every one of them gave the same numbers as the product at every date (every headline key, the trend, the top 10, "
        "the aging; tolerance 1e-6) - the run fails otherwise. Ratios are against the **best** baseline of each measure. "
        f"Raw figures: [`{result_path}`]({result_path})."
    )
    la = res.get("load_average")
    if la:
        during = [v[0] for k, v in la.items()]
        out.append("")
        out.append(
            f"Other engineers' sessions shared the two cores during the run: load average (1 min) {min(during):,.1f}-{max(during):,.1f} "
            f"(start {la['start'][0]:,.1f}, end {la.get('end', la['start'])[0]:,.1f}), so absolute times are inflated against an idle "
            "machine; the same-run, interleaved ratios much less."
        )
    out.append("")
    out.append("| baseline | prepares once (timed apart) | per as-of date |")
    out.append("| --- | --- | --- |")
    for b, s in res["baseline_preparation_s"].items():
        what, per = PREPARES.get(b, ("", ""))
        out.append(f"| {NAMES.get(b, b)} | {what} ({secs(s)}) | {per} |")
    out.append("")
    out.append(f"| what ({n:,} documents) | this project | best baseline, same run | others | ratio |")
    out.append("| --- | --- | --- | --- | --- |")
    for key, label in (
        ("overview_new_date_ms", "everything the overview shows, for a new as-of date (median / p95)"),
        ("headline_new_date_ms", "headline KPIs alone, new as-of date (median / p95)"),
    ):
        row = res[key]
        r = res["ratios"][key.removesuffix("_ms") + "_median"]
        best = r["best_baseline"]
        others = ", ".join(f"{NAMES.get(b, b)} {ms(v['median'])}" for b, v in row.items() if b not in ("product", best))
        p = row["product"]
        out.append(
            f"| {label} | {ms(p['median'])} / {ms(p['p95'])} | {NAMES.get(best, best)}: {ms(row[best]['median'])} / {ms(row[best]['p95'])} | {others} | {verdict(r)} |"
        )
    prep = res["ratios"].get("preparation_s")
    if prep:
        out.append(
            f"| one-time preparation | load {secs(res['ingest_parquet_s'])} (checks the whole extract, writes the snapshot, derives) + open {secs(res['engine_open_s'])} "
            f"| {NAMES.get(prep['best_baseline'], prep['best_baseline'])}: {secs(prep['best_baseline_value'])} | | {verdict(prep)} |"
        )
    f = res.get("fresh_kpis_process")
    if f:
        r = res["ratios"]["fresh_kpis_process_s"]
        best = r["best_baseline"]
        others = ", ".join(f"{FRESH_NAMES.get(b, b)} {secs(v['median_s'])}" for b, v in f.items() if b not in ("product", best))
        out.append(
            f"| fresh process: Headline JSON for a date (median, peak memory) | `o2c kpis --json` {secs(f['product']['median_s'])}, {mb(f['product']['peak_mb'])} "
            f"(reads the snapshot's compact tables with pyarrow and numpy{'; every contender from compiled bytecode' if res.get('fresh_bytecode') else ''}) "
            f"| {FRESH_NAMES.get(best, best)} on the raw Parquet: {secs(f[best]['median_s'])}, {mb(f[best]['peak_mb'])} | {others} | {verdict(r)} |"
        )
    for fmt in ("parquet", "csv"):
        ld = res.get(f"load_{fmt}_fresh_process")
        if ld:
            rd = ld["read_only"][ld["fastest_read"]]
            out.append(
                f"| load a {fmt.upper()} extract (read, check everything, snapshot, derive), fresh process | {secs(ld['seconds'])}, peak {mb(ld['peak_mb'])} "
                f"| {ld['fastest_read']} merely reading it: {secs(rd['seconds'])}, {mb(rd['peak_mb'])} | | {ld['ratio_to_fastest_read']:,.1f}x the read |"
            )
    if "whatif_per_change_ms" in res:
        w = res["whatif_per_change_ms"]
        out.append(
            f"| what-if, per lever change (median / p95) | {ms(w['median'])} / {ms(w['p95'])} | recomputing the baseline each time: {ms(res['whatif_no_cache_per_change_ms'])} "
            f"| | {res['speedup_whatif_cached_vs_no_cache']:,.0f}x faster |"
        )
    if "exposure_page_new_date_ms" in res:
        ov = res["overview_same_dates_new_date_ms"]["median"]
        for k, label in (
            ("exposure_page_new_date_ms", "exposure page for a new date"),
            ("at_risk_page_new_date_ms", "at-risk page for a new date (scores, reasons, backtest)"),
        ):
            v = res[k]["median"]
            out.append(f"| {label} (median) | {ms(v)} | | overview for the same dates: {ms(ov)} | {v / ov:,.1f}x the overview |")
    if "dashboard_engine_peak_mb" in res:
        out.append(f"| dashboard engine (snapshot in memory + overview), peak | {mb(res['dashboard_engine_peak_mb'])} | | | |")
    out.append("")
    r = res["ratios"]["overview_new_date_median"]
    out.append(
        f"Product-only: the overview at the snapshot's own date repeated {ms(res['product_overview_same_date_ms']['median'])} "
        f"(the smallest open set), a new date with a segment selected {ms(res['product_overview_new_date_and_segment_ms']['median'])}. "
        f"Against {NAMES.get(r['best_baseline'], r['best_baseline'])} the product's overview is {verdict(r).strip('*')} at this size: see "
        "[bench/README.md](bench/README.md) for where the time goes."
    )
    if "backtest_auc" in res:
        out.append(f"Backtest AUC of the risk score on the demo ledger: {res['backtest_auc']:.2f}.")
    return "\n".join(out)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/bench-10m.json")
    res = json.loads(path.read_text())
    print("<!-- bench-summary -->")
    print(render(res, path.as_posix()))
    print("<!-- /bench-summary -->")


if __name__ == "__main__":
    main()
