"""Numbers as a finance reader expects them: money, days, percentages, n/a."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

NA = "n/a"


def compact(x: float) -> str:
    """A large amount as a tile or a chart axis writes it: 73.2m, 1.5bn, 950.3k, 812."""
    sign = "-" if x < 0 else ""
    v = abs(x)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if v >= div:
            return f"{sign}{v / div:,.1f}{suffix}"
    return f"{sign}{v:,.0f}"


def money(x: float | None, currency: str = "USD", compact: bool = False) -> str:
    """USD 1,234,567.89; compact (tiles): USD 1.2m."""
    if x is None:
        return NA
    sign = "-" if x < 0 else ""
    if compact:
        return f"{sign}{currency} {_compact(abs(x))}"
    return f"{sign}{currency} {abs(x):,.2f}"


_compact = compact  # money()'s own argument is called compact


def signed_money(x: float, currency: str = "USD") -> str:
    """A change in money: "+USD 3.0m", "-USD 190.0k"."""
    return ("+" if x >= 0 else "") + money(x, currency, compact=True)


def signed_days(x: float) -> str:
    return f"{round(x, 1) + 0.0:+,.1f} days"  # + 0.0: a change that rounds to nothing is "+0.0", never "-0.0"


def signed_pts(x: float, scale: float = 100) -> str:
    """A change in a ratio, in percentage points (x a fraction; scale=1 when x is already in percent)."""
    return f"{round(x * scale, 1) + 0.0:+,.1f} pts"


def signed_count(x: float) -> str:
    return f"{round(x) + 0:+,d}"


def delta(now: float | None, before: float | None, fmt: Callable[[float], str]) -> str | None:
    """A tile's change (st.metric's delta) as `fmt` writes it, or None: no arrow and no colour.

    None when either figure is n/a, and when the change reads as zero once written ("+0.0 pts",
    "+0.0 days", "+USD 0", "+0"): a change too small to show is no change, never a red "up +0".
    """
    if now is None or before is None:
        return None
    text = fmt(now - before)
    return text if any(ch in "123456789" for ch in text) else None


def days(x: float | None) -> str:
    return NA if x is None else f"{x:,.1f} days"


def pct(x: float | None, already_percent: bool = False) -> str:
    if x is None:
        return NA
    return f"{x:,.1f}%" if already_percent else f"{x * 100:,.1f}%"


def count(x: int | None) -> str:
    return NA if x is None else f"{x:,}"


def headline_text(h: Mapping[str, Any]) -> str:
    c = h["base_currency"]
    lines = [
        f"Receivables as of {h['as_of']} ({c})",
        f"  AR total            {money(h['ar_total'], c)}",
        f"  current / overdue   {money(h['ar_current'], c)} / {money(h['ar_overdue'], c)} ({pct(h['pct_overdue'])} overdue)",
        "  aging               " + ", ".join(f"{k}: {money(v, c, compact=True)}" for k, v in h["aging"].items()),
        f"  DSO standard        {days(h['dso_standard'])}   countback {days(h['dso_countback'])}",
        f"  best possible DSO   {days(h['bpdso'])}   average days delinquent {days(h['add'])}",
        f"  CEI                 {pct(h['cei'], already_percent=True)}",
        f"  days to pay         {days(h['adp'])}   days late {days(h['avg_days_late'])}   on time {pct(h['on_time_rate'])}",
        f"  disputed AR         {money(h['disputed_ar'], c)}",
        f"  open orders         {money(h['open_orders'], c)}   exposure {money(h['exposure_total'], c)}",
        f"  customers           {count(h['customers'])} ({count(h['customers_with_limit'])} with a limit, {count(h['over_limit_customers'])} over it)",
        f"  top-10 concentration {pct(h['concentration_top10'])}",
    ]
    return "\n".join(lines)


def whatif_text(r: dict, c: str) -> str:
    b, s = r["baseline"], r["scenario"]
    return "\n".join(
        [
            f"What-if '{r['name']}' as of {r['as_of']} ({c})",
            f"  {'':24}{'baseline':>18}{'scenario':>18}",
            f"  {'DSO (standard)':24}{days(b['dso_standard']):>18}{days(s['dso_standard']):>18}",
            f"  {'blocked orders':24}{money(b['blocked_orders_value'], c):>18}{money(s['blocked_orders_value'], c):>18}",
            f"  {'blocked orders (count)':24}{count(b['blocked_orders_count']):>18}{count(s['blocked_orders_count']):>18}",
            f"  {'customers over limit':24}{count(b['over_limit_customers']):>18}{count(s['over_limit_customers']):>18}",
            f"  change in AR {money(r['delta_ar'], c)}; cash released {money(r['cash_released'], c)}",
            f"  per year: financing {money(r['financing_effect_per_year'], c)} - discounts {money(r['discount_cost_per_year'], c)} = net {money(r['net_effect_per_year'], c)}",
        ]
    )
