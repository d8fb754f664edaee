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
import threading
import weakref
from dataclasses import dataclass
from typing import TypedDict, cast

import numpy as np
import polars as pl
import sqlalchemy as sa

from dashboard.collections import followup
from dashboard.collections import promises as promised
from dashboard.metrics import limits, positions
from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.risk import scorecard as risk
from dashboard.settings import CollectionRule, CollectionsSettings
from dashboard.store import sql as queries
from dashboard.workbench.assignment import Roster, all_collectors
from dashboard.workbench.schema import audit as audit_table
from dashboard.workbench.schema import contacts as contacts_table
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


# The workbench as the worklist reads it, by customer_key, kept while the workbench is unchanged.
# Every workbench write appends to the audit trail in its transaction (access.md), so the trail's
# last sequence number names the workbench's state: when it moves (a write by this process or by
# any other on the same store), everything is read again. What depends on T (the last contact on
# or before T, the promises' state, the cases open at T) is worked out at each date from these.


@dataclass(frozen=True)
class _Workbench:
    token: tuple
    row_of_id: dict[str, int]  # customer_id -> customer_key
    settings: pl.DataFrame  # row k = customer_key k: resubmission_date, dunning_block_*, collector
    contact_key: np.ndarray  # every contact's customer_key, sorted by its business day ...
    contact_day: np.ndarray  # ... (days since 1970-01-01), of customers of this snapshot
    dunning: np.ndarray  # dunning_level per customer_key
    promises: pl.DataFrame  # promises.stored()
    cases: pl.DataFrame  # disputes.cases.stored() and its history
    case_history: pl.DataFrame


_KEPT: weakref.WeakKeyDictionary[Store, _Workbench] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _audit_seq(store: Store) -> int | None:
    with store.begin() as conn:
        return conn.execute(sa.select(sa.func.max(audit_table.c.seq))).scalar()


def _workbench(eng: Engine, store: Store) -> _Workbench:
    roster = Roster.of(eng)
    token = (_audit_seq(store), eng.snapshot.id, repr(roster.pools))
    with _KEPT_LOCK:
        kept = _KEPT.get(store)
    if kept is not None and kept.token == token:
        return kept
    from dashboard.disputes import cases as stored_cases
    from dashboard.dunning.history import dunning_level

    index = queries.run(eng.con, "collections/customer_index").pl()
    n = int(queries.run(eng.con, "collections/key_count").fetchall()[0][0])
    row_of_id = dict(zip(index["customer_id"].to_list(), index["customer_key"].to_list()))
    by_key = pl.DataFrame({"customer_key": np.arange(n, dtype=np.int64)}).join(
        index.select("customer_id", pl.col("customer_key").cast(pl.Int64)), on="customer_key", how="left", maintain_order="left"
    )
    wb = followup.customer_settings_frame(store).drop("version", "collector")
    who = all_collectors(store, roster).select("customer_id", "collector")
    settings = (
        by_key.join(wb, on="customer_id", how="left", maintain_order="left")
        .join(who, on="customer_id", how="left", maintain_order="left")
        .drop("customer_key", "customer_id")
    )
    with store.begin() as conn:  # followup.last_contacts's rows before its max: every contact's date
        seen = conn.execute(sa.select(contacts_table.c.customer_id, contacts_table.c.business_date)).all()
    keys = np.array([row_of_id.get(c, -1) for c, _ in seen], dtype=np.int64)
    days = np.array([positions.day(d) for _, d in seen], dtype=np.int64)
    known = keys >= 0
    keys, days = keys[known], days[known]
    order = np.argsort(days, kind="stable")
    levels = dunning_level(store)
    dunning = np.zeros(n, dtype=np.int64)
    _scatter(dunning, row_of_id, levels["customer_id"], levels["dunning_level"].fill_null(0).to_numpy())
    kept = _Workbench(
        token, row_of_id, settings, keys[order], days[order], dunning, promised.stored(store), stored_cases.stored(store), stored_cases.history(store)
    )
    with _KEPT_LOCK:
        _KEPT[store] = kept
    return kept


def _scatter(out: np.ndarray, row_of_id: dict[str, int], ids: pl.Series, values: np.ndarray) -> None:
    """out[customer_key of id] = value, for the ids of this snapshot (a few thousand rows at most: promises, levels)."""
    rows = [(row_of_id[c], i) for i, c in enumerate(ids.to_list()) if c in row_of_id]
    if rows:
        k, i = np.array(rows, dtype=np.int64).T
        out[k] = values[i]


def _last_contact(wb: _Workbench, n: int, t: dt.date) -> np.ndarray:
    """followup.last_contacts at T per customer_key, as days (-1: none on or before T)."""
    upto = int(positions.find(wb.contact_day, positions.day(t), side="right"))
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, wb.contact_key[:upto], wb.contact_day[:upto])
    return last


