"""Limit requests and their approval, and THE effective limit (credit-decisions.md).

A request (credit_analyst) carries the customer's current effective limit, the limit asked for, its kind
(permanent, or temporary until valid_to), valid_from (the business date), the reason, the proposal then and,
from the what-if studio, the scenario id. A credit_manager who is not the requester approves or rejects it;
when requested - current > `[access] four_eyes_above` two different managers approve. In local mode one
trusted operator may approve their own request: allowed, and recorded as "self-approved (local mode)".

    effective limit at T   1. an approved temporary limit whose [valid_from, valid_to] holds T
                           2. else the latest approved permanent limit with valid_from <= T
                              (latest by valid_from, then by approval time)
                           3. else the master's credit_limit of the snapshot
    (a limit counts from the day it was approved on: a replayed date before the approval shows the
    limit that held then)
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from dashboard.decisions.facts import Facts, facts_of
from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries
from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _text
from dashboard.workbench.schema import approvals, limit_requests
from dashboard.workbench.store import Store

SELF_APPROVED = "self-approved (local mode)"
KINDS = ("permanent", "temporary")

REQUEST_SCHEMA = {
    "request_id": pl.Int64,
    "customer_id": pl.Utf8,
    "current_limit": pl.Float64,
    "requested_limit": pl.Float64,
    "kind": pl.Utf8,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "reason": pl.Utf8,
    "proposal": pl.Float64,
    "scenario_id": pl.Utf8,
    "status": pl.Utf8,
    "approvals_needed": pl.Int64,
    "decided_on": pl.Date,
    "decided_at": pl.Utf8,
    "decision_reason": pl.Utf8,
    "self_approved": pl.Boolean,
    "requested_by": pl.Utf8,
    "requested_at": pl.Utf8,
    "version": pl.Int64,
}


def stored(store: Store) -> pl.DataFrame:
    """Every limit request as recorded (REQUEST_SCHEMA), oldest first."""
    with store.begin() as conn:
        rows = conn.execute(sa.select(limit_requests).order_by(limit_requests.c.request_id)).mappings().all()
    return pl.DataFrame([{k: r[k] for k in REQUEST_SCHEMA} for r in rows], schema=REQUEST_SCHEMA)


def approvers(store: Store, object_type: str = "limit_request") -> pl.DataFrame:
    with store.begin() as conn:
        rows = conn.execute(sa.select(approvals.c.object_id, approvals.c.approver, approvals.c.at).where(approvals.c.object_type == object_type)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema={"object_id": pl.Utf8, "approver": pl.Utf8, "at": pl.Utf8}, orient="row")


# ---------------------------------------------------------------------------------- the effective limit


def effective_from(master: pl.DataFrame, requests: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """master: customer_key, customer_id, master_limit (every customer of the snapshot); requests: stored().
    One row per customer: effective_limit, limit_source (temporary | approved | master), request_id, valid_to."""
    ok = requests.filter((pl.col("status") == "approved") & (pl.col("decided_on") <= t) & (pl.col("valid_from") <= t))
    temp = ok.filter((pl.col("kind") == "temporary") & (pl.col("valid_to") >= t)).with_columns(limit_source=pl.lit("temporary"), rank=pl.lit(1))
    perm = ok.filter(pl.col("kind") == "permanent").with_columns(limit_source=pl.lit("approved"), rank=pl.lit(2))
    best = (
        pl.concat([temp, perm])
        .sort(["customer_id", "rank", "valid_from", "decided_at"], descending=[False, False, True, True])
        .group_by("customer_id", maintain_order=True)
        .first()
        .select("customer_id", "requested_limit", "limit_source", "request_id", "valid_to", "decided_on")
    )
    out = master.join(best, on="customer_id", how="left")
    return out.with_columns(
        effective_limit=pl.when(pl.col("limit_source").is_not_null()).then(pl.col("requested_limit")).otherwise(pl.col("master_limit")),
        limit_source=pl.col("limit_source").fill_null("master"),
    ).drop("requested_limit")


def master_limits(eng: Engine) -> pl.DataFrame:
    """The ERP master's limits: `customers_master` once the effective limits are applied to the engine (apply.py)."""
    from dashboard.decisions.apply import MASTER_TABLE, has_master_table

    table = MASTER_TABLE if has_master_table(eng) else "customers"
    return eng.con.cursor().sql(f"select customer_key, customer_id, credit_limit as master_limit from {table} order by customer_key").pl()


