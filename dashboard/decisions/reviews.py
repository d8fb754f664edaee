"""The review schedule (credit-decisions.md "Review schedule").

    next_review_c = last review + review_days[class]   (C when no class is computed)
    last review   = the latest of: an approved or rejected limit request (its decision date), a review marked
                    done; without any, the as-of date of the first snapshot that holds the customer
The queue lists the customers due by T, most exposed first. Marking a review done without a change is a
decision too (credit_analyst), recorded with the data it was made on.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import polars as pl
import sqlalchemy as sa

from dashboard.decisions.facts import facts_of, positions
from dashboard.decisions.limits import _facts_values, _known_customer, stored
from dashboard.metrics.kpis import Engine
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _text
from dashboard.workbench.schema import reviews
from dashboard.workbench.store import Store


def mark_done(store: Store, user: User, ctx: Context, eng: Engine, customer_id: str, note: str = "", data_sha256: str | None = None) -> Written:
    """A review done without a change of limit, on the business date."""
    require(user, "credit_analyst", "mark credit reviews done")
    body = _text(note, "note", required=False)
    _known_customer(eng, customer_id)
    f = facts_of(eng, store, ctx.business_date, customer_id)
    with store.begin() as conn:
        rid = conn.execute(
            reviews.insert()
            .values(
                customer_id=customer_id,
                business_date=ctx.business_date,
                note=body,
                snapshot_id=ctx.snapshot_id,
                data_sha256=data_sha256,
                **_facts_values(f),
                reviewed_by=user.name,
                at=audit.now(),
                version=1,
            )
            .returning(reviews.c.review_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            "review.done",
            "customer",
            customer_id,
            ctx.snapshot_id,
            {"review_id": rid, "on": ctx.business_date, "note": body, "data_sha256": data_sha256, **_facts_values(f)},
        )
    return Written(rid, seq)


def done_reviews(store: Store) -> pl.DataFrame:
    with store.begin() as conn:
        rows = conn.execute(sa.select(reviews.c.customer_id, reviews.c.business_date)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema={"customer_id": pl.Utf8, "reviewed_on": pl.Date}, orient="row")


def first_seen(eng: Engine) -> pl.DataFrame:
    """customer_id -> the as-of date of the first snapshot of this data folder whose customers table holds it."""
    frames = []
    for snap in DataDir.of(eng.snapshot).list():  # one read per snapshot, not per customer
        path = snap.path / "tables" / "customers.parquet"
        if path.exists() and snap.as_of <= eng.snapshot.as_of:
            frames.append(pl.scan_parquet(path).select("customer_id").with_columns(first_seen=pl.lit(snap.as_of)))
    if not frames:
        return pl.DataFrame(schema={"customer_id": pl.Utf8, "first_seen": pl.Date})
    return pl.concat(frames).group_by("customer_id").agg(pl.col("first_seen").min()).collect()


def queue(eng: Engine, store: Store, t: dt.date, due_only: bool = True) -> pl.DataFrame:
    """customer_id, name, risk_class, exposure, effective_limit, utilisation, last_review, last_review_kind,
    review_days, next_review, days_overdue: the customers due for review by T (all, with due_only=False),
    most exposed first."""
    cp = eng.settings.credit_policy
    req = stored(store).filter(pl.col("status").is_in(["approved", "rejected"]) & (pl.col("decided_on") <= t))
    decided = req.group_by("customer_id").agg(decided_on=pl.col("decided_on").max())
    done = done_reviews(store).filter(pl.col("reviewed_on") <= t).group_by("customer_id").agg(reviewed_on=pl.col("reviewed_on").max())
    p = positions(eng, store, t).select("customer_id", "name", "risk_class", "exposure", "effective_limit", "utilisation")
    q = p.join(decided, on="customer_id", how="left").join(done, on="customer_id", how="left").join(first_seen(eng), on="customer_id", how="left")
    last = pl.max_horizontal("decided_on", "reviewed_on")
    q = q.with_columns(
        last_review=last.fill_null(pl.col("first_seen")),
        last_review_kind=pl.when(last.is_null())
        .then(pl.lit("first snapshot"))
        .when(pl.col("reviewed_on").is_not_null() & (pl.col("reviewed_on") == last))
        .then(pl.lit("review done"))
        .otherwise(pl.lit("limit decision")),
        review_days=pl.col("risk_class").fill_null("C").replace_strict(cp.review_days, return_dtype=pl.Int64),
    )
    q = q.with_columns(next_review=pl.col("last_review") + pl.duration(days=pl.col("review_days")))
    q = q.with_columns(days_overdue=(pl.lit(t) - pl.col("next_review")).dt.total_days())
    if due_only:
        q = q.filter(pl.col("next_review") <= t)
    return q.drop("decided_on", "reviewed_on", "first_seen").sort(["exposure", "customer_id"], descending=[True, False])


# `class` is a Python keyword: the functional form names the key as the proposals' JSON does.
ReviewRow = TypedDict(
    "ReviewRow",
    {
        "customer_id": str,
        "class": str | None,
        "exposure": float,
        "effective_limit": float | None,
        "last_review": str | None,
        "last_review_kind": str,
        "next_review": str | None,
        "days_overdue": int | None,
    },
)


class ReviewsJson(TypedDict):
    """`o2c limits reviews --json`."""

    as_of: str
    reviews: list[ReviewRow]


def queue_json(eng: Engine, store: Store, t: dt.date) -> ReviewsJson:
    """`o2c limits reviews --json`: the customers due for review by T, most exposed first."""
    q = queue(eng, store, t)
    rows = [
        ReviewRow(
            {
                "customer_id": r["customer_id"],
                "class": r["risk_class"],
                "exposure": round(float(r["exposure"]), 2),
                "effective_limit": None if r["effective_limit"] is None else round(float(r["effective_limit"]), 2),
                "last_review": None if r["last_review"] is None else r["last_review"].isoformat(),
                "last_review_kind": r["last_review_kind"],
                "next_review": None if r["next_review"] is None else r["next_review"].isoformat(),
                "days_overdue": r["days_overdue"],
            }
        )
        for r in q.iter_rows(named=True)  # the customers due, not ledger rows
    ]
    return ReviewsJson(as_of=t.isoformat(), reviews=rows)
