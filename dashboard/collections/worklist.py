"""The collections worklist (collections.md): whom to call first at T, and why.

Live, from the current snapshot and the workbench (no nightly batch): the facts per customer at T,
the strategy's rules met by each with their points, exit rules that take a customer off the list,
and the order. Every step is a column over all customers at once (polars), never a loop.

    priority_c = 100 * (points of the rules met) / (points of all non-exit rules), rounded to 1 decimal
                 (half away from zero, as finance rounds: 6.25 -> 6.3)
    order      priority descending, collectible descending, customer_id
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict, cast

import polars as pl

from dashboard.collections import followup
from dashboard.collections import promises as promised
from dashboard.disputes.amounts import disputed_at
from dashboard.metrics import limits
from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.risk import scorecard as risk
from dashboard.settings import CollectionRule, CollectionsSettings
from dashboard.store import sql as queries
from dashboard.workbench.assignment import Roster, all_collectors
from dashboard.workbench.store import Store

# ------------------------------------------------------------------------------------------ facts


def effective_limit(positions: pl.DataFrame, t: dt.date) -> pl.Series:
    """The credit limit the over_limit rule compares exposure with (collections.md: the effective limit of
    credit-decisions.md). Until credit decisions land this is the master's credit limit (null: none).
    The one place to change when approved limit decisions override the master."""
    return positions["credit_limit"].alias("effective_limit")


def dunning_levels(store: Store, customer_ids: pl.Series) -> pl.Series:
    """dunning_level_c (dunning.md): the level of the customer's last issued letter, 0 without one."""
    from dashboard.dunning.history import dunning_levels as issued_levels

    return issued_levels(store, customer_ids)


