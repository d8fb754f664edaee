"""The dispute KPIs at T (disputes.md "KPIs at T"), one definition for the page, `o2c disputes --json` and the tests.

open_cases            cases new or in_process at T;  open_amount: the sum of their open
pct_ar_in_dispute     disputed_ar / AR (disputed_ar: documents flagged OR in an open case, amounts.py)
avg_open_age_days     mean of T - opened_on over the open cases
overdue_cases         open cases past their deadline (T > deadline)
over the cases resolved (or closed) with a resolution date in [T-364, T]:
  cycle_days_median / cycle_days_p90   resolution date - opened_on, percentiles by linear interpolation
  write_off_rate      written_off / original
resolution mix        by amount, over those cases and the cases voided in the window
new vs solved         cases opened / resolved per month, the 12 months to T's
root causes           the resolved cases' original amount by root cause, largest first (Pareto)
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import numpy as np
import polars as pl

from dashboard.disputes import amounts, cases
from dashboard.metrics.kpis import Engine, month_end
from dashboard.workbench.store import Store

WINDOW_DAYS = 364  # [T-364, T]: the 365 days to T


class DisputeKpis(TypedDict):
    """`kpis` of `o2c disputes --json` (cli.md)."""

    open_cases: int
    open_amount: float
    pct_ar_in_dispute: float | None
    avg_open_age_days: float | None
    overdue_cases: int
    cycle_days_median: float | None
    cycle_days_p90: float | None
    write_off_rate: float | None


class CaseRow(TypedDict):
    case_id: int
    customer_id: str
    invoice_ids: list[str]
    status: str
    reason: str
    opened_on: str
    deadline: str
    original: float
    open: float
    paid: float
    credited: float
    written_off: float
    cleared_manually: float


class DisputesJson(TypedDict):
    """`o2c disputes --json` (cli.md)."""

    as_of: str
    kpis: DisputeKpis
    cases: list[CaseRow]


def resolved_in_window(c: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    since = t - dt.timedelta(days=WINDOW_DAYS)
    return c.filter(pl.col("resolved_on").is_not_null() & (pl.col("resolved_on") >= since) & (pl.col("resolved_on") <= t))


def kpis(c: pl.DataFrame, disputed_ar: float, ar: float, t: dt.date) -> DisputeKpis:
    is_open = c.filter(pl.col("status").is_in(cases.OPEN_STATUSES))
    res = resolved_in_window(c, t)
    cycle = (res["resolved_on"] - res["opened_on"]).dt.total_days().to_numpy().astype(float)
    orig = float(res["original"].sum())
    return DisputeKpis(
        open_cases=is_open.height,
        open_amount=round(float(is_open["open"].sum()), 2),
        pct_ar_in_dispute=round(disputed_ar / ar, 4) if ar > 0 else None,
        avg_open_age_days=round(float(is_open["age_days"].mean()), 1) if is_open.height else None,  # type: ignore[arg-type]
        overdue_cases=int(is_open["overdue"].sum()),
        cycle_days_median=round(float(np.percentile(cycle, 50)), 1) if cycle.size else None,
        cycle_days_p90=round(float(np.percentile(cycle, 90)), 1) if cycle.size else None,
        write_off_rate=round(float(res["written_off"].sum()) / orig, 4) if orig > 0 else None,
    )


MIX = ("paid", "credited", "written_off", "cleared_manually", "voided")


def resolution_mix(c: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """outcome, amount, share: how the cases resolved (or voided) in [T-364, T] ended, by amount."""
    since = t - dt.timedelta(days=WINDOW_DAYS)
    ended = resolved_in_window(c, t)
    voided = c.filter(pl.col("voided_on").is_not_null() & (pl.col("voided_on") >= since) & (pl.col("resolved_on").is_null()))
    both = pl.concat([ended, voided])
    sums = [float(both[k].sum()) if both.height else 0.0 for k in MIX]
    total = sum(sums)
    words = {"paid": "paid", "credited": "credited", "written_off": "written off", "cleared_manually": "cleared", "voided": "voided"}
    return pl.DataFrame(
        {"outcome": [words[k] for k in MIX], "amount": [round(s, 2) for s in sums], "share": [round(s / total, 4) if total > 0 else None for s in sums]},
        schema={"outcome": pl.Utf8, "amount": pl.Float64, "share": pl.Float64},
    )


def new_vs_solved(c: pl.DataFrame, t: dt.date, months: int = 12) -> pl.DataFrame:
    """month (its last day), opened, solved: the 12 months ending with T's month (the last one to T)."""
    ends = [month_end(t)]
    for _ in range(months - 1):
        ends.append(month_end(ends[-1].replace(day=1) - dt.timedelta(days=1)))
    ends.reverse()
    frame = pl.DataFrame({"month": ends}, schema={"month": pl.Date})
    opened = c.select(month=pl.col("opened_on").dt.month_end()).group_by("month").agg(opened=pl.len())
    solved = c.filter(pl.col("resolved_on").is_not_null()).select(month=pl.col("resolved_on").dt.month_end()).group_by("month").agg(solved=pl.len())
    return (
        frame.join(opened, on="month", how="left")
        .join(solved, on="month", how="left")
        .with_columns(pl.col("opened").fill_null(0).cast(pl.Int64), pl.col("solved").fill_null(0).cast(pl.Int64))
    )


