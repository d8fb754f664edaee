"""A customer's follow-up in the workbench: the resubmission date and the dunning block (with its reason).

collections.md: `resubmission_c` is a date a collector set (the customer comes back on the worklist
on that day, rule `resubmission_due`). dunning.md: a customer on a dunning block gets no letter,
and the block carries a reason. Both are collector work (access.md), for the collector's own
customers; each change is one transaction with its audit entry, and refused when the customer's
settings changed since the user read them (optimistic version).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import sqlalchemy as sa

from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import User
from dashboard.workbench.notes import Context, Written, _may_work, _text
from dashboard.workbench.schema import contacts, customer_settings
from dashboard.workbench.store import Store


class _Unset:
    """A field not given (left as it is), unlike None (cleared)."""


UNSET: Any = _Unset()


def set_followup(
    store: Store,
    user: User,
    ctx: Context,
    customer_id: str,
    resubmission: dt.date | None = UNSET,
    dunning_block: str | None = UNSET,
    version: int | None = None,
    data_sha256: str | None = None,
) -> Written:
    """Set (a date) or clear (None) the resubmission date; block dunning with a reason (text) or lift the block
    (None). Fields left UNSET stay as they are. version: the customer settings' version the user read."""
    if resubmission is UNSET and dunning_block is UNSET:
        raise Refused("nothing to change: give a resubmission date or a dunning block (or lift one).")
    values: dict[str, Any] = {}
    if resubmission is not UNSET:
        if resubmission is not None and resubmission < ctx.business_date:
            raise Refused(f"a resubmission date of {resubmission} is before the business date {ctx.business_date}: choose today or a later day.")
        values["resubmission_date"] = resubmission
    if dunning_block is not UNSET:
        if dunning_block is None:
            values |= {"dunning_block_reason": None, "dunning_block_by": None, "dunning_block_on": None}
        else:
            reason = _text(dunning_block, "reason for the dunning block")
            values |= {"dunning_block_reason": reason, "dunning_block_by": user.name, "dunning_block_on": ctx.business_date}
    with store.begin() as conn:
        _may_work(conn, user, customer_id, "set resubmission dates and dunning blocks")
        cur = conn.execute(sa.select(customer_settings).where(customer_settings.c.customer_id == customer_id)).mappings().first()
        if version is not None and (cur["version"] if cur else 0) != version:
            who = f"{cur['updated_by']} at {cur['updated_at'][11:16]} UTC" if cur else "someone"
            raise Conflict(f"{customer_id}'s follow-up was changed by {who} since you opened it: reload, then set it again.")
        stamp = {"updated_by": user.name, "updated_at": audit.now()}
        if cur is None:
            conn.execute(customer_settings.insert().values(customer_id=customer_id, version=1, **values, **stamp))
        else:
            conn.execute(
                customer_settings.update().where(customer_settings.c.customer_id == customer_id).values(version=cur["version"] + 1, **values, **stamp)
            )
        before = {k: (cur[k] if cur else None) for k in values}
        details = {"before": before, "after": values, "business_date": ctx.business_date, "data_sha256": data_sha256}
        seq = audit.append(conn, user, "customer.followup", "customer", customer_id, ctx.snapshot_id, details)
    return Written(customer_id, seq)


SETTINGS_SCHEMA = {
    "customer_id": pl.Utf8,
    "collector": pl.Utf8,
    "resubmission_date": pl.Date,
    "dunning_block_reason": pl.Utf8,
    "dunning_block_by": pl.Utf8,
    "dunning_block_on": pl.Date,
    "version": pl.Int64,
}


def customer_settings_frame(store: Store) -> pl.DataFrame:
    """Every customer's collector, resubmission date and dunning block (SETTINGS_SCHEMA)."""
    # Dates are read as their ISO text and parsed by polars at once: SQLAlchemy's per-value date
    # processing costs a quarter of a second for a pool of 13k customers.
    text = {k: pl.Utf8 if t == pl.Date else t for k, t in SETTINGS_SCHEMA.items()}
    cols = [sa.cast(customer_settings.c[k], sa.String).label(k) if t == pl.Date else customer_settings.c[k] for k, t in SETTINGS_SCHEMA.items()]
    with store.begin() as conn:
        rows = conn.execute(sa.select(*cols)).all()
    frame = pl.DataFrame(rows, schema=text, orient="row")
    return frame.with_columns(pl.col(k).str.slice(0, 10).str.to_date("%Y-%m-%d") for k, t in SETTINGS_SCHEMA.items() if t == pl.Date)


def last_contacts(store: Store, t: dt.date) -> pl.DataFrame:
    """customer_id -> the date of its last contact on or before T (contacts dated later had not happened at T)."""
    q = sa.select(contacts.c.customer_id, sa.func.max(contacts.c.business_date)).where(contacts.c.business_date <= t).group_by(contacts.c.customer_id)
    with store.begin() as conn:
        rows = conn.execute(q).all()
    return pl.DataFrame(rows, schema={"customer_id": pl.Utf8, "last_contact": pl.Date}, orient="row")


def followup_of(store: Store, customer_id: str) -> dict[str, Any]:
    """One customer's settings as a dict (SETTINGS_SCHEMA keys; version 0 when it has none yet)."""
    with store.begin() as conn:
        r = conn.execute(sa.select(customer_settings).where(customer_settings.c.customer_id == customer_id)).mappings().first()
    if r is None:
        return {k: None for k in SETTINGS_SCHEMA} | {"customer_id": customer_id, "version": 0}
    return {k: r[k] for k in SETTINGS_SCHEMA}


def block_text(reason: str | None, by: str | None, on: dt.date | None) -> str:
    return "" if reason is None else f"{reason} ({by}, {on})"


__all__ = ["UNSET", "Conflict", "Refused", "block_text", "customer_settings_frame", "followup_of", "last_contacts", "set_followup"]
