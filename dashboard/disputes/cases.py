"""Dispute cases in the workbench (disputes.md "A case"): open, assign, move, resolve, void.

Each write takes the acting user, checks the role in the core (access.md: a credit_analyst opens and
works cases; a write-off needs a credit_manager, above `[access] four_eyes_above` two of them in oidc
mode, and never the person who opened the case), writes in one transaction together with its audit
event, and records the snapshot id and data hash it was made on. Only what people decide is stored;
what was paid is read from the ledger at T every time (dashboard/disputes/amounts.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import sqlalchemy as sa

from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries
from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _text
from dashboard.workbench.schema import approvals, dispute_cases, dispute_history, dispute_invoices
from dashboard.workbench.store import Store

OPEN_STATUSES = ("new", "in_process")
STATUSES = ("new", "in_process", "resolved", "closed", "voided")
# Which status a case may move to from which (disputes.md): voided from any state before closed.
MOVES = {
    "in_process": ("new",),
    "closed": ("resolved",),
    "voided": ("new", "in_process", "resolved"),
}
CENT = 0.005


def _amount(x: float | None, what: str) -> float:
    if x is None:
        return 0.0
    if not isinstance(x, int | float) or x != x or x < 0:
        raise Refused(f"the {what} must be 0 or more (base currency), not {x}.")
    return round(float(x), 2)


def _case(conn: sa.Connection, case_id: int) -> dict:
    row = conn.execute(sa.select(dispute_cases).where(dispute_cases.c.case_id == case_id)).mappings().first()
    if row is None:
        raise Refused(f"there is no dispute case {case_id}: check the case number (o2c disputes lists them).")
    return dict(row)


def _invoices_of(conn: sa.Connection, case_id: int) -> list[str]:
    return sorted(conn.execute(sa.select(dispute_invoices.c.invoice_id).where(dispute_invoices.c.case_id == case_id)).scalars())


def _update(conn: sa.Connection, case: dict, version: int | None, user: User, **values) -> int:
    """Write the case if nobody changed it since `version` (the current one when None); the new version."""
    v = case["version"] if version is None else version
    done = conn.execute(
        dispute_cases.update()
        .where(dispute_cases.c.case_id == case["case_id"], dispute_cases.c.version == v)
        .values(updated_by=user.name, updated_at=audit.now(), version=v + 1, **values)
    )
    if done.rowcount != 1:
        raise Conflict(
            f"dispute case {case['case_id']} was changed by {case['updated_by']} at {case['updated_at'][11:16]} UTC since you opened it: reload, then act again."
        )
    return v + 1


def _history(conn: sa.Connection, case_id: int, status: str, day: dt.date, user: User) -> None:
    conn.execute(dispute_history.insert().values(case_id=case_id, status=status, business_date=day, by=user.name, at=audit.now(), version=1))


def open_case(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    customer_id: str,
    invoice_ids: list[str] | tuple[str, ...],
    amount: float,
    reason: str,
    owner: str | None = None,
    note: str = "",
    data_sha256: str | None = None,
) -> Written:
    """Open a case on one or more of the customer's invoices, opened on the business date: amount > 0 and at
    most what is open of them that day; deadline = opened_on + the reason's SLA days."""
    require(user, "credit_analyst", "open dispute cases")
    sla = eng.settings.disputes.reasons
    if reason not in sla:
        raise Refused(f"reason '{reason}' is not one of the settings' dispute reasons: {', '.join(sla)}.")
    ids = sorted({i.strip() for i in invoice_ids if i and i.strip()})
    if not ids:
        raise Refused("a dispute case names at least one invoice: give --invoice ID.")
    day = ctx.business_date
    docs = queries.run(eng.con, "disputes/documents", invoice_ids=ids, as_of=day).pl()
    unknown = sorted(set(ids) - set(docs["invoice_id"].to_list()))
    if unknown:
        raise Refused(f"invoice(s) {', '.join(unknown)} are not in snapshot {eng.snapshot.id}: name documents of {customer_id}.")
    other = sorted(docs.filter(pl.col("customer_id") != customer_id)["invoice_id"].to_list())
    if other:
        raise Refused(f"invoice(s) {', '.join(other)} belong to another customer, not {customer_id}: a case names the customer's own documents.")
    not_yet = sorted(docs.filter(pl.col("invoice_date") > day)["invoice_id"].to_list())
    if not_yet:
        raise Refused(f"invoice(s) {', '.join(not_yet)} are dated after the business date {day}: a case is opened on documents issued by then.")
    open_total = round(float(docs["open_amount"].sum()), 2)
    value = _amount(amount, "disputed amount")
    if value <= 0:
        raise Refused(f"the disputed amount must be above 0 ({eng.settings.base_currency}), not {amount}.")
    if value > open_total + CENT:
        raise Refused(
            f"the disputed amount {value:,.2f} is more than the {open_total:,.2f} {eng.settings.base_currency} open of {', '.join(ids)} on {day}: "
            "a customer contests at most what it still owes on them."
        )
    body = _text(note, "note", required=False)
    now = audit.now()
    with store.begin() as conn:
        busy = conn.execute(
            sa.select(dispute_invoices.c.invoice_id, dispute_cases.c.case_id)
            .join(dispute_cases, dispute_cases.c.case_id == dispute_invoices.c.case_id)
            .where(dispute_invoices.c.invoice_id.in_(ids), dispute_cases.c.status.in_(OPEN_STATUSES))
        ).all()
        if busy:
            listed = ", ".join(f"{r.invoice_id} (case {r.case_id})" for r in busy)
            raise Refused(f"{listed} already in an open case: work that case, or void it first.")
        cid = conn.execute(
            dispute_cases.insert()
            .values(
                customer_id=customer_id,
                disputed_amount=value,
                reason=reason,
                owner=(owner or "").strip() or user.name,
                status="new",
                opened_on=day,
                deadline=day + dt.timedelta(days=sla[reason]),
                notes=body,
                snapshot_id=ctx.snapshot_id,
                data_sha256=data_sha256,
                created_by=user.name,
                created_at=now,
                updated_by=user.name,
                updated_at=now,
                version=1,
            )
            .returning(dispute_cases.c.case_id)
        ).scalar_one()
        conn.execute(dispute_invoices.insert(), [{"case_id": cid, "invoice_id": i} for i in ids])
        _history(conn, cid, "new", day, user)
        seq = audit.append(
            conn,
            user,
            "dispute.open",
            "dispute_case",
            str(cid),
            ctx.snapshot_id,
            {"customer_id": customer_id, "invoice_ids": ids, "amount": value, "reason": reason, "opened_on": day, "data_sha256": data_sha256},
        )
    return Written(cid, seq)


