"""The exposure and at-risk pages (and the overview) for new as-of dates with 10M documents' worth of customers.

    .venv/bin/python bench/pages_many_customers.py     # bench/results/pages-133k-customers.json
    .venv/bin/python bench/pages_many_customers.py --data DIR [--pages at_risk_page]   # a snapshot at hand (e.g. 10M), printed only

A 1,000,000-document demo ledger with 133,333 customers (the 10M demo ledger's count): the pages' cost
per date is mostly per customer (the scorecard frame), so this measures the 10M case's per-customer
work without a 10M-document run. What is timed is what bench/run.py times for the pages (everything
each page computes for a date not seen before), five dates a week apart. Work files in bench/work/.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from dashboard.load.demo import write_demo_extract  # noqa: E402
from dashboard.load.ingest import ingest  # noqa: E402
from dashboard.metrics import exposure  # noqa: E402
from dashboard.metrics.kpis import Engine, overview  # noqa: E402
from dashboard.risk import scorecard as risk  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from dashboard.store.snapshots import DataDir  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", type=Path, help="a data folder with a snapshot (default: build the 1M / 133k demo in bench/work)")
ap.add_argument("--pages", default="exposure_page,at_risk_page,overview", help="which of them to time (comma-separated)")
args = ap.parse_args()
work = REPO / "bench" / "work" / "wide-1m-133k"
if args.data is None and not (work / "x" / "invoices.parquet").exists():
    write_demo_extract(work / "x", invoices=1_000_000, customers=133_333, seed=42)
data = DataDir(args.data or work / "d")
snap = data.current()
if snap is None:
    r = ingest([work / "x"], data, Settings())
    assert r.ok
    snap = r.snapshot
assert snap is not None
e = Engine.open(snap, Settings(), in_memory=True)
T = e.as_of
overview(e, T)
risk.scores(e, T)


def exposure_page(t_):
    s_ = risk.scores(e, t_)
    return [
        exposure.tiles(s_),
        exposure.by(s_, "segment"),
        exposure.watch_list(s_),
        exposure.utilisation_bins(s_),
        exposure.heatmap(s_, risk.CLASSES),
        exposure.pareto(s_),
    ]


def at_risk_page(t_):
    s_ = risk.scores(e, t_)
    top_ = risk.rank(s_, top=500)  # what the page does: the 500 rows it lists, and the count
    risk.ranked_count(s_)
    return risk.reasons(top_), risk.backtest(e, t_)


dates = [T - dt.timedelta(days=3 + 7 * i) for i in range(5)]
out: dict[str, object] = {"customers": e.positions.n_customers}
pages = {"exposure_page": exposure_page, "at_risk_page": at_risk_page, "overview": lambda t_: overview(e, t_)}
for name in args.pages.split(","):
    fn = pages[name]
    ts, cpu = [], []
    for d in dates:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(d)
        ts.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out[name + "_ms"] = {
        "median": round(statistics.median(ts) * 1000, 1),
        "max": round(max(ts) * 1000, 1),
        "cpu_median": round(statistics.median(cpu) * 1000, 1),
    }
out["date"] = dt.date.today().isoformat()
if args.data is None:
    (REPO / "bench" / "results" / "pages-133k-customers.json").write_text(json.dumps(out, indent=2))
print(json.dumps(out))