def effective_limits(store: Store, eng: Engine, t: dt.date | None = None) -> pl.DataFrame:
    """THE effective limit of every customer of the engine's snapshot at T (default: its as-of date):
    customer_key, customer_id, master_limit, effective_limit (null = no limit), limit_source, request_id,
    valid_to, decided_on. Exposure, utilisation, over-limit, at-risk, the what-if baseline and the worklist
    take `effective_limit` in place of the master's credit_limit (README "Credit decisions")."""
    return effective_from(master_limits(eng), stored(store), t or eng.as_of)


def to_reconcile(store: Store, eng: Engine, t: dt.date | None = None) -> pl.DataFrame:
    """Limits to reconcile: an approved permanent limit in force that differs from the master limit of a snapshot
    newer than its approval (the ERP was not updated, or was updated outside the process)."""
    e = effective_limits(store, eng, t)
    names = eng.con.cursor().sql("select customer_id, name from customers").pl()
    differs = (pl.col("master_limit").is_null()) | ((pl.col("master_limit") - pl.col("effective_limit")).abs() > 0.005)
    return (
        e.filter((pl.col("limit_source") == "approved") & (pl.col("decided_on") < eng.snapshot.as_of) & differs)
        .join(names, on="customer_id", how="left")
        .select("customer_id", "name", approved_limit="effective_limit", master_limit="master_limit", approved_on="decided_on", request_id="request_id")
        .with_columns(snapshot_as_of=pl.lit(eng.snapshot.as_of))
    )


# ------------------------------------------------------------------------------------------ requests


def _one_request(conn: sa.Connection, request_id: int) -> dict:
    r = conn.execute(sa.select(limit_requests).where(limit_requests.c.request_id == request_id)).mappings().first()
    if r is None:
        raise Refused(f"there is no limit request {request_id}: check the number ('o2c limits reviews' and the Credit page list them).")
    return dict(r)


def _customer_of(store: Store, request_id: int) -> str:
    with store.begin() as conn:
        return str(_one_request(conn, request_id)["customer_id"])


def _known_customer(eng: Engine, customer_id: str) -> None:
    if queries.run(eng.con, "collections/customer_keys", customer_ids=[customer_id]).pl().height == 0:
        raise Refused(f"there is no customer '{customer_id}' in snapshot {eng.snapshot.id}: check the customer id.")


def _facts_values(f: Facts) -> dict:
    return {"score": f.score, "risk_class": f.risk_class, "exposure": f.exposure, "utilisation": f.utilisation}


def request(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    customer_id: str,
    limit: float,
    reason: str,
    valid_to: dt.date | None = None,
    scenario_id: str | None = None,
    data_sha256: str | None = None,
) -> Written:
    """Request a limit for a customer from the business date on (temporary until valid_to when given)."""
    _known_customer(eng, customer_id)
    made, skipped = request_many(store, user, ctx, eng, {customer_id: limit}, reason, valid_to, scenario_id, data_sha256)
    if skipped:
        raise Refused(skipped[0])
    return made[0]