def assign(store: Store, user: User, ctx: Context, case_id: int, owner: str, version: int | None = None) -> Written:
    require(user, "credit_analyst", "assign dispute cases")
    name = (owner or "").strip()
    if not name:
        raise Refused("the owner is empty: name the person who works the case.")
    with store.begin() as conn:
        case = _case(conn, case_id)
        if case["status"] in ("closed", "voided"):
            raise Refused(f"dispute case {case_id} is {case['status']}: it has no owner to change.")
        v = _update(conn, case, version, user, owner=name)
        seq = audit.append(conn, user, "dispute.assign", "dispute_case", str(case_id), ctx.snapshot_id, {"owner": name, "before": case["owner"], "version": v})
    return Written(case_id, seq)


def move(store: Store, user: User, ctx: Context, case_id: int, status: str, version: int | None = None) -> Written:
    """in_process (from new), closed (from resolved) or voided (opened by mistake, from any state before closed)."""
    require(user, "credit_analyst", "work dispute cases")
    if status not in MOVES:
        raise Refused(f"a case is moved to in_process, closed or voided here (resolving takes amounts and a root cause), not '{status}'.")
    day = ctx.business_date
    with store.begin() as conn:
        case = _case(conn, case_id)
        if case["status"] not in MOVES[status]:
            raise Refused(f"dispute case {case_id} is {case['status']}: it can move to {status} only from {' or '.join(MOVES[status])}.")
        if day < case["opened_on"]:
            raise Refused(f"dispute case {case_id} was opened on {case['opened_on']}: it cannot change on {day}, a day before.")
        extra = {"closed_on": day} if status == "closed" else {"voided_on": day, "pending_resolution": None} if status == "voided" else {}
        v = _update(conn, case, version, user, status=status, **extra)
        _history(conn, case_id, status, day, user)
        seq = audit.append(conn, user, f"dispute.{status}", "dispute_case", str(case_id), ctx.snapshot_id, {"from": case["status"], "on": day, "version": v})
    return Written(case_id, seq)


