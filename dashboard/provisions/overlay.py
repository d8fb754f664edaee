"""The forward-looking overlay as a workbench decision (provisions.md "Forward-looking overlay", access.md).

A credit analyst drafts an overlay: a multiplier of the historical rates, one for every bucket or one per
bucket named (the others 1.0), for every segment or for one segment, with a reason. A credit manager
approves or rejects it; in oidc mode never the one who drafted it, in local mode one trusted operator may,
recorded as "self-approved (local mode)". Drafts, approvals and rejections go to the audit trail in the
same transaction; a decision names the version of the draft its user saw (versions.py), so two managers
deciding at once cannot both win.

    overlay in force at T, per scope   the latest approved overlay of that scope (one segment, or every
                                       segment) decided on or before T (latest by decided_on, then by
                                       approval time); a replayed date before an approval shows what held then
    for a segment                      its own overlay in force, else the every-segment one, else the
                                       settings' `[provisions] overlay` (the fallback when none is approved)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _text
from dashboard.workbench.schema import provision_overlays
from dashboard.workbench.store import Store
from dashboard.workbench.versions import stale, versioned_write

SELF_APPROVED = "self-approved (local mode)"
ALL_BUCKETS = "*"
MAX_FACTOR = 10.0  # a multiplier above this is a typing error, not judgement (the rate applied stops at 100 % anyway)

OVERLAY_SCHEMA = {
    "overlay_id": pl.Int64,
    "segment": pl.Utf8,
    "factors": pl.Utf8,  # JSON text as stored
    "reason": pl.Utf8,
    "status": pl.Utf8,
    "drafted_on": pl.Date,
    "drafted_by": pl.Utf8,
    "drafted_at": pl.Utf8,
    "decided_on": pl.Date,
    "decided_by": pl.Utf8,
    "decided_at": pl.Utf8,
    "decision_reason": pl.Utf8,
    "self_approved": pl.Boolean,
    "snapshot_id": pl.Utf8,
    "version": pl.Int64,
}


@dataclass(frozen=True)
class InForce:
    """The overlays a provision matrix at one date applies: per bucket, for every segment and per segment."""

    every: list[float]  # the every-segment multipliers, one per bucket
    by_segment: dict[str, list[float]] = field(default_factory=dict)  # a segment with an approved overlay of its own
    source: str = "settings"  # "settings" | "approved"
    reason: str = ""
    overlay_ids: tuple[int, ...] = ()  # the approved overlays applied (none: the settings' overlay)

    def of(self, segment: str) -> list[float]:
        return self.by_segment.get(segment, self.every)


def factors_list(factors: dict[str, float], names: list[str]) -> list[float]:
    """One multiplier per bucket from a stored overlay: {"*": x} for all, else the buckets named (others 1.0)."""
    if ALL_BUCKETS in factors:
        return [float(factors[ALL_BUCKETS])] * len(names)
    return [float(factors.get(n, 1.0)) for n in names]


def describe(factors: dict[str, float], label=str) -> str:
    """An overlay in words: "x 1.10 on every bucket", "1_30 x 1.20, 31_60 x 1.50" (label: how a bucket is named)."""
    if ALL_BUCKETS in factors:
        return f"x {factors[ALL_BUCKETS]:.2f} on every bucket"
    return ", ".join(f"{label(b)} x {v:.2f}" for b, v in factors.items())


def stored(store: Store) -> pl.DataFrame:
    """Every overlay as recorded (OVERLAY_SCHEMA), newest first."""
    with store.begin() as conn:
        rows = conn.execute(sa.select(provision_overlays).order_by(provision_overlays.c.overlay_id.desc())).mappings().all()
    return pl.DataFrame([{k: r[k] for k in OVERLAY_SCHEMA} for r in rows], schema=OVERLAY_SCHEMA)


def store_version(store: Store) -> str:
    """Changes whenever an overlay is drafted or decided (the page's cache key)."""
    with store.begin() as conn:
        n, v = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(provision_overlays.c.version), 0))).one()
    return f"{n}.{v}"


