"""What-if exports: the JSON record of a decision and its Excel workbook, and their file names.

The JSON keeps whatif.md's keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:  # only for annotations: model.py reaches data_hash here, at call time
    from dashboard.metrics.kpis import Engine
    from dashboard.whatif.model import Result, Scenario, Summary


def data_hash(engine: Engine) -> str:
    """sha256 over the snapshot's source files' hashes: which data a scenario ran on."""
    h = hashlib.sha256()
    for f in engine.snapshot.manifest["source_files"]:
        h.update(f"{f['name']}:{f['sha256']}\n".encode())
    return h.hexdigest()


class ExportRecord(TypedDict):
    scenario: dict[str, Any]  # the scenario file (whatif.md "Command line")
    results: Summary
    bridge_days: dict[str, float]
    snapshot: str
    snapshot_as_of: str
    data_sha256: str
    exported_at: str


def export_record(engine: Engine, sc: Scenario, res: Result) -> ExportRecord:
    """What a decision needs to be audited later: the scenario, its results, and the data it ran on."""
    return {
        "scenario": json.loads(sc.model_dump_json(exclude_none=True)),
        "results": res.summary,
        "bridge_days": dict(res.bridge),
        "snapshot": engine.snapshot.id,
        "snapshot_as_of": engine.snapshot.manifest["as_of"],
        "data_sha256": data_hash(engine),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def file_name(scenario_name: str, ext: str) -> str:
    """The download's file name for a scenario's export: 'Cut_lateness.xlsx'."""
    from dashboard.whatif.saved import slug

    return f"{slug(scenario_name)}.{ext}"


def export_excel(record: ExportRecord, res: Result) -> bytes:
    import polars as pl
    import xlsxwriter

    from dashboard.present.exports import defuse

    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False}) as wb:
        ws = wb.add_worksheet("summary")
        rows = [
            ("scenario", record["scenario"].get("name", "")),
            ("snapshot", record["snapshot"]),
            ("snapshot as of", record["snapshot_as_of"]),
            ("data sha256", record["data_sha256"]),
            ("exported at", record["exported_at"]),
            ("as of", record["results"]["as_of"]),
        ]
        r: dict[str, Any] = dict(record["results"])
        for k in ("dso_standard", "blocked_orders_value", "blocked_orders_count", "over_limit_customers"):
            rows.append((f"{k} (baseline)", r["baseline"][k]))
            rows.append((f"{k} (scenario)", r["scenario"][k]))
        for k in ("delta_ar", "cash_released", "discount_cost_per_year", "financing_effect_per_year", "net_effect_per_year", "cost_of_capital"):
            rows.append((k, r[k]))
        for i, lv in enumerate(record["scenario"].get("levers", []), 1):
            rows.append((f"lever {i}", json.dumps(lv)))
        for i, (k, v) in enumerate(rows):
            ws.write_string(i, 0, str(k))
            if isinstance(v, (int, float)) and v is not None:
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, "" if v is None else str(v))
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 70)
        seg = pl.DataFrame(
            [
                {
                    "segment": x["segment"],
                    "delta_ar": x["delta_ar"],
                    "delta_dso": x["delta_dso"],
                    "cash_released": x["cash_released"],
                    "discount_cost_per_year": x["discount_cost_per_year"],
                    "blocked_value_baseline": x["blocked_orders_value"]["baseline"],
                    "blocked_value_scenario": x["blocked_orders_value"]["scenario"],
                }
                for x in r["by_segment"]
            ]
        )
        for name, df in (("by_segment", seg), ("status_changes", res.changes)):
            sheet = wb.add_worksheet(name)
            df = defuse(df)
            for j, col in enumerate(df.columns):
                sheet.write_string(0, j, col)
                for i, v in enumerate(df[col].to_list(), 1):
                    if v is None:
                        continue
                    if isinstance(v, (int, float)):
                        sheet.write_number(i, j, v)
                    else:
                        sheet.write_string(i, j, str(v))
    return buf.getvalue()