def resolve(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    case_id: int,
    root_cause: str,
    credited: float | None = 0.0,
    written_off: float | None = 0.0,
    cleared: float | None = 0.0,
    version: int | None = None,
) -> Written:
    """Resolve a new or in-process case on the business date with what was credited, written off and cleared
    by hand, and its root cause. What the customer paid is the ledger's (amounts.py). Written off > 0 needs a
    credit manager who did not open the case (oidc mode); above four_eyes_above (oidc mode) the first
    manager's resolution waits for a second, different one giving the same figures."""
    require(user, "credit_analyst", "resolve dispute cases")
    cause = _text(root_cause, "root cause")
    c, w, m = _amount(credited, "credited amount"), _amount(written_off, "written-off amount"), _amount(cleared, "amount cleared by hand")
    day = ctx.business_date
    oidc = user.mode == "oidc"
    if w > 0:
        require(user, "credit_manager", "resolve a dispute with a write-off")
    from dashboard.disputes.amounts import paid_to

    with store.begin() as conn:
        case = _case(conn, case_id)
        if case["status"] not in OPEN_STATUSES:
            raise Refused(f"dispute case {case_id} is {case['status']}: only a new or in-process case is resolved.")
        if day < case["opened_on"]:
            raise Refused(f"dispute case {case_id} was opened on {case['opened_on']}: it cannot be resolved on {day}, a day before.")
        original = float(case["disputed_amount"])
        paid = paid_to(eng, case_id, _invoices_of(conn, case_id), case["opened_on"], day)
        if c + w + m > original - paid + CENT:
            raise Refused(
                f"credited {c:,.2f} + written off {w:,.2f} + cleared {m:,.2f} = {c + w + m:,.2f} is more than the {original - paid:,.2f} "
                f"{eng.settings.base_currency} still open of case {case_id} on {day} (disputed {original:,.2f}, paid {paid:,.2f})."
            )
        if w > 0 and oidc and case["created_by"] == user.name:
            raise Refused(f"{user.name} opened case {case_id}: a write-off is approved by another credit manager (nobody approves their own).")
        figures = {"credited": c, "written_off": w, "cleared_manually": m, "root_cause": cause}
        threshold = eng.settings.access.four_eyes_above
        needs_two = w > 0 and oidc and threshold is not None and w > threshold
        pending = json.loads(case["pending_resolution"]) if case["pending_resolution"] else None
        if pending is not None and pending != figures:
            # a write-off one manager approved is completed or replaced only on purpose, never overtaken by other figures
            raise Refused(f"case {case_id} awaits a second approval of {pending}: approve those figures, or void and reopen the case.")
        if needs_two:
            approvers = set(
                conn.execute(sa.select(approvals.c.approver).where(approvals.c.object_type == "dispute_case", approvals.c.object_id == str(case_id))).scalars()
            )
            if user.name in approvers:
                raise Refused(
                    f"{user.name} already approved the write-off of case {case_id}: above {threshold:,.2f} a second, different credit manager approves."
                )
            conn.execute(
                approvals.insert().values(object_type="dispute_case", object_id=str(case_id), approver=user.name, business_date=day, at=audit.now(), version=1)
            )
            if not approvers:  # the first of two: kept as asked, the case stays open
                _update(conn, case, version, user, pending_resolution=json.dumps(figures, sort_keys=True))
                seq = audit.append(
                    conn, user, "dispute.write_off_approved", "dispute_case", str(case_id), ctx.snapshot_id, figures | {"approval": 1, "of": 2, "on": day}
                )
                return Written(case_id, seq)
        elif w > 0:
            conn.execute(
                approvals.insert().values(object_type="dispute_case", object_id=str(case_id), approver=user.name, business_date=day, at=audit.now(), version=1)
            )
        v = _update(
            conn,
            case,
            version,
            user,
            status="resolved",
            resolved_on=day,
            pending_resolution=None,
            credited=c,
            written_off=w,
            cleared_manually=m,
            root_cause=cause,
        )
        _history(conn, case_id, "resolved", day, user)
        seq = audit.append(
            conn,
            user,
            "dispute.resolve",
            "dispute_case",
            str(case_id),
            ctx.snapshot_id,
            figures | {"paid": round(paid, 2), "on": day, "version": v, "self_approved": w > 0 and not oidc and case["created_by"] == user.name},
        )
    return Written(case_id, seq)