def request_many(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    wanted: dict[str, float],
    reason: str,
    valid_to: dt.date | None = None,
    scenario_id: str | None = None,
    data_sha256: str | None = None,
) -> tuple[list[Written], list[str]]:
    """One request per customer of `wanted` (customer_id -> limit) in one transaction, each with its own audit
    entry: what one click on a what-if scenario's limit lever makes. A customer that already has a pending
    request is skipped and named (one open request per customer)."""
    require(user, "credit_analyst", "request limit changes")
    bad = {c: v for c, v in wanted.items() if not isinstance(v, int | float) or v != v or v < 0}
    if bad:
        c, v = next(iter(bad.items()))
        raise Refused(f"the requested limit must be 0 or more ({eng.settings.base_currency}), not {v} (customer {c}).")
    why = _text(reason, "reason")
    day = ctx.business_date
    if valid_to is not None and valid_to < day:
        raise Refused(f"a temporary limit valid to {valid_to} would end before it starts on {day}: give a later --valid-to.")
    from dashboard.decisions.facts import positions
    from dashboard.decisions.proposals import proposals

    ids = list(wanted)
    every = positions(eng, store, day)
    pos = every.filter(pl.col("customer_id").is_in(ids))
    unknown = sorted(set(ids) - set(pos["customer_id"].to_list()))
    if unknown:
        raise Refused(f"there is no customer {', '.join(unknown)} in snapshot {eng.snapshot.id}: check the customer id.")
    prop = dict(proposals(eng, store, day, every).filter(pl.col("customer_id").is_in(ids)).select("customer_id", "proposed_limit").iter_rows())
    threshold = eng.settings.access.four_eyes_above
    made: list[Written] = []
    skipped: list[str] = []
    with store.begin() as conn:
        busy = dict(
            conn.execute(
                sa.select(limit_requests.c.customer_id, limit_requests.c.request_id).where(
                    limit_requests.c.customer_id.in_(ids), limit_requests.c.status == "pending"
                )
            ).all()
        )
        for r in pos.sort("customer_id").iter_rows(named=True):  # the customers asked for, not ledger rows
            cid = r["customer_id"]
            if cid in busy:
                skipped.append(f"{cid} already has a pending limit request ({busy[cid]}): decide or withdraw it first (one open request per customer).")
                continue
            limit = round(float(wanted[cid]), 2)
            current = r["effective_limit"]
            rise = limit - (float(current) if current is not None else 0.0)  # no limit counts as none granted yet
            needed = 2 if user.mode == "oidc" and threshold is not None and rise > threshold else 1
            f = Facts(
                None if r["score"] is None else round(float(r["score"]), 1),
                r["risk_class"],
                round(float(r["exposure"]), 2),
                None if r["utilisation"] is None else round(float(r["utilisation"]), 4),
            )
            proposal = prop.get(cid)
            rid = conn.execute(
                limit_requests.insert()
                .values(
                    customer_id=cid,
                    current_limit=current,
                    requested_limit=limit,
                    kind="temporary" if valid_to is not None else "permanent",
                    valid_from=day,
                    valid_to=valid_to,
                    reason=why,
                    proposal=proposal,
                    scenario_id=scenario_id,
                    status="pending",
                    approvals_needed=needed,
                    snapshot_id=ctx.snapshot_id,
                    data_sha256=data_sha256,
                    **_facts_values(f),
                    requested_by=user.name,
                    requested_at=audit.now(),
                    version=1,
                )
                .returning(limit_requests.c.request_id)
            ).scalar_one()
            seq = audit.append(
                conn,
                user,
                "limit.request",
                "limit_request",
                str(rid),
                ctx.snapshot_id,
                {
                    "customer_id": cid,
                    "current_limit": current,
                    "requested_limit": limit,
                    "valid_from": day,
                    "valid_to": valid_to,
                    "reason": why,
                    "proposal": proposal,
                    "scenario_id": scenario_id,
                    "approvals_needed": needed,
                    "data_sha256": data_sha256,
                    **_facts_values(f),
                },
            )
            made.append(Written(rid, seq))
    return made, skipped


def from_scenario(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    scenario,
    scenario_id: str,
    reason: str,
    data_sha256: str | None = None,
    base=None,
) -> tuple[list[Written], list[str]]:
    """One click from the what-if studio: a request for every customer whose limit the scenario's limit levers
    change (the studio's own new_limits), carrying the scenario id. `base`: the studio's what-if baseline at the
    business date when the caller has it (computing it again costs a scan of the ledger)."""

    from dashboard.whatif.model import baseline

    require(user, "credit_analyst", "request limit changes")  # before the baseline is computed for nothing
    b = base if base is not None and base.as_of == ctx.business_date and base.snapshot_id == eng.snapshot.id else baseline(eng, ctx.business_date)
    wanted = scenario_limits(b, scenario)
    if not wanted:
        raise Refused("the scenario changes no customer's limit: add a limits lever (a pct or a value) that selects customers with a limit.")
    return request_many(store, user, ctx, eng, wanted, reason, None, scenario_id, data_sha256)


def scenario_limits(b, scenario) -> dict[str, float]:
    """customer_id -> the new limit (to the cent) of every customer whose limit the scenario's limit levers change
    (the what-if studio's own new_limits over its baseline b): what one click turns into requests."""
    import numpy as np

    from dashboard.whatif.model import new_limits

    new = new_limits(b, scenario)
    changed = ~np.isnan(new) & ~np.isclose(new, b.limit, equal_nan=True)
    ids = b.customers["customer_id"].to_numpy()[changed]
    return dict(zip(ids.tolist(), np.round(new[changed], 2).tolist()))


def _decide(conn: sa.Connection, r: dict, version: int | None, **values) -> int:
    v = r["version"] if version is None else version
    done = conn.execute(
        limit_requests.update().where(limit_requests.c.request_id == r["request_id"], limit_requests.c.version == v).values(version=v + 1, **values)
    )
    if done.rowcount != 1:
        raise Conflict(f"limit request {r['request_id']} was changed by someone else since you opened it: reload, then decide again.")
    return v + 1


