"""What-if results as tables in plain words, for the studio page, its CSV and the Excel export.

Frames keep the JSON's keys as column names (so they stay the numbers of whatif.md); each table
has its columns' headings in words and their kind (money, days, count, text), which the page
uses as column labels and formats, and the CSV and Excel exports as their headings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

import polars as pl

from dashboard.present.formatting import count, days, money
from dashboard.whatif.model import (
    SELECTION_FIELDS,
    AnyLever,
    Baseline,
    CollectionsLever,
    DiscountLever,
    OneOrMany,
    Result,
    Scenario,
    Summary,
    TermsLever,
    as_list,
    run,
)

Kind = Literal["text", "money", "days", "signed_days", "count"]


@dataclass(frozen=True)
class Column:
    key: str  # the frame's column (the JSON's key)
    heading: str  # in words; "{cur}" becomes the base currency
    kind: Kind = "money"

    def words(self, currency: str) -> str:
        return self.heading.format(cur=currency)


SEGMENT_COLUMNS = (
    Column("segment", "Segment", "text"),
    Column("delta_ar", "Change in AR ({cur})"),
    Column("delta_dso", "Change in DSO (days)", "signed_days"),
    Column("cash_released", "Cash released ({cur})"),
    Column("discount_cost_per_year", "Discount cost per year ({cur})"),
    Column("blocked_value_baseline", "Blocked orders, baseline ({cur})"),
    Column("blocked_value_scenario", "Blocked orders, scenario ({cur})"),
    Column("blocked_count_baseline", "Blocked orders, baseline (count)", "count"),
    Column("blocked_count_scenario", "Blocked orders, scenario (count)", "count"),
    Column("over_limit_baseline", "Customers over limit, baseline", "count"),
    Column("over_limit_scenario", "Customers over limit, scenario", "count"),
)

CHANGES_COLUMNS = (
    Column("customer_id", "Customer", "text"),
    Column("name", "Name", "text"),
    Column("segment", "Segment", "text"),
    Column("region", "Region", "text"),
    Column("risk_class", "Risk class (customer master)", "text"),
    Column("status", "Status change", "text"),
    Column("ar", "AR ({cur})"),
    Column("open_orders", "Open orders ({cur})"),
    Column("exposure", "Exposure ({cur})"),
    Column("credit_limit_baseline", "Credit limit, baseline ({cur})"),
    Column("credit_limit_scenario", "Credit limit, scenario ({cur})"),
    Column("blocked_value_baseline", "Blocked orders, baseline ({cur})"),
    Column("blocked_value_scenario", "Blocked orders, scenario ({cur})"),
)

COMPARISON_COLUMNS = (
    Column("name", "Scenario", "text"),
    Column("levers", "Levers", "count"),
    Column("projected_dso", "Projected DSO (days)", "days"),
    Column("cash_released", "Cash released ({cur})"),
    Column("net_effect_per_year", "Net effect per year ({cur})"),
    Column("discount_cost_per_year", "Discount cost per year ({cur})"),
    Column("blocked_orders_value", "Blocked orders ({cur})"),
    Column("blocked_orders_count", "Blocked orders (count)", "count"),
    Column("over_limit_customers", "Customers over limit", "count"),
)


def headings(columns: tuple[Column, ...], currency: str) -> dict[str, str]:
    """Column key -> heading in words."""
    return {c.key: c.words(currency) for c in columns}


def in_words(df: pl.DataFrame, columns: tuple[Column, ...], currency: str) -> pl.DataFrame:
    """The frame with its headings in words, in the table's order (for CSV and Excel)."""
    return df.select([pl.col(c.key).alias(c.words(currency)) for c in columns if c.key in df.columns])


# ----------------------------------------------------------------------------- the tables


def segment_frame(s: Summary) -> pl.DataFrame:
    """whatif.md's per-segment table, one row per segment, columns of SEGMENT_COLUMNS."""
    rows = [
        {
            "segment": x["segment"],
            "delta_ar": x["delta_ar"],
            "delta_dso": x["delta_dso"],
            "cash_released": x["cash_released"],
            "discount_cost_per_year": x["discount_cost_per_year"],
            "blocked_value_baseline": x["blocked_orders_value"]["baseline"],
            "blocked_value_scenario": x["blocked_orders_value"]["scenario"],
            "blocked_count_baseline": x["blocked_orders_count"]["baseline"],
            "blocked_count_scenario": x["blocked_orders_count"]["scenario"],
            "over_limit_baseline": x["over_limit_customers"]["baseline"],
            "over_limit_scenario": x["over_limit_customers"]["scenario"],
        }
        for x in s["by_segment"]
    ]
    schema = {c.key: (pl.Utf8 if c.kind == "text" else pl.Int64 if c.kind == "count" else pl.Float64) for c in SEGMENT_COLUMNS}
    return pl.DataFrame(rows, schema=schema)


