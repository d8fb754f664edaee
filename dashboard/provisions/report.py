"""`o2c provisions`: the provision matrix at T as provisions.md's JSON and as text for a person."""

from __future__ import annotations

import datetime as dt

import polars as pl

from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.present.formatting import money, pct
from dashboard.present.labels import bucket_label
from dashboard.provisions.matrix import ProvisionsJson, matrix


def run(eng: Engine, t: dt.date | None = None, f: Filters = ALL, overlay_rows: pl.DataFrame | None = None) -> tuple[ProvisionsJson, str]:
    """overlay_rows: the workbench's overlays (overlay.stored()): the approved ones in force apply, else the settings'."""
    m = matrix(eng, t, f, overlay_rows=overlay_rows)
    js = m.to_json()
    cur = eng.settings.base_currency
    lines = [
        f"IFRS 9 provision matrix as of {js['as_of']} ({cur}); default = still open {js['default_dpd']} days past due; "
        f"rates from {len(m.month_ends)} month-ends ({m.month_ends[0]} to {m.month_ends[-1]})"
        if m.month_ends
        else "",
        f"  {'bucket':<10} {'gross':>20} {'historical':>11} {'overlay':>8} {'rate':>8} {'allowance':>20}",
    ]
    for b in js["buckets"]:
        note = f"  (no history: rate of {bucket_label(b['borrowed_from'])})" if b["borrowed_from"] else ""
        lines.append(
            f"  {bucket_label(b['bucket']):<10} {money(b['gross'], cur):>20} {pct(b['historical_rate']):>11} {b['overlay']:>8.2f} "
            f"{pct(b['rate']):>8} {money(b['allowance'], cur):>20}{note}"
        )
    mv = js["movement"]
    lines += [
        f"  {'total':<10} {money(js['total_gross'], cur):>20} {'':>11} {'':>8} {pct(js['coverage']):>8} {money(js['total_allowance'], cur):>20}",
        f"Movement against {m.prior_month_end}: allowance then {money(mv['prior_month_end_allowance'], cur)}, change {money(mv['change'], cur)}.",
    ]
    if m.overlay_source == "approved":
        lines.append(f"Overlay approved in the workbench: {m.overlay_reason}")
    elif m.overlay_reason:
        lines.append(f"Overlay (settings): {m.overlay_reason}")
    return js, "\n".join(x for x in lines if x)