def approve(store: Store, user: User, ctx: Context, eng: Engine, request_id: int, data_sha256: str | None = None, version: int | None = None) -> Written:
    """Approve a pending request (credit_manager; in oidc mode never the requester, and above four_eyes_above a
    second, different approver completes it)."""
    require(user, "credit_manager", "approve limit requests")
    day = ctx.business_date
    f = facts_of(eng, store, day, _customer_of(store, request_id))  # read before the write lock is taken
    with store.begin() as conn:
        r = _one_request(conn, request_id)
        if r["status"] != "pending":
            raise Refused(f"limit request {request_id} is {r['status']}: only a pending request is approved.")
        own = r["requested_by"] == user.name
        if own and user.mode == "oidc":
            raise Refused(f"{user.name} requested limit request {request_id}: another credit manager approves it (nobody approves their own).")
        if day < r["valid_from"]:
            raise Refused(f"limit request {request_id} was made on {r['valid_from']}: it cannot be approved on {day}, a day before.")
        done_by = set(
            conn.execute(sa.select(approvals.c.approver).where(approvals.c.object_type == "limit_request", approvals.c.object_id == str(request_id))).scalars()
        )
        if user.name in done_by:
            raise Refused(f"{user.name} already approved limit request {request_id}: the second approval is another person's (four eyes).")
        conn.execute(
            approvals.insert().values(
                object_type="limit_request",
                object_id=str(request_id),
                approver=user.name,
                business_date=day,
                snapshot_id=ctx.snapshot_id,
                data_sha256=data_sha256,
                **_facts_values(f),
                at=audit.now(),
                version=1,
            )
        )
        n = len(done_by) + 1
        complete = n >= int(r["approvals_needed"])
        self_ok = own and user.mode == "local"
        if complete:
            _decide(conn, r, version, status="approved", decided_on=day, decided_at=audit.now(), self_approved=self_ok)
        else:
            _decide(conn, r, version)
        seq = audit.append(
            conn,
            user,
            "limit.approve",
            "limit_request",
            str(request_id),
            ctx.snapshot_id,
            {
                "customer_id": r["customer_id"],
                "requested_limit": float(r["requested_limit"]),
                "approval": n,
                "of": int(r["approvals_needed"]),
                "status": "approved" if complete else "pending",
                "self_approved": SELF_APPROVED if self_ok else None,
                "on": day,
                "data_sha256": data_sha256,
                **_facts_values(f),
            },
        )
    return Written(request_id, seq)


def reject(
    store: Store, user: User, ctx: Context, eng: Engine, request_id: int, reason: str, data_sha256: str | None = None, version: int | None = None
) -> Written:
    """Reject a pending request with a reason (credit_manager; in oidc mode not the requester, who withdraws instead)."""
    require(user, "credit_manager", "reject limit requests")
    why = _text(reason, "reason")
    day = ctx.business_date
    f = facts_of(eng, store, day, _customer_of(store, request_id))
    with store.begin() as conn:
        r = _one_request(conn, request_id)
        if r["status"] != "pending":
            raise Refused(f"limit request {request_id} is {r['status']}: only a pending request is rejected.")
        if r["requested_by"] == user.name and user.mode == "oidc":
            raise Refused(f"{user.name} requested limit request {request_id}: withdraw it instead, or let another credit manager decide.")
        _decide(conn, r, version, status="rejected", decided_on=day, decided_at=audit.now(), decision_reason=why)
        seq = audit.append(
            conn,
            user,
            "limit.reject",
            "limit_request",
            str(request_id),
            ctx.snapshot_id,
            {"customer_id": r["customer_id"], "reason": why, "on": day, "data_sha256": data_sha256, **_facts_values(f)},
        )
    return Written(request_id, seq)


def withdraw(store: Store, user: User, ctx: Context, request_id: int, version: int | None = None) -> Written:
    """The requester (or a credit manager) takes a pending request back."""
    require(user, "credit_analyst", "withdraw limit requests")
    with store.begin() as conn:
        r = _one_request(conn, request_id)
        if r["status"] != "pending":
            raise Refused(f"limit request {request_id} is {r['status']}: only a pending request is withdrawn.")
        if r["requested_by"] != user.name and not user.has("credit_manager"):
            raise Refused(f"limit request {request_id} is {r['requested_by']}'s: only they or a credit manager withdraw it.")
        _decide(conn, r, version, status="withdrawn", decided_on=ctx.business_date, decided_at=audit.now())
        seq = audit.append(conn, user, "limit.withdraw", "limit_request", str(request_id), ctx.snapshot_id, {"customer_id": r["customer_id"]})
    return Written(request_id, seq)


def request_row(store: Store, request_id: int) -> dict:
    """One request as stored (status, self_approved, ...)."""
    with store.begin() as conn:
        return _one_request(conn, request_id)
