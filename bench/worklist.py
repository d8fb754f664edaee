"""Benchmark: the collections worklist for a new as-of date, warm (collections.md; issue 14's target:
under 500 ms at 10M documents / 133k customers).

    .venv/bin/python bench/worklist.py --data DIR [--repeat 7] [--promises 2000]

DIR holds a snapshot (e.g. `o2c demo --invoices 1000000 --data DIR`). The engine is opened as the
dashboard opens it (in memory); a workbench store in a temporary folder gets every customer
assigned to one of 20 collectors, a contact for a third of them and --promises promises (written in
bulk: the audit trail is not what is measured). Then the worklist is built once at the snapshot's
date (warm-up: caches, the first query plans), and for each repeat at a date never asked before:
the scorecard, the facts, the promises' evaluation and the rules, as the page does for a new date.
Prints the median and the slowest, in ms, and the median CPU time of the process (all threads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from dashboard.collections import worklist as W
from dashboard.metrics.kpis import Engine
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench.schema import contacts, customer_settings, promises
from dashboard.workbench.store import Store


def fill(store: Store, ids: list[str], n_promises: int, t: dt.date, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    now = "2026-01-01T00:00:00.000000Z"
    with store.begin() as conn:
        conn.execute(
            customer_settings.insert(),
            [{"customer_id": c, "collector": f"collector{i % 20:02d}", "updated_by": "bench", "updated_at": now} for i, c in enumerate(ids)],
        )
        picked = rng.choice(len(ids), size=len(ids) // 3, replace=False)
        conn.execute(
            contacts.insert(),
            [
                {
                    "customer_id": ids[i],
                    "business_date": t - dt.timedelta(days=int(rng.integers(0, 60))),
                    "channel": "call",
                    "outcome": "reached",
                    "created_by": "bench",
                    "created_at": now,
                }
                for i in picked
            ],
        )
        who = rng.choice(len(ids), size=n_promises)
        rows = []
        for i in who:
            made = t - dt.timedelta(days=int(rng.integers(0, 120)))
            rows.append(
                {
                    "customer_id": ids[i],
                    "amount": float(rng.integers(100, 20_000)),
                    "made_on": made,
                    "promised_date": made + dt.timedelta(days=int(rng.integers(0, 30))),
                    "invoice_ids": "[]",
                    "created_by": "bench",
                    "created_at": now,
                }
            )
        conn.execute(promises.insert(), rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--promises", type=int, default=2000)
    args = ap.parse_args()
    data = DataDir(args.data)
    snap = data.current()
    assert snap is not None, f"no snapshot in {args.data}"
    eng = Engine.open(snap, load_settings(data.root), in_memory=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'workbench.sqlite'}")
        ids = eng.con.cursor().sql("select customer_id from customers order by customer_id").pl()["customer_id"].to_list()
        fill(store, ids, args.promises, eng.as_of)
        W.worklist(eng, store, eng.as_of)  # warm-up
        times, cpu = [], []
        for k in range(1, args.repeat + 1):
            t = eng.as_of - dt.timedelta(days=3 * k)  # a date not asked before in this process
            start, start_cpu = time.perf_counter(), time.process_time()
            wl = W.worklist(eng, store, t)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        store.dispose()
    print(
        json.dumps(
            {
                "documents": snap.manifest["rows"]["invoices"],
                "customers": len(ids),
                "promises": args.promises,
                "rows": wl.rows.height,
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                # CPU time of the process (all its threads): on a shared machine, less inflated by the others' load
                "cpu_median_ms": round(statistics.median(cpu), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