def _case_overdue(eng: Engine, wb: _Workbench, n: int, t: dt.date) -> np.ndarray:
    """Per customer_key: what overdue at T is disputed only by an open case, not by the ledger's flag (the flagged
    part is positions_at.sql's disputed_overdue; tests check the sum against disputed_at)."""
    out = np.zeros(n)
    if wb.cases.height == 0:
        return out
    from dashboard.disputes.amounts import case_only_overdue

    docs = case_only_overdue(eng, wb.cases, wb.case_history, t)
    np.add.at(out, docs["customer_key"].to_numpy(), docs["open_amount"].to_numpy())
    return out


def _dates(days: np.ndarray, name: str) -> pl.Series:
    """Days since 1970-01-01 as a Date column; -1 = null."""
    return pl.Series(name, np.where(days < 0, np.nan, days), nan_to_null=True).cast(pl.Int32).cast(pl.Date)


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
    evaluated at T (promises.evaluate) when the caller shows them too. Every fact is an array by
    customer_key, gathered for the selection's customers (no join of 133k rows by customer id)."""
    s = scores if scores is not None else risk.scores(eng, t, f)
    base = s.select("customer_key", "customer_id", "name", "segment", "region", "credit_limit", "exposure", "score", "risk_class", overdue=pl.col("ar_overdue"))
    wb = _workbench(eng, store)
    n = wb.dunning.shape[0]
    keys = base["customer_key"].to_numpy().astype(np.int64)
    oldest, flagged = eng.positions.worklist_positions(t)
    # Disputed: the ledger's flag OR an open dispute case (disputes/amounts.py), not the flag alone.
    disputed = (flagged + _case_overdue(eng, wb, n, t))[keys]
    ev = evaluated if evaluated is not None else promised.evaluate(eng, wb.promises, t, cs.promise_tolerance_days)
    per = promised.by_customer(ev, t)
    p_open, p_not_due, broken = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    p_next = np.full(n, -1, dtype=np.int64)
    if per.height:
        ids = per["customer_id"]
        _scatter(p_open, wb.row_of_id, ids, per["promised_open"].fill_null(0.0).to_numpy())
        _scatter(p_not_due, wb.row_of_id, ids, per["promised_not_due"].fill_null(0.0).to_numpy())
        _scatter(broken, wb.row_of_id, ids, per["broken_365"].fill_null(0).to_numpy())
        _scatter(p_next, wb.row_of_id, ids, per["next_promised_date"].cast(pl.Int32).fill_null(-1).to_numpy())
    overdue = base["overdue"].to_numpy()
    out = base.hstack(
        [
            pl.Series("oldest_dpd", oldest[keys], nan_to_null=True).cast(pl.Int64),
            pl.Series("disputed_overdue", disputed),
        ]
    )
    out = out.with_columns(effective_limit(out, t)).hstack([pl.Series("collectible", overdue - disputed)])
    return out.hstack(wb.settings[keys]).hstack(
        [
            _dates(_last_contact(wb, n, t)[keys], "last_contact"),
            pl.Series("promised_open", p_open[keys]),
            pl.Series("promised_not_due", p_not_due[keys]),
            _dates(p_next[keys], "next_promised_date"),
            pl.Series("broken_365", broken[keys]),
            pl.Series("dunning_level", wb.dunning[keys]),
        ]
    )


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
    masks = facts_frame.select(mask).to_series()
    distinct, combo = np.unique(masks.to_numpy(), return_inverse=True)
    combos = _combinations(distinct.tolist(), rules, currency)
    points = combos["points"].to_numpy()[combo]
    # round half away from zero in integers: (2000 p + m) // (2 m) tenths = round(1000 p / m) tenths;
    # round(1): the tenths as the nearest double
    priority = pl.Series("priority", ((points * 2000 + top) // (2 * top)).astype(np.float64) / 10.0).round(1)
    gone = (combos["exit_rules"].list.len().to_numpy() > 0)[combo]
    collectible = facts_frame["collectible"].to_numpy()
    overdue = facts_frame["overdue"].to_numpy()
    by_id = np.empty(facts_frame.height, dtype=np.int64)
    by_id[facts_frame["customer_id"].arg_sort().to_numpy()] = np.arange(facts_frame.height)  # each row's place by customer_id
    # The order as row numbers (priority, collectible descending, customer_id), then one gather of the
    # rows listed: sorting the frame would move its ~30 columns for every customer.
    listed = np.flatnonzero(~gone)
    listed = listed[np.lexsort((by_id[listed], -collectible[listed], -priority.to_numpy()[listed]))]
    off = np.flatnonzero(gone & (overdue > promised.CENT))
    off = off[np.lexsort((by_id[off], -overdue[off]))]

    def rows(at: np.ndarray) -> pl.DataFrame:
        return facts_frame[at].hstack([masks[at]]).hstack(combos.drop("rules_mask")[combo[at]]).hstack([priority[at]])

    return Worklist(t, top, rows(listed), rows(off), rules)


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