def facts(
    eng: Engine,
    store: Store,
    t: dt.date,
    cs: CollectionsSettings,
    f: Filters = ALL,
    scores: pl.DataFrame | None = None,
    evaluated: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per customer of the selection at T with every fact the rules read (collections.md "Facts").

    scores: risk.scores(eng, t, f) when already at hand (the pages cache it); evaluated: the promises
    evaluated at T (promises.evaluate) when the caller shows them too."""
    s = scores if scores is not None else risk.scores(eng, t, f)
    base = s.select("customer_key", "customer_id", "name", "segment", "region", "credit_limit", "exposure", "score", "risk_class", overdue=pl.col("ar_overdue"))
    pos = queries.run(eng.con, "collections/positions_at", as_of=t).pl()
    # Disputed: the ledger's flag OR an open dispute case (disputes/amounts.py), not the flag alone.
    disputed = disputed_at(eng, store, t).select("customer_id", "disputed_overdue")
    base = base.join(pos.drop("disputed_overdue"), on="customer_key", how="left").join(disputed, on="customer_id", how="left")
    base = base.with_columns(pl.col("disputed_overdue").fill_null(0.0))
    base = base.with_columns(effective_limit(base, t), collectible=pl.col("overdue") - pl.col("disputed_overdue"))
    # The collector is the effective one (a hand assignment, else the customer's pool: assignment.py).
    wb = followup.customer_settings_frame(store).drop("version", "collector")
    who = all_collectors(store, Roster.of(eng)).select("customer_id", "collector")
    contacts = followup.last_contacts(store, t)
    ev = evaluated if evaluated is not None else promised.evaluate(eng, promised.stored(store), t, cs.promise_tolerance_days)
    per = promised.by_customer(ev, t)
    out = (
        base.join(wb, on="customer_id", how="left")
        .join(who, on="customer_id", how="left")
        .join(contacts, on="customer_id", how="left")
        .join(per, on="customer_id", how="left")
        .with_columns(
            pl.col("promised_open").fill_null(0.0),
            pl.col("promised_not_due").fill_null(0.0),
            pl.col("broken_365").fill_null(0),
        )
    )
    return out.with_columns(dunning_levels(store, out["customer_id"]))


# --------------------------------------------------------------------------------------- strategy


def met(rule: CollectionRule, t: dt.date) -> pl.Expr:
    """Whether the rule is met, per customer (collections.md "Strategy"); a missing fact never meets a rule."""
    k = rule.kind
    if k == "overdue_at_least":
        e = pl.col("collectible") >= rule.amount
    elif k == "oldest_dpd_at_least":
        e = pl.col("oldest_dpd") >= rule.days
    elif k == "risk_class_in":
        e = pl.col("risk_class").is_in(list(rule.classes or ()))
    elif k == "over_limit":
        e = limits.over_limit("exposure", "effective_limit")
    elif k == "broken_promise":
        e = pl.col("broken_365") >= 1
    elif k == "no_contact_for":
        # "no contact in the last `days` days (or never)": the last one is `days` or more days before T
        e = pl.col("last_contact").is_null() | (pl.col("last_contact") <= pl.lit(t - dt.timedelta(days=rule.days or 0)))
    elif k == "resubmission_due":
        e = pl.col("resubmission_date") <= pl.lit(t)
    elif k == "promise_due_within":
        e = pl.col("next_promised_date") <= pl.lit(t + dt.timedelta(days=rule.days or 0))
    elif k == "nothing_collectible":
        e = pl.col("collectible") <= promised.CENT
    elif k == "promise_pending":
        # an open promise not yet due covers all of what is collectible
        e = (pl.col("promised_not_due") > 0) & (pl.col("promised_not_due") >= pl.col("collectible") - promised.CENT)
    else:  # settings refuse any other kind
        raise ValueError(f"unknown rule kind {k}")
    return e.fill_null(False)


def max_points(cs: CollectionsSettings) -> int:
    return sum(r.points for r in cs.rules if not r.exit)


def rule_label(rule: CollectionRule, currency: str = "") -> str:
    """A rule as a collector reads it: 'Collectible at least USD 10,000', 'Oldest item 60+ days past due'."""
    k = rule.kind
    return {
        "overdue_at_least": f"Collectible at least {currency} {rule.amount or 0:,.0f}".replace("  ", " "),
        "oldest_dpd_at_least": f"Oldest item {rule.days}+ days past due",
        "risk_class_in": f"Risk class {', '.join(rule.classes or ())}",
        "over_limit": "Over the credit limit",
        "broken_promise": "A promise broken in the last 365 days",
        "no_contact_for": f"No contact for {rule.days}+ days",
        "resubmission_due": "Resubmission date reached",
        "promise_due_within": f"A promise falls due within {rule.days} days",
        "nothing_collectible": "Nothing collectible",
        "promise_pending": "An open promise covers all that is collectible",
    }[k]


# --------------------------------------------------------------------------------------- worklist


@dataclass(frozen=True)
class Worklist:
    as_of: dt.date
    max_points: int
    rows: pl.DataFrame  # ordered; facts + points, priority, rules_met [{kind, points}], why (text)
    exited: pl.DataFrame  # customers an exit rule took off the list (with something overdue): exit_rules [kind]
    rules: tuple[CollectionRule, ...]


def build(facts_frame: pl.DataFrame, t: dt.date, cs: CollectionsSettings, currency: str = "") -> Worklist:
    """Rules met, points, priority and order of every customer in the facts (see the module's docstring)."""
    rules = cs.rules
    top = max_points(cs)
    # Which rules a customer meets, as one bit per rule: the points, the rules met and the exit rules are
    # then read from the few distinct combinations (at most a few hundred), not built row by row.
    mask = pl.sum_horizontal([met(r, t).cast(pl.Int64) * (1 << i) for i, r in enumerate(rules)]).alias("rules_mask")
    flags = facts_frame.with_columns(mask)
    combos = _combinations(flags["rules_mask"].unique().to_list(), rules, currency)
    flags = flags.join(combos, on="rules_mask", how="left").with_columns(
        # round half away from zero in integers: (2000 p + m) // (2 m) tenths = round(1000 p / m) tenths
        priority=(((pl.col("points") * 2000 + top) // (2 * top)).cast(pl.Float64) / 10.0).round(1),  # round(1): the tenths as the nearest double
    )
    gone = flags["exit_rules"].list.len() > 0
    rows = flags.filter(~gone).sort(["priority", "collectible", "customer_id"], descending=[True, True, False])
    exited = flags.filter(gone & (pl.col("overdue") > promised.CENT)).sort(["overdue", "customer_id"], descending=[True, False])
    return Worklist(t, top, rows, exited, rules)


def _combinations(masks: list[int], rules: tuple[CollectionRule, ...], currency: str) -> pl.DataFrame:
    """For each combination of rules met (a bit mask): points, rules_met [{kind, points}], why (text), exit_rules."""
    out = []
    for m in masks:
        hit = [r for i, r in enumerate(rules) if m >> i & 1]
        scoring = [r for r in hit if not r.exit]
        out.append(
            {
                "rules_mask": m,
                "points": sum(r.points for r in scoring),
                "rules_met": [{"kind": r.kind, "points": r.points} for r in scoring],
                "why": "; ".join(f"{rule_label(r, currency)} (+{r.points})" for r in scoring),
                "exit_rules": [r.kind for r in hit if r.exit],
            }
        )
    schema = pl.Schema(
        {
            "rules_mask": pl.Int64(),
            "points": pl.Int64(),
            "rules_met": pl.List(pl.Struct({"kind": pl.Utf8(), "points": pl.Int64})),
            "why": pl.Utf8(),
            "exit_rules": pl.List(pl.Utf8()),
        }
    )
    return pl.DataFrame(out, schema=schema)


def worklist(
    eng: Engine,
    store: Store,
    t: dt.date | None = None,
    f: Filters = ALL,
    collector: str | None = None,
    scores: pl.DataFrame | None = None,
    evaluated: pl.DataFrame | None = None,
) -> Worklist:
    """The worklist at T (default the snapshot's as-of date) for the selection; collector: only the customers
    assigned to that collector ("my worklist")."""
    t = t or eng.as_of
    cs = eng.settings.collections
    wl = build(facts(eng, store, t, cs, f, scores, evaluated), t, cs, eng.settings.base_currency)
    return mine(wl, collector) if collector else wl


def mine(wl: Worklist, collector: str) -> Worklist:
    """Only the customers assigned to this collector (rows and exited)."""
    own = pl.col("collector") == collector
    return Worklist(wl.as_of, wl.max_points, wl.rows.filter(own), wl.exited.filter(own), wl.rules)


# ------------------------------------------------------------------------------------------- JSON


class RuleMet(TypedDict):
    kind: str
    points: int


class WorklistRow(TypedDict):
    customer_id: str
    name: str | None
    collector: str | None
    priority: float
    collectible: float
    overdue: float
    oldest_dpd: int | None
    rules_met: list[RuleMet]
    promised_open: float
    broken_365: int
    last_contact: str | None
    dunning_level: int
    risk_class: str | None


class ExitedRow(TypedDict):
    customer_id: str
    name: str | None
    collector: str | None
    overdue: float
    collectible: float
    exit_rules: list[str]


class WorklistJson(TypedDict):
    """`o2c worklist --json` (cli.md), with `exited` (collections.md: exit rules list a customer there)."""

    as_of: str
    max_points: int
    rows: list[WorklistRow]
    exited: list[ExitedRow]


def _money(name: str) -> pl.Expr:
    return (pl.col(name).fill_null(0.0).round(2) + 0.0).alias(name)  # + 0.0: never -0.0


def worklist_json(wl: Worklist, top: int | None = None) -> WorklistJson:
    """The JSON of cli.md, built column-wise (money to the cent, dates as ISO text), in WorklistRow's key order."""
    rows = wl.rows.head(top) if top else wl.rows
    exited = wl.exited.head(top) if top else wl.exited
    row_cols = {
        "customer_id": pl.col("customer_id"),
        "name": pl.col("name"),
        "collector": pl.col("collector"),
        "priority": pl.col("priority"),
        "collectible": _money("collectible"),
        "overdue": _money("overdue"),
        "oldest_dpd": pl.col("oldest_dpd"),
        "rules_met": pl.col("rules_met"),
        "promised_open": _money("promised_open"),
        "broken_365": pl.col("broken_365"),
        "last_contact": pl.col("last_contact").dt.to_string("%Y-%m-%d"),
        "dunning_level": pl.col("dunning_level"),
        "risk_class": pl.col("risk_class"),
    }
    assert list(row_cols) == list(WorklistRow.__annotations__)
    exit_cols = [pl.col("customer_id"), pl.col("name"), pl.col("collector"), _money("overdue"), _money("collectible"), pl.col("exit_rules")]
    return WorklistJson(
        as_of=wl.as_of.isoformat(),
        max_points=wl.max_points,
        rows=cast(list[WorklistRow], rows.select(**row_cols).to_dicts()),
        exited=cast(list[ExitedRow], exited.select(exit_cols).to_dicts()),
    )


def worklist_text(out: WorklistJson, currency: str) -> str:
    lines = [f"Collections worklist at {out['as_of']}: {len(out['rows'])} customer(s); priority = points met / {out['max_points']} points."]
    for i, r in enumerate(out["rows"], 1):
        who = " ".join(x for x in (r["customer_id"], r["name"]) if x)
        rules = ", ".join(f"{m['kind']} +{m['points']}" for m in r["rules_met"]) or "no rule met"
        oldest = "" if r["oldest_dpd"] is None else f", oldest {r['oldest_dpd']} days past due"
        lines.append(
            f"{i:>4}. {who} [{r['collector'] or 'unassigned'}] priority {r['priority']:.1f}: collectible {currency} {r['collectible']:,.2f}{oldest} ({rules})"
        )
    if out["exited"]:
        lines.append(f"Off the list by an exit rule ({len(out['exited'])}):")
        lines += [f"      {r['customer_id']}: {', '.join(r['exit_rules'])} (overdue {currency} {r['overdue']:,.2f})" for r in out["exited"]]
    return "\n".join(lines)