def in_force_from(rows: pl.DataFrame, t: dt.date, names: list[str], fallback: list[float], fallback_reason: str = "") -> InForce:
    """The overlays in force at T from stored() rows; the settings' multipliers where none is approved."""
    ok = rows.filter((pl.col("status") == "approved") & (pl.col("decided_on") <= t)).sort(["decided_on", "decided_at"], descending=True)
    latest = ok.group_by("segment", maintain_order=True).first()  # newest first: one per scope (null = every segment)
    if latest.height == 0:
        return InForce(fallback, {}, "settings", fallback_reason)
    every, by_seg, reasons, ids = fallback, {}, [], []
    for r in latest.sort("segment", nulls_last=False).iter_rows(named=True):
        f = factors_list(json.loads(r["factors"]), names)
        scope = "every segment" if r["segment"] is None else f"segment {r['segment']}"
        how = SELF_APPROVED if r["self_approved"] else f"approved by {r['decided_by']}"
        reasons.append(f"overlay {r['overlay_id']} ({scope}: {describe(json.loads(r['factors']))}; {how} on {r['decided_on']}): {r['reason']}")
        ids.append(int(r["overlay_id"]))
        if r["segment"] is None:
            every = f
        else:
            by_seg[r["segment"]] = f
    return InForce(every, by_seg, "approved", "; ".join(reasons), tuple(ids))


def in_force(store: Store, t: dt.date, names: list[str], fallback: list[float], fallback_reason: str = "") -> InForce:
    return in_force_from(stored(store), t, names, fallback, fallback_reason)


# ------------------------------------------------------------------------------------------ the workflow


def _checked_factors(factors: dict[str, float] | float, names: list[str]) -> dict[str, float]:
    """The overlay as stored: {"*": x} for one multiplier, else {bucket: x} in the buckets' order."""
    given = {ALL_BUCKETS: factors} if isinstance(factors, int | float) else dict(factors)
    if not given:
        raise Refused("the overlay names no bucket: give one multiplier for every bucket, or one per bucket (e.g. 1_30 = 1.2).")
    unknown = [b for b in given if b != ALL_BUCKETS and b not in names]
    if unknown:
        raise Refused(f"the overlay names bucket(s) {', '.join(unknown)}; the buckets are {', '.join(names)}.")
    if ALL_BUCKETS in given and len(given) > 1:
        raise Refused("the overlay gives one multiplier for every bucket and others per bucket: give one or the other.")
    for b, v in given.items():
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or v <= 0 or v > MAX_FACTOR:
            where = "every bucket" if b == ALL_BUCKETS else f"bucket {b}"
            raise Refused(f"the overlay for {where} is {v}: a multiplier above 0 and at most {MAX_FACTOR:g} (1 = the historical rate, 1.1 = 10 % more).")
    if ALL_BUCKETS in given:
        return {ALL_BUCKETS: round(float(given[ALL_BUCKETS]), 6)}
    return {n: round(float(given[n]), 6) for n in names if n in given}


