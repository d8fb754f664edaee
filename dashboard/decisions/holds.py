"""Held orders (credit-decisions.md "Held orders").

At T a customer's open orders are released in order_date then order_id order (whatif.md) while their
running sum stays within its headroom = effective limit - AR; the rest are on credit hold. A credit
manager releases a held order (reason, optional until-date: the release lapses after that day) or rejects
it. A released order uses up headroom first, before the orders released by the rule; a rejected order
uses none. A customer without a limit has nothing on hold.

    status   held | released (by a decision) | rejected | within limit (released by the rule)
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import polars as pl
import sqlalchemy as sa

from dashboard.decisions.facts import facts_of, positions
from dashboard.decisions.limits import _facts_values
from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _text
from dashboard.workbench.schema import hold_decisions
from dashboard.workbench.store import Store

DECISIONS_SCHEMA = {"decision_id": pl.Int64, "order_id": pl.Utf8, "decision": pl.Utf8, "until_date": pl.Date, "business_date": pl.Date}

EPS = 1e-9  # the what-if model's tolerance on the running sum (dashboard/whatif/model.py _blocked)


def decisions(store: Store) -> pl.DataFrame:
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(
                hold_decisions.c.decision_id, hold_decisions.c.order_id, hold_decisions.c.decision, hold_decisions.c.until_date, hold_decisions.c.business_date
            ).order_by(hold_decisions.c.decision_id)
        ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=DECISIONS_SCHEMA, orient="row")


def decisions_at(decided: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """decided: decisions(). Per order decided by T, its decision in force at T: order_id, decision (released |
    rejected | null once a release lapsed: the order is back under the rule), until_date. The one rule the held
    orders and the what-if baseline (dashboard/whatif/model.py) share."""
    last = decided.filter(pl.col("business_date") <= t).sort("decision_id").group_by("order_id").agg(pl.all().last())
    return last.select(
        "order_id",
        decision=pl.when((pl.col("decision") == "released") & pl.col("until_date").is_not_null() & (pl.col("until_date") < pl.lit(t)))
        .then(pl.lit(None, pl.Utf8))  # a release that lapsed: the order is back under the rule
        .otherwise(pl.col("decision")),
        until_date="until_date",
    )


def order_status(orders: pl.DataFrame, limits: pl.DataFrame, decided: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """orders: customer_key, customer_id, order_id, order_date, amount (open at T, release order);
    limits: customer_id, effective_limit, ar; decided: decisions(). Each order with its status at T."""
    last = decisions_at(decided, t)
    o = orders.join(last, on="order_id", how="left").join(limits.select("customer_id", "effective_limit", "ar"), on="customer_id", how="left")
    o = o.with_columns(headroom=pl.col("effective_limit") - pl.col("ar").fill_null(0.0))
    manual = pl.col("decision") == "released"
    o = o.with_columns(released_first=pl.col("amount").filter(manual).sum().over("customer_id").fill_null(0.0))
    by_rule = pl.col("decision").is_null()
    o = o.with_columns(running=pl.when(by_rule).then(pl.col("amount")).otherwise(0.0).cum_sum().over("customer_id"))
    within = pl.col("effective_limit").is_null() | (pl.col("running") + pl.col("released_first") <= pl.col("headroom") + EPS)
    status = (
        pl.when(manual)
        .then(pl.lit("released"))
        .when(pl.col("decision") == "rejected")
        .then(pl.lit("rejected"))
        .when(within)
        .then(pl.lit("within limit"))
        .otherwise(pl.lit("held"))
    )
    return o.with_columns(status=status).drop("running", "released_first")


def holds(eng: Engine, store: Store, t: dt.date, everything: bool = False) -> pl.DataFrame:
    """Open orders at T that are held, released or rejected (with everything=True, those within limit too)."""
    orders = queries.run(eng.con, "decisions/orders_at", as_of=t).pl()
    limits = positions(eng, store, t).select("customer_id", "name", "effective_limit", "ar", "score", "risk_class", "exposure", "utilisation")
    out = order_status(orders, limits, decisions(store), t).join(limits.select("customer_id", "name"), on="customer_id", how="left")
    return out if everything else out.filter(pl.col("status") != "within limit")


def _decide(
    store: Store, user: User, ctx: Context, eng: Engine, order_id: str, decision: str, reason: str, until: dt.date | None, data_sha256: str | None
) -> Written:
    require(user, "credit_manager", f"{'release' if decision == 'released' else 'reject'} held orders")
    why = _text(reason, "reason")
    day = ctx.business_date
    if until is not None and until < day:
        raise Refused(f"a release until {until} would end before it is given on {day}: give a later until-date, or none.")
    now = holds(eng, store, day, everything=True).filter(pl.col("order_id") == order_id)
    if now.height == 0:
        raise Refused(f"there is no open order '{order_id}' in snapshot {eng.snapshot.id} on {day}: check the order id.")
    r = now.row(0, named=True)
    allowed = ("held",) if decision == "released" else ("held", "released")
    if r["status"] not in allowed:
        raise Refused(f"order {order_id} is {r['status']} on {day}: only a {' or '.join(allowed)} order is {decision} here.")
    f = facts_of(eng, store, day, r["customer_id"])
    with store.begin() as conn:
        did = conn.execute(
            hold_decisions.insert()
            .values(
                order_id=order_id,
                customer_id=r["customer_id"],
                decision=decision,
                reason=why,
                until_date=until,
                business_date=day,
                amount=round(float(r["amount"]), 2),
                snapshot_id=ctx.snapshot_id,
                data_sha256=data_sha256,
                **_facts_values(f),
                decided_by=user.name,
                at=audit.now(),
                version=1,
            )
            .returning(hold_decisions.c.decision_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            f"order.{'release' if decision == 'released' else 'reject'}",
            "order",
            order_id,
            ctx.snapshot_id,
            {
                "decision_id": did,
                "customer_id": r["customer_id"],
                "amount": round(float(r["amount"]), 2),
                "reason": why,
                "until": until,
                "on": day,
                "data_sha256": data_sha256,
                **_facts_values(f),
            },
        )
    return Written(order_id, seq)


def release(
    store: Store, user: User, ctx: Context, eng: Engine, order_id: str, reason: str, until: dt.date | None = None, data_sha256: str | None = None
) -> Written:
    return _decide(store, user, ctx, eng, order_id, "released", reason, until, data_sha256)


def reject(store: Store, user: User, ctx: Context, eng: Engine, order_id: str, reason: str, data_sha256: str | None = None) -> Written:
    return _decide(store, user, ctx, eng, order_id, "rejected", reason, None, data_sha256)


class HoldRow(TypedDict):
    order_id: str
    customer_id: str
    order_date: str
    amount: float
    status: str


class HoldsJson(TypedDict):
    """`o2c holds --json` (cli.md)."""

    as_of: str
    holds: list[HoldRow]


def holds_json(eng: Engine, store: Store, t: dt.date) -> HoldsJson:
    h = holds(eng, store, t)
    rows = [
        HoldRow(
            order_id=r["order_id"],
            customer_id=r["customer_id"],
            order_date=r["order_date"].isoformat(),
            amount=round(float(r["amount"]), 2),
            status=r["status"],
        )
        for r in h.iter_rows(named=True)  # the held and decided orders, not ledger rows
    ]
    return HoldsJson(as_of=t.isoformat(), holds=rows)


def holds_text(out: HoldsJson, currency: str) -> str:
    lines = [f"Orders on credit hold and decided at {out['as_of']}:"]
    lines += [f"{r['order_id']}  {r['customer_id']}  {r['order_date']}  {currency} {r['amount']:,.2f}  {r['status']}" for r in out["holds"]]
    if not out["holds"]:
        lines.append("No order is on hold.")
    return "\n".join(lines)
