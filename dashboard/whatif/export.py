"""What-if exports: the JSON record of a decision and its Excel workbook, and their file names.

The JSON keeps whatif.md's keys; the workbook is for people: headings in words, money with
thousands separators and negatives in brackets, the currency in the heading.
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


def comparison_file_name() -> str:
    return "scenario_comparison.csv"


def comparison_csv(rows: list, currency: str) -> bytes:
    """The comparison of saved scenarios as CSV, headings in words."""
    from dashboard.present.exports import to_csv
    from dashboard.whatif.tables import COMPARISON_COLUMNS, comparison_frame, in_words

    return to_csv(in_words(comparison_frame(rows), COMPARISON_COLUMNS, currency))


MONEY_FORMAT = "#,##0.00;(#,##0.00);0.00"
FORMATS = {"money": MONEY_FORMAT, "days": "0.00", "signed_days": "+0.00;-0.00;0.00", "count": "#,##0", "text": "@"}


def export_excel(record: ExportRecord, res: Result, currency: str = "USD") -> bytes:
    """A workbook of three sheets: Summary (provenance, figures, levers), By segment, Status changes."""
    import xlsxwriter

    from dashboard.present.exports import defuse
    from dashboard.whatif.model import Scenario
    from dashboard.whatif.tables import CHANGES_COLUMNS, SEGMENT_COLUMNS, changes_frame, discount_lines, lever_in_words, segment_frame

    r = record["results"]
    sc = Scenario.model_validate(record["scenario"])
    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False}) as wb:
        fmt = {k: wb.add_format({"num_format": v}) for k, v in FORMATS.items()}
        pct_fmt = wb.add_format({"num_format": "0.0%"})
        bold = wb.add_format({"bold": True})
        head = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})

        ws = wb.add_worksheet("Summary")
        row = 0
        for label, text in (
            ("Scenario", sc.name),
            ("As-of date", r["as_of"]),
            ("Snapshot", record["snapshot"]),
            ("Snapshot as of", record["snapshot_as_of"]),
            ("Data (SHA-256 of the source files)", record["data_sha256"]),
            ("Exported at (UTC)", record["exported_at"]),
        ):
            ws.write_string(row, 0, label, bold)
            ws.write_string(row, 1, str(text))
            row += 1
        ws.write_string(row, 0, "Cost of capital (per year)", bold)
        ws.write_number(row, 1, r["cost_of_capital"], pct_fmt)
        row += 2
        for j, h in enumerate(("Figure", "Baseline", "Scenario")):
            ws.write_string(row, j, h, head)
        row += 1
        b, s = r["baseline"], r["scenario"]
        figures: list[tuple[str, float | None, float | None, str]] = [
            ("DSO, standard (days)", b["dso_standard"], s["dso_standard"], "days"),
            (f"Blocked orders ({currency})", b["blocked_orders_value"], s["blocked_orders_value"], "money"),
            ("Blocked orders (count)", b["blocked_orders_count"], s["blocked_orders_count"], "count"),
            ("Customers over limit", b["over_limit_customers"], s["over_limit_customers"], "count"),
            (f"Exposure ({currency})", r["exposure_total"], r["exposure_total"], "money"),
            (f"Exposure released to ship ({currency})", None, r["exposure_releasable"], "money"),
            (f"Change in AR ({currency})", None, r["delta_ar"], "money"),
            ("Projected DSO (days)", None, r["projected_dso"], "days"),
            (f"Cash released ({currency})", None, r["cash_released"], "money"),
            (f"Financing effect per year ({currency})", None, r["financing_effect_per_year"], "money"),
            (f"Discount cost per year ({currency})", None, r["discount_cost_per_year"], "money"),
            (f"Net effect per year ({currency})", None, r["net_effect_per_year"], "money"),
        ]
        for label, v0, v1, kind in figures:
            ws.write_string(row, 0, label)
            for j, v in ((1, v0), (2, v1)):
                if v is not None:
                    ws.write_number(row, j, v, fmt[kind])
            row += 1
        row += 1
        ws.write_string(row, 0, "Levers", head)
        row += 1
        for i, lv in enumerate(sc.levers, 1):
            ws.write_string(row, 0, f"Lever {i}")
            ws.write_string(row, 1, lever_in_words(lv, currency))
            row += 1
        if not sc.levers:
            ws.write_string(row, 0, "none: the scenario is the baseline")
            row += 1
        for line in discount_lines(sc, r):
            ws.write_string(row, 0, "Discount, annualised cost")
            ws.write_string(row, 1, line)
            row += 1
        ws.set_column(0, 0, 42)
        ws.set_column(1, 2, 22)

        for name, df, columns in (
            ("By segment", segment_frame(r), SEGMENT_COLUMNS),
            ("Status changes", changes_frame(res), CHANGES_COLUMNS),
        ):
            sheet = wb.add_worksheet(name)
            df = defuse(df)
            for j, col in enumerate(columns):
                sheet.write_string(0, j, col.words(currency), head)
                # wide enough for the whole heading on one line ("Blocked orders, scenario (USD)"), never cut
                sheet.set_column(j, j, max(16 if col.kind != "text" else 20, len(col.words(currency)) + 2))
                for i, v in enumerate(df[col.key].to_list(), 1):
                    if v is None:
                        continue
                    if isinstance(v, (int, float)):
                        sheet.write_number(i, j, v, fmt[col.kind])
                    else:
                        sheet.write_string(i, j, str(v))
            sheet.freeze_panes(1, 0)
    return buf.getvalue()