RAW_SCHEMA: dict[str, Any] = {  # (Any: polars' own schema type is private)
    "case_id": pl.Int64,
    "customer_id": pl.Utf8,
    "invoice_ids": pl.List(pl.Utf8),
    "original": pl.Float64,
    "reason": pl.Utf8,
    "owner": pl.Utf8,
    "opened_on": pl.Date,
    "deadline": pl.Date,
    "root_cause": pl.Utf8,
    "entered_credited": pl.Float64,
    "entered_written_off": pl.Float64,
    "entered_cleared": pl.Float64,
    "resolved_on": pl.Date,
    "closed_on": pl.Date,
    "voided_on": pl.Date,
    "pending_resolution": pl.Utf8,
    "version": pl.Int64,
}


def stored(store: Store) -> pl.DataFrame:
    """Every case as recorded (RAW_SCHEMA), oldest first."""
    with store.begin() as conn:
        rows = conn.execute(sa.select(dispute_cases).order_by(dispute_cases.c.case_id)).mappings().all()
        inv = conn.execute(sa.select(dispute_invoices)).all()
    ids: dict[int, list[str]] = {}
    for r in inv:
        ids.setdefault(r.case_id, []).append(r.invoice_id)
    return pl.DataFrame(
        [
            {
                "case_id": r["case_id"],
                "customer_id": r["customer_id"],
                "invoice_ids": sorted(ids.get(r["case_id"], [])),
                "original": float(r["disputed_amount"]),
                "reason": r["reason"],
                "owner": r["owner"],
                "opened_on": r["opened_on"],
                "deadline": r["deadline"],
                "root_cause": r["root_cause"],
                "entered_credited": float(r["credited"]),
                "entered_written_off": float(r["written_off"]),
                "entered_cleared": float(r["cleared_manually"]),
                "resolved_on": r["resolved_on"],
                "closed_on": r["closed_on"],
                "voided_on": r["voided_on"],
                "pending_resolution": r["pending_resolution"],
                "version": r["version"],
            }
            for r in rows
        ],
        schema=RAW_SCHEMA,
    )


def history(store: Store) -> pl.DataFrame:
    """Every status change (case_id, status, business_date), in the order made."""
    with store.begin() as conn:
        rows = conn.execute(sa.select(dispute_history).order_by(dispute_history.c.history_id)).mappings().all()
    return pl.DataFrame(
        [{"history_id": r["history_id"], "case_id": r["case_id"], "status": r["status"], "business_date": r["business_date"]} for r in rows],
        schema={"history_id": pl.Int64, "case_id": pl.Int64, "status": pl.Utf8, "business_date": pl.Date},
    )
