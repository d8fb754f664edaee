"""Benchmark: the late-payment prediction's parts at one as-of date (prediction.md; issue 16's targets at 10M
documents: training under 60 s, scoring the open invoices under 2 s).

    .venv/bin/python bench/prediction.py --data DIR [--date YYYY-MM-DD] [--profile PART]

The engine is opened as the dashboard opens it (in memory), its held spans read first (the pages have them
before the model is asked for). Then, timed one after the other in this process: the features (once per
snapshot), the backtest (four folds), the final fit, reading the open invoices and scoring them, then reading and scoring those of a date a week earlier. "first
training" = features + backtest + final fit, what the first visit after a load waits for; "training at a
date" = backtest + final fit, what a new date costs. Prints JSON: wall and CPU seconds (CPU of the process,
all threads) per part, the rows, the skill, and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

import numpy as np

from dashboard.metrics.kpis import Engine
from dashboard.prediction import features, model
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--date", type=dt.date.fromisoformat, help="the as-of date (default the snapshot's)")
    ap.add_argument("--profile", choices=["features", "backtest", "train", "open", "score"], help="print a cProfile of one part")
    args = ap.parse_args()
    data = DataDir(args.data)
    snap = data.current()
    assert snap is not None, f"no snapshot in {args.data}"
    eng = Engine.open(snap, load_settings(data.root), in_memory=True)
    eng.positions.open_at(eng.as_of)  # the held spans, read as the pages read them before the model
    t = args.date or eng.as_of
    load0 = os.getloadavg()
    out: dict[str, object] = {"documents": snap.manifest["rows"]["invoices"], "as_of": t.isoformat()}
    parts: dict[str, dict[str, float]] = {}

    def timed(name, fn, *a):
        prof = None
        if args.profile == name:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(*a)
        parts[name] = {"wall_s": round(time.perf_counter() - start, 2), "cpu_s": round(time.process_time() - start_cpu, 2)}
        if prof:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return result

    docs = timed("features", features.build, eng)
    sk = timed("backtest", model.backtest, docs, t)
    final = timed("train", model.train, docs, t)
    rows, amount = timed("open", model.open_invoices, eng, docs, t)
    pred = timed("score", model.score, docs, t, sk, final, rows, amount)
    # a second date a week earlier, scored with the same trees: what scoring costs once the snapshot's
    # per-snapshot reads (the held spans' document keys) are done, as for every date after the first
    t2 = t - dt.timedelta(days=7)
    rows2, amount2 = timed("open_next", model.open_invoices, eng, docs, t2)
    timed("score_next", model.score, docs, t2, sk, final, rows2, amount2)
    total = {k: round(sum(parts[p][k] for p in ("features", "backtest", "train")), 2) for k in ("wall_s", "cpu_s")}
    out |= {
        "parts": parts,
        "first_training": total,
        "training_at_a_date": {k: round(parts["backtest"][k] + parts["train"][k], 2) for k in ("wall_s", "cpu_s")},
        "scoring": {k: round(parts["open"][k] + parts["score"][k], 2) for k in ("wall_s", "cpu_s")},
        "scoring_next_date": {k: round(parts["open_next"][k] + parts["score_next"][k], 2) for k in ("wall_s", "cpu_s")},
        "open_invoices": len(rows),
        "scored_not_yet_due": int(np.count_nonzero(docs.due_day[rows] >= model._day(t))),
        "auc": sk.auc,
        "baseline_auc": sk.baseline_auc,
        "used": sk.used,
        "top_p": float(pred.p_late[0]) if len(pred.p_late) else None,
        "load_average": [round(x, 2) for x in (*load0, *os.getloadavg())],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