def side_by_side(s: Summary, currency: str) -> pl.DataFrame:
    """Baseline and scenario figure by figure, formatted for a finance reader (text cells)."""
    b, sc = s["baseline"], s["scenario"]
    rows = [
        ("DSO (standard)", days(b["dso_standard"]), days(sc["dso_standard"])),
        ("Blocked orders", money(b["blocked_orders_value"], currency), money(sc["blocked_orders_value"], currency)),
        ("Blocked orders (count)", count(b["blocked_orders_count"]), count(sc["blocked_orders_count"])),
        ("Customers over limit", count(b["over_limit_customers"]), count(sc["over_limit_customers"])),
        ("Change in AR", "", money(s["delta_ar"], currency)),
        ("Cash released", "", money(s["cash_released"], currency)),
        ("Financing effect per year", "", money(s["financing_effect_per_year"], currency)),
        ("Discount cost per year", "", money(s["discount_cost_per_year"], currency)),
        ("Net effect per year", "", money(s["net_effect_per_year"], currency)),
    ]
    return pl.DataFrame(rows, schema=["Figure", "Baseline", "Scenario"], orient="row")


class ComparisonRow(TypedDict):
    name: str
    levers: int
    projected_dso: float | None
    cash_released: float
    net_effect_per_year: float
    discount_cost_per_year: float
    blocked_orders_value: float
    blocked_orders_count: int
    over_limit_customers: int


def compare(b: Baseline, scenarios: Mapping[str, Scenario], cost_of_capital: float) -> list[ComparisonRow]:
    """Each scenario's headline results, in the order given (the studio compares up to four)."""
    rows: list[ComparisonRow] = []
    for name, sc in scenarios.items():
        out = run(b, sc, cost_of_capital).summary
        rows.append(
            {
                "name": name,
                "levers": len(sc.levers),
                "projected_dso": out["projected_dso"],
                "cash_released": out["cash_released"],
                "net_effect_per_year": out["net_effect_per_year"],
                "discount_cost_per_year": out["discount_cost_per_year"],
                "blocked_orders_value": out["scenario"]["blocked_orders_value"],
                "blocked_orders_count": out["scenario"]["blocked_orders_count"],
                "over_limit_customers": out["scenario"]["over_limit_customers"],
            }
        )
    return rows


def comparison_frame(rows: list[ComparisonRow]) -> pl.DataFrame:
    schema = {c.key: (pl.Utf8 if c.kind == "text" else pl.Int64 if c.kind == "count" else pl.Float64) for c in COMPARISON_COLUMNS}
    return pl.DataFrame(rows, schema=schema)


def changes_frame(res: Result, n: int | None = None) -> pl.DataFrame:
    """The customers whose status changes (the first n by exposure, or all), columns of CHANGES_COLUMNS."""
    return res.top_changes(n).select([c.key for c in CHANGES_COLUMNS])


# ----------------------------------------------------------------------------- levers in words


def selection_in_words(sel: Mapping[str, OneOrMany]) -> str:
    """Which customers a lever (or a card's 'Applies to') selects, saying which risk class a class selection uses."""
    words = {
        "segment": "segment",
        "region": "region",
        "risk_class": "risk class (customer master)",
        "computed_risk_class": "risk class (computed from the risk score)",
        "customer_ids": "customers",
    }
    parts = [f"{w} {', '.join(as_list(sel.get(k)))}" for k, w in words.items() if as_list(sel.get(k))]
    return "; ".join(parts) or "all customers"


def percent(x: float, signed: bool = False) -> str:
    """A fraction as a percentage with the decimals it has: 0.07 -> '7%', 0.0725 -> '7.25%'."""
    v = round(x * 100, 8) + 0.0
    return f"{v:+g}%" if signed else f"{v:g}%"


def lever_in_words(lever: AnyLever, currency: str) -> str:
    """One lever as a sentence: 'Payment terms +15 days, for segment SMB'."""
    if isinstance(lever, TermsLever):
        what = f"Payment terms {lever.days:+d} days"
    elif isinstance(lever, CollectionsLever):
        what = f"Collections: days late cut by {percent(lever.reduction)}"
    elif isinstance(lever, DiscountLever):
        what = f"Discount of {percent(lever.rate)} if paid within {lever.within_days} days, taken by {percent(lever.uptake)} of sales"
    elif lever.pct is not None:
        what = f"Credit limits {percent(lever.pct, signed=True)}"
    else:
        what = f"Credit limits set to {money(lever.value, currency)}"
    return f"{what}, for {selection_in_words({k: getattr(lever, k) for k in SELECTION_FIELDS})}"


def discount_lines(sc: Scenario, s: Summary) -> list[str]:
    """Each discount lever's annualised cost d / (1 - d) * 365 / (terms - K), in words (whatif.md asks to show it beside)."""
    levers = [lv for lv in sc.levers if isinstance(lv, DiscountLever)]  # summary["discounts"] follows them in order
    out = []
    for lv, d in zip(levers, s["discounts"]):
        if d["terms_days"] is None:
            ann = "n/a (no sales in the selection)"
        elif d["annualised_rate"] is None:
            ann = "n/a (terms not longer than the discount period)"
        else:
            ann = percent(round(d["annualised_rate"], 4))
        who = selection_in_words({k: getattr(lv, k) for k in SELECTION_FIELDS})
        out.append(
            f"Discount of {percent(d['rate'])} within {d['within_days']} days for {who}: annualised cost {ann} against sales-weighted terms of {days(d['terms_days'])}."
        )
    return out