def draft(
    store: Store,
    user: User,
    ctx: Context,
    names: list[str],
    factors: dict[str, float] | float,
    reason: str,
    segment: str | None = None,
    segments: list[str] | None = None,
) -> Written:
    """Draft an overlay (credit_analyst): `factors` one multiplier for every bucket, or {bucket: multiplier};
    `segment` one of `segments` (the snapshot's), or None for every segment."""
    require(user, "credit_analyst", "draft provision overlays")
    stored_factors = _checked_factors(factors, names)
    why = _text(reason, "reason")
    if segment is not None and segments is not None and segment not in segments:
        raise Refused(f"there is no segment '{segment}' in the snapshot; its segments are {', '.join(segments) or 'none'}.")
    now = audit.now()
    with store.begin() as conn:
        oid = conn.execute(
            provision_overlays.insert()
            .values(
                segment=segment,
                factors=json.dumps(stored_factors),
                reason=why,
                status="draft",
                drafted_on=ctx.business_date,
                drafted_by=user.name,
                drafted_at=now,
                snapshot_id=ctx.snapshot_id,
                data_sha256=ctx.data_sha256,
                updated_by=user.name,
                updated_at=now,
                version=1,
            )
            .returning(provision_overlays.c.overlay_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            "overlay.draft",
            "provision_overlay",
            str(oid),
            ctx.snapshot_id,
            ctx.details({"segment": segment, "factors": stored_factors, "reason": why, "on": ctx.business_date}),
        )
    return Written(oid, seq)


def _one(conn: sa.Connection, overlay_id: int) -> dict:
    r = conn.execute(sa.select(provision_overlays).where(provision_overlays.c.overlay_id == overlay_id)).mappings().first()
    if r is None:
        raise Refused(f"there is no provision overlay {overlay_id}: check the number ('o2c provisions overlay list' and the Provisions page list them).")
    return dict(r)


def _current(conn: sa.Connection, overlay_id: int, version: int | None) -> dict:
    """The overlay, if still at the version the user saw (else Conflict: who changed it and when)."""
    r = _one(conn, overlay_id)
    if version is not None and version != r["version"]:
        raise Conflict(stale(f"provision overlay {overlay_id}", r))
    return r


def approve(store: Store, user: User, ctx: Context, overlay_id: int, version: int | None = None) -> Written:
    """Approve a draft (credit_manager; in oidc mode never its drafter): from its business date on, the
    Provisions page, `o2c provisions` and the IFRS 7 export apply it. `version`: the draft's version the
    user saw (None: a one-shot command that reads and decides in one transaction)."""
    require(user, "credit_manager", "approve provision overlays")
    day = ctx.business_date
    with store.begin() as conn:
        r = _current(conn, overlay_id, version)
        if r["status"] != "draft":
            raise Refused(f"provision overlay {overlay_id} is {r['status']}: only a draft is approved.")
        own = r["drafted_by"] == user.name
        if own and user.mode == "oidc":
            raise Refused(f"{user.name} drafted provision overlay {overlay_id}: another credit manager approves it (nobody approves their own).")
        if day < r["drafted_on"]:
            raise Refused(f"provision overlay {overlay_id} was drafted on {r['drafted_on']}: it cannot be approved on {day}, a day before.")
        self_ok = own and user.mode == "local"
        now = audit.now()
        values = {"status": "approved", "decided_on": day, "decided_by": user.name, "decided_at": now, "self_approved": self_ok}
        versioned_write(conn, provision_overlays, {"overlay_id": overlay_id}, version, values, user, f"provision overlay {overlay_id}")
        seq = audit.append(
            conn,
            user,
            "overlay.approve",
            "provision_overlay",
            str(overlay_id),
            ctx.snapshot_id,
            ctx.details(
                {
                    "segment": r["segment"],
                    "factors": json.loads(r["factors"]),
                    "drafted_by": r["drafted_by"],
                    "self_approved": SELF_APPROVED if self_ok else None,
                    "on": day,
                }
            ),
        )
    return Written(overlay_id, seq)


def reject(store: Store, user: User, ctx: Context, overlay_id: int, reason: str, version: int | None = None) -> Written:
    """Reject a draft with a reason (credit_manager; rejecting applies nothing, so the drafter may too)."""
    require(user, "credit_manager", "reject provision overlays")
    why = _text(reason, "reason")
    day = ctx.business_date
    with store.begin() as conn:
        r = _current(conn, overlay_id, version)
        if r["status"] != "draft":
            raise Refused(f"provision overlay {overlay_id} is {r['status']}: only a draft is rejected.")
        values = {"status": "rejected", "decided_on": day, "decided_by": user.name, "decided_at": audit.now(), "decision_reason": why}
        versioned_write(conn, provision_overlays, {"overlay_id": overlay_id}, version, values, user, f"provision overlay {overlay_id}")
        seq = audit.append(
            conn,
            user,
            "overlay.reject",
            "provision_overlay",
            str(overlay_id),
            ctx.snapshot_id,
            ctx.details({"segment": r["segment"], "factors": json.loads(r["factors"]), "reason": why, "on": day}),
        )
    return Written(overlay_id, seq)


def overlay_row(store: Store, overlay_id: int) -> dict:
    with store.begin() as conn:
        return _one(conn, overlay_id)


def list_json(store: Store) -> dict:
    """`o2c provisions overlay list --json`: every overlay, newest first, factors as an object."""
    rows = stored(store)
    out = []
    for r in rows.iter_rows(named=True):
        out.append(
            {
                "overlay_id": r["overlay_id"],
                "segment": r["segment"],
                "factors": json.loads(r["factors"]),
                "reason": r["reason"],
                "status": r["status"],
                "drafted_on": r["drafted_on"],
                "drafted_by": r["drafted_by"],
                "decided_on": r["decided_on"],
                "decided_by": r["decided_by"],
                "decision_reason": r["decision_reason"],
                "self_approved": bool(r["self_approved"]),
                "version": r["version"],
            }
        )
    return {"overlays": out}
