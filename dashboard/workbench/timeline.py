"""One timeline per customer: the ledger's events (documents issued, settled) and the workbench's
(notes, contacts, promises to pay; later letters, cases, decisions), newest first."""

from __future__ import annotations

import polars as pl

from dashboard.workbench.notes import workbench_events
from dashboard.workbench.store import Store

SCHEMA = {"date": pl.Date, "kind": pl.Utf8, "what": pl.Utf8, "amount_base": pl.Float64, "detail": pl.Utf8, "by": pl.Utf8, "at": pl.Utf8}
KINDS = ("invoice", "credit note", "settled", "note", "contact", "promise")


def ledger_events(documents: pl.DataFrame) -> pl.DataFrame:
    """From the customer's documents (queries/customer/documents.sql): each issued, and each settled by T."""
    credit = pl.col("amount_base") < 0
    issued = documents.select(
        date=pl.col("invoice_date"),
        kind=pl.when(credit).then(pl.lit("credit note")).otherwise(pl.lit("invoice")),
        what=pl.when(credit).then(pl.lit("Credit note ")).otherwise(pl.lit("Invoice ")) + pl.col("invoice_id"),
        amount_base=pl.col("amount_base"),
        detail=pl.format("due {}", pl.col("due_date")),
    )
    late = pl.col("days_late")
    settled = documents.filter(pl.col("paid_date").is_not_null()).select(
        date=pl.col("paid_date"),
        kind=pl.lit("settled"),
        what=pl.lit("Settled ") + pl.col("invoice_id"),
        amount_base=pl.col("amount_base"),
        detail=pl.when(late > 0)
        .then(pl.format("{} days late", late))
        .when(late < 0)
        .then(pl.format("{} days early", -late))
        .otherwise(pl.lit("on the due date")),
    )
    return pl.concat([issued, settled]).with_columns(by=pl.lit("ledger"), at=pl.lit("")).select(list(SCHEMA)).cast(SCHEMA)  # type: ignore[arg-type]


def promise_events(store: Store, customer_id: str, evaluated: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each promise to pay on the day it was made; with `evaluated` (collections.promises.evaluate at T)
    its state and what was paid toward it, else what was promised only."""
    from dashboard.collections.promises import stored

    p = stored(store, customer_id)
    if evaluated is not None:
        p = p.join(evaluated.select("promise_id", "state", "paid"), on="promise_id", how="left")
    else:
        p = p.with_columns(state=pl.lit(None, pl.Utf8), paid=pl.lit(None, pl.Float64))
    docs = pl.when(pl.col("invoice_ids").list.len() > 0).then(pl.lit(" for ") + pl.col("invoice_ids").list.join(", ")).otherwise(pl.lit(""))
    # a customer's few promises, written as finance writes amounts (1,000.00)
    paid = pl.col("paid").map_elements(lambda x: f"{x:,.2f}", return_dtype=pl.Utf8)
    state = pl.when(pl.col("state").is_not_null()).then(pl.format(": {}, paid {}", pl.col("state"), paid)).otherwise(pl.lit(""))
    return p.select(
        date=pl.col("made_on"),
        kind=pl.lit("promise"),
        what=pl.format("Promise {}", pl.col("promise_id")),
        amount_base=pl.col("amount"),
        detail=pl.format("promised for {}", pl.col("promised_date")) + docs + state,
        by=pl.col("created_by"),
        at=pl.col("created_at"),
    ).cast(SCHEMA)  # type: ignore[arg-type]


def timeline(
    store: Store, customer_id: str, documents: pl.DataFrame, kinds: tuple[str, ...] = (), promises: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Ledger and workbench events of one customer, newest first (kinds: only these, empty = all).
    promises: the evaluated promises at T, to show each one's state (see promise_events)."""
    wb = workbench_events(store, customer_id)
    team = pl.DataFrame([{k: e.get(k) for k in SCHEMA} for e in wb], schema=SCHEMA)
    out = pl.concat([team, promise_events(store, customer_id, promises), ledger_events(documents)]).sort(["date", "at"], descending=True)
    return out.filter(pl.col("kind").is_in(list(kinds))) if kinds else out
