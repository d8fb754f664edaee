"""What issued runs said before (dunning.md): the level each document and customer reached, the interest
already claimed per document, the date of each customer's last letter, the blocks on documents."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from dashboard.workbench.schema import dunning_blocks, dunning_items, dunning_letters, dunning_runs
from dashboard.workbench.store import Store

ISSUED_SCHEMA = {
    "run_id": pl.Int64,
    "as_of": pl.Date,
    "letter_id": pl.Int64,
    "customer_id": pl.Utf8,
    "letter_level": pl.Int64,
    "invoice_id": pl.Utf8,
    "level": pl.Int64,
    "open": pl.Float64,
    "interest": pl.Float64,
    "compensation": pl.Float64,
}


def issued_items(store: Store) -> pl.DataFrame:
    """Every item of every letter of every issued run (removed items and letters left out), ISSUED_SCHEMA."""
    r, lt, it = dunning_runs, dunning_letters, dunning_items
    q = (
        sa.select(
            r.c.run_id,
            sa.cast(r.c.as_of, sa.String),
            lt.c.letter_id,
            lt.c.customer_id,
            lt.c.level,
            it.c.invoice_id,
            it.c.level,
            it.c.open,
            it.c.interest,
            it.c.compensation,
        )
        .select_from(it.join(lt, it.c.letter_id == lt.c.letter_id).join(r, lt.c.run_id == r.c.run_id))
        .where(r.c.status == "issued", lt.c.removed_reason.is_(None), it.c.removed_reason.is_(None))
    )
    with store.begin() as conn:
        rows = conn.execute(q).all()
    text = ISSUED_SCHEMA | {"as_of": pl.Utf8}
    frame = pl.DataFrame(rows, schema=text, orient="row")
    return frame.with_columns(pl.col("as_of").str.slice(0, 10).str.to_date("%Y-%m-%d"))


def by_document(issued: pl.DataFrame) -> pl.DataFrame:
    """invoice_id -> prev_level (its level in the last issued letter naming it), last_open (its open amount
    there), claimed (interest claimed so far), compensated (compensation charged so far)."""
    return (
        issued.sort("run_id")
        .group_by("invoice_id")
        .agg(
            prev_level=pl.col("level").last(),
            last_open=pl.col("open").last(),
            claimed=pl.col("interest").sum(),
            compensated=pl.col("compensation").sum(),
        )
    )


def by_customer(issued: pl.DataFrame) -> pl.DataFrame:
    """customer_id -> last_letter (date of its last issued letter), dunning_level (that letter's level)."""
    letters = issued.unique(["letter_id"]).sort("run_id", "letter_id")
    return letters.group_by("customer_id").agg(last_letter=pl.col("as_of").last(), dunning_level=pl.col("letter_level").last())


def dunning_level(store: Store) -> pl.DataFrame:
    """dunning_level_c (dunning.md, read by the collections worklist): the level of the customer's last
    issued letter; customers never sent a letter are absent (level 0)."""
    return by_customer(issued_items(store)).select("customer_id", "dunning_level")


def dunning_levels(store: Store, customer_ids: pl.Series) -> pl.Series:
    """The same, aligned with the given customer ids (0 for a customer without an issued letter)."""
    levels = dunning_level(store)
    frame = pl.DataFrame({"customer_id": customer_ids.cast(pl.Utf8)}).join(levels, on="customer_id", how="left", maintain_order="left")
    return frame["dunning_level"].fill_null(0).cast(pl.Int64).alias("dunning_level")


def blocked_documents(store: Store) -> pl.DataFrame:
    """invoice_id, customer_id, reason, blocked_by, blocked_on of every document on a dunning block."""
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(
                dunning_blocks.c.invoice_id, dunning_blocks.c.customer_id, dunning_blocks.c.reason, dunning_blocks.c.blocked_by, dunning_blocks.c.blocked_on
            )
        ).all()
    return pl.DataFrame(
        rows, schema={"invoice_id": pl.Utf8, "customer_id": pl.Utf8, "reason": pl.Utf8, "blocked_by": pl.Utf8, "blocked_on": pl.Date}, orient="row"
    )


TIMELINE_SCHEMA = {
    "date": pl.Date,
    "kind": pl.Utf8,
    "what": pl.Utf8,
    "amount_base": pl.Float64,
    "detail": pl.Utf8,
    "by": pl.Utf8,
    "at": pl.Utf8,
    "letter_id": pl.Int64,
}


def letter_events(store: Store, customer_id: str) -> pl.DataFrame:
    """The customer's issued letters for its timeline (dashboard/workbench/timeline.py's columns plus letter_id, by
    which runs.letter_files gives the PDF): dated by the run, kind "letter", the total, level and send state."""
    r, lt = dunning_runs, dunning_letters
    q = (
        sa.select(sa.cast(r.c.as_of, sa.String), r.c.run_id, lt.c.letter_id, lt.c.level, lt.c.total, lt.c.send_status, r.c.issued_by, r.c.issued_at)
        .select_from(lt.join(r, lt.c.run_id == r.c.run_id))
        .where(r.c.status == "issued", lt.c.removed_reason.is_(None), lt.c.customer_id == customer_id)
        .order_by(r.c.run_id.desc())
    )
    with store.begin() as conn:
        rows = conn.execute(q).all()
    frame = pl.DataFrame(
        rows,
        schema={
            "date": pl.Utf8,
            "run_id": pl.Int64,
            "letter_id": pl.Int64,
            "level": pl.Int64,
            "amount_base": pl.Float64,
            "send_status": pl.Utf8,
            "by": pl.Utf8,
            "at": pl.Utf8,
        },
        orient="row",
    )
    return frame.select(
        date=pl.col("date").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        kind=pl.lit("letter"),
        what=pl.format("Reminder level {} (run {})", pl.col("level"), pl.col("run_id")),
        amount_base=pl.col("amount_base"),
        detail=pl.col("send_status"),
        by=pl.col("by"),
        at=pl.col("at").fill_null(""),
        letter_id=pl.col("letter_id"),
    ).cast(TIMELINE_SCHEMA)  # type: ignore[arg-type]
