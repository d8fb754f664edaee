"""Notes, contacts and collector assignments: the first workflows on the store.

Each function takes the acting user and the business context (the as-of date and the snapshot the
user is looking at), checks the role in the core, writes in one transaction and appends the
audit event in that same transaction: either both happen or neither does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from dashboard.workbench import audit
from dashboard.workbench.assignment import Roster, effective_in, same_person
from dashboard.workbench.errors import Conflict, Refused  # noqa: F401 (callers catch notes.Conflict)
from dashboard.workbench.identity import User, require
from dashboard.workbench.schema import contacts, customer_settings, notes
from dashboard.workbench.store import Store
from dashboard.workbench.versions import versioned_write

CHANNELS = ("call", "email", "letter", "meeting", "portal")
OUTCOMES = ("reached", "no answer", "promise", "dispute", "wrong contact", "other")
MAX_TEXT = 10_000


@dataclass(frozen=True)
class Context:
    """What the user is looking at when acting: the business date, the snapshot and a hash of its data,
    and who owns which customer there (the collector pools read the snapshot's customer master)."""

    business_date: dt.date
    snapshot_id: str | None = None
    data_sha256: str | None = None
    roster: Roster = field(default_factory=Roster)

    def details(self, d: dict[str, Any]) -> dict[str, Any]:
        """An audit entry's details, with the data the write was made on."""
        return d | {"data_sha256": self.data_sha256} if self.data_sha256 else d


@dataclass(frozen=True)
class Written:
    id: int | str
    seq: int  # the audit trail's sequence number of this write


def _collector_of(conn: sa.Connection, customer_id: str) -> str | None:
    return conn.execute(sa.select(customer_settings.c.collector).where(customer_settings.c.customer_id == customer_id)).scalar()


def _may_work(conn: sa.Connection, user: User, customer_id: str, action: str, roster: Roster | None = None) -> None:
    """collector and up; a collector only for their own customers, by hand assignment or pool (all, when a
    customer is neither assigned nor in a pool). Without a roster only hand assignments count."""
    require(user, "collector", action)
    if user.has("credit_analyst"):
        return
    owner = effective_in(conn, roster or Roster(), customer_id)
    if owner.collector is not None and not same_person(owner.collector, user.name):
        how = "by hand" if owner.source == "assigned" else f"through the pool of {owner.pool}"
        raise Refused(f"{customer_id} is assigned to {owner.collector} ({how}): {user.name} may {action} only for their own customers.")


def _text(value: str, what: str, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refused(f"the {what} is empty: write what happened.")
    if len(value) > MAX_TEXT:
        raise Refused(f"the {what} is {len(value):,} characters long; at most {MAX_TEXT:,}.")
    return value


def add_note(store: Store, user: User, ctx: Context, customer_id: str, text: str, invoice_id: str | None = None) -> Written:
    body = _text(text, "note")
    now = audit.now()
    with store.begin() as conn:
        _may_work(conn, user, customer_id, "add notes", ctx.roster)
        nid = conn.execute(
            notes.insert()
            .values(
                customer_id=customer_id,
                invoice_id=invoice_id or None,
                text=body,
                business_date=ctx.business_date,
                created_by=user.name,
                created_at=now,
                updated_by=user.name,
                updated_at=now,
                version=1,
            )
            .returning(notes.c.note_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            "note.add",
            "customer",
            customer_id,
            ctx.snapshot_id,
            ctx.details({"note_id": nid, "invoice_id": invoice_id, "text": body, "business_date": ctx.business_date}),
        )
    return Written(nid, seq)


def edit_note(store: Store, user: User, ctx: Context, note_id: int, text: str, version: int) -> Written:
    """Change a note's text; refused with who changed it when, if it changed since `version` was read."""
    body = _text(text, "note")
    with store.begin() as conn:
        cur = conn.execute(sa.select(notes).where(notes.c.note_id == note_id)).mappings().first()
        if cur is None:
            raise Refused(f"note {note_id} does not exist.")
        _may_work(conn, user, cur["customer_id"], "edit notes", ctx.roster)
        if cur["created_by"] != user.name and not user.has("credit_manager"):
            raise Refused(f"note {note_id} was written by {cur['created_by']}: only its author or a credit manager may change it.")
        w = versioned_write(conn, notes, {"note_id": note_id}, version, {"text": body}, user, f"note {note_id}")
        seq = audit.append(
            conn,
            user,
            "note.edit",
            "customer",
            cur["customer_id"],
            ctx.snapshot_id,
            ctx.details({"note_id": note_id, "before": cur["text"], "after": body, "version": w.version}),
        )
    return Written(note_id, seq)


def log_contact(store: Store, user: User, ctx: Context, customer_id: str, channel: str, outcome: str, note: str = "") -> Written:
    if channel not in CHANNELS:
        raise Refused(f"channel '{channel}' is not one of {', '.join(CHANNELS)}.")
    if outcome not in OUTCOMES:
        raise Refused(f"outcome '{outcome}' is not one of {', '.join(OUTCOMES)}.")
    body = _text(note, "note", required=False)
    with store.begin() as conn:
        _may_work(conn, user, customer_id, "log contacts", ctx.roster)
        cid = conn.execute(
            contacts.insert()
            .values(
                customer_id=customer_id,
                business_date=ctx.business_date,
                channel=channel,
                outcome=outcome,
                note=body,
                created_by=user.name,
                created_at=audit.now(),
                version=1,
            )
            .returning(contacts.c.contact_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            "contact.add",
            "customer",
            customer_id,
            ctx.snapshot_id,
            ctx.details({"contact_id": cid, "channel": channel, "outcome": outcome, "note": body, "business_date": ctx.business_date}),
        )
    return Written(cid, seq)


def assign(store: Store, user: User, ctx: Context, customer_id: str, collector: str | None, version: int | None = None) -> Written:
    """Set (or with None or '', clear: back to the customer's pool) a customer's collector (admin, access.md).

    `version`: the customer's version the user's screen was drawn from (assignment.Effective.version; 0 when
    it had none), refused when someone changed it since; None for a command that reads nothing beforehand."""
    require(user, "admin", "assign customers to collectors")
    name = (collector or "").strip() or None
    with store.begin() as conn:
        w = versioned_write(conn, customer_settings, {"customer_id": customer_id}, version, {"collector": name}, user, f"the collector of {customer_id}")
        before = w.before["collector"] if w.before else None
        seq = audit.append(
            conn, user, "customer.assign", "customer", customer_id, ctx.snapshot_id, ctx.details({"collector": name, "before": before, "version": w.version})
        )
    return Written(customer_id, seq)


def collector(store: Store, customer_id: str) -> str | None:
    """The collector assigned by hand, if any (whose customer it is, pools included: assignment.effective_collector)."""
    with store.begin() as conn:
        return _collector_of(conn, customer_id)


EventKind = Literal["note", "contact"]


def workbench_events(store: Store, customer_id: str) -> list[dict[str, Any]]:
    """The workbench's side of a customer's timeline (notes, contacts), newest first."""
    with store.begin() as conn:
        n = conn.execute(sa.select(notes).where(notes.c.customer_id == customer_id)).mappings().all()
        c = conn.execute(sa.select(contacts).where(contacts.c.customer_id == customer_id)).mappings().all()
    out: list[dict[str, Any]] = []
    for r in n:
        what = f"Note on {r['invoice_id']}" if r["invoice_id"] else "Note"
        out.append(
            {
                "date": r["business_date"],
                "at": r["created_at"],
                "kind": "note",
                "what": what,
                "detail": r["text"],
                "by": r["created_by"],
                "id": r["note_id"],
                "version": r["version"],
            }
        )
    for r in c:
        detail = f"{r['channel'].capitalize()}, {r['outcome']}" + (f": {r['note']}" if r["note"] else "")
        out.append(
            {
                "date": r["business_date"],
                "at": r["created_at"],
                "kind": "contact",
                "what": "Contact",
                "detail": detail,
                "by": r["created_by"],
                "id": r["contact_id"],
                "version": r["version"],
            }
        )
    return sorted(out, key=lambda e: (e["date"], e["at"]), reverse=True)