def root_causes(c: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """root_cause, cases, amount, share, cumulative_share over the cases resolved in [T-364, T], by amount (Pareto)."""
    res = resolved_in_window(c, t).filter(pl.col("root_cause").is_not_null())
    g = res.group_by("root_cause").agg(cases=pl.len().cast(pl.Int64), amount=pl.col("original").sum()).sort(["amount", "root_cause"], descending=[True, False])
    total = float(g["amount"].sum()) if g.height else 0.0
    return g.with_columns(
        share=pl.col("amount") / total if total > 0 else pl.lit(None, pl.Float64),
        cumulative_share=pl.col("amount").cum_sum() / total if total > 0 else pl.lit(None, pl.Float64),
    )


def case_rows(c: pl.DataFrame) -> list[CaseRow]:
    out = []
    for r in c.select(list(CaseRow.__annotations__)).iter_rows(named=True):  # the few cases, not ledger rows
        out.append(
            CaseRow(
                case_id=int(r["case_id"]),
                customer_id=r["customer_id"],
                invoice_ids=list(r["invoice_ids"]),
                status=r["status"],
                reason=r["reason"],
                opened_on=r["opened_on"].isoformat(),
                deadline=r["deadline"].isoformat(),
                original=round(float(r["original"]), 2),
                open=round(float(r["open"]), 2),
                paid=round(float(r["paid"]), 2),
                credited=round(float(r["credited"]), 2),
                written_off=round(float(r["written_off"]), 2),
                cleared_manually=round(float(r["cleared_manually"]), 2),
            )
        )
    return out


class Picture(TypedDict):
    cases: pl.DataFrame
    kpis: DisputeKpis
    disputed_ar: float
    ar: float


def picture(eng: Engine, store: Store, t: dt.date) -> Picture:
    """The cases at T and the KPIs over them (what the page and the CLI show)."""
    c = amounts.cases_at(eng, cases.stored(store), cases.history(store), t)
    d = float(amounts.disputed_documents(eng, c, t)["open_amount"].sum())
    ar = eng.ar_at(t)[0]
    return Picture(cases=c, kpis=kpis(c, d, ar, t), disputed_ar=round(d, 2), ar=ar)


def disputes_json(eng: Engine, store: Store, t: dt.date) -> DisputesJson:
    p = picture(eng, store, t)
    return DisputesJson(as_of=t.isoformat(), kpis=p["kpis"], cases=case_rows(p["cases"]))


def disputes_text(out: DisputesJson, currency: str) -> str:
    k = out["kpis"]

    def f(x, fmt="{:,.1f}"):
        return "n/a" if x is None else fmt.format(x)

    lines = [
        f"Disputes at {out['as_of']}: {k['open_cases']} open cases, {currency} {k['open_amount']:,.2f} open, "
        f"{f(k['pct_ar_in_dispute'], '{:.1%}')} of AR in dispute, average age {f(k['avg_open_age_days'])} days, {k['overdue_cases']} overdue.",
        f"Resolved in the 365 days to {out['as_of']}: cycle median {f(k['cycle_days_median'])} days, P90 {f(k['cycle_days_p90'])} days, "
        f"write-off rate {f(k['write_off_rate'], '{:.1%}')}.",
    ]
    for r in out["cases"]:
        lines.append(
            f"{r['case_id']:>5}  {r['customer_id']}  {', '.join(r['invoice_ids'])}  {r['status']}  {r['reason']}  opened {r['opened_on']}, due {r['deadline']}: "
            f"{currency} {r['original']:,.2f} disputed, {r['open']:,.2f} open, {r['paid']:,.2f} paid, {r['credited']:,.2f} credited, "
            f"{r['written_off']:,.2f} written off, {r['cleared_manually']:,.2f} cleared"
        )
    if not out["cases"]:
        lines.append("No dispute case yet.")
    return "\n".join(lines)
