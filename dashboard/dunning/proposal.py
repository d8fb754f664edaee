"""The dry run (dunning.md "What is dunnable at T", "Levels", "Interest"): which customers get a letter at T,
at which level, for which items, with what interest, compensation and fee, and who is skipped and why.

Every step is a column over all open documents at once (DuckDB for the ledger, polars for the rest);
nothing loops over documents.

    dunnable    open > 0, dpd > grace_days and dpd >= the first level's min_dpd, not disputed (ledger
                flag), not on a dunning block (document or customer), not under an open promise
    listed      the dunnable items, the customer's credit notes and overpaid documents (open < 0), and
                documents named in an issued letter and paid since (once, with open 0 and their
                unclaimed interest, if any)
    item level  min(the highest level whose min_dpd <= dpd, its level in the last issued letter + 1)
    interest    round(sum over d in (due, T] of open(i, d) x rate(d) / 365, 2) - claimed before
    total       listed open + interest + compensation + fee
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dashboard.collections import followup
from dashboard.collections import promises as promised
from dashboard.disputes.amounts import in_open_cases
from dashboard.dunning import history
from dashboard.dunning.policy import level_fee, rate_periods
from dashboard.metrics.kpis import Engine
from dashboard.settings import DunningSettings
from dashboard.store import sql as queries
from dashboard.workbench.store import Store

# Why a customer with something overdue gets no letter (dunning.md "The run"), in the order they are
# decided: a customer's block first (a person said so), then the interval, then the items' exclusions.
REASONS = ("blocked", "interval", "promise", "dispute", "below minimum")
# When every overdue item of a customer is excluded, the reason named is the first of these among them.
EXCLUSION_RANK = {"blocked": 0, "promise": 1, "dispute": 2}
ITEM_SCHEMA = {
    "customer_id": pl.Utf8,
    "invoice_id": pl.Utf8,
    "amount": pl.Float64,
    "due_date": pl.Date,
    "open": pl.Float64,
    "dpd": pl.Int64,
    "level": pl.Int64,
    "accrued": pl.Float64,
    "interest": pl.Float64,
    "compensation": pl.Float64,
}
LETTER_SCHEMA = {
    "customer_id": pl.Utf8,
    "level": pl.Int64,
    "open": pl.Float64,
    "interest": pl.Float64,
    "compensation": pl.Float64,
    "fee": pl.Float64,
    "total": pl.Float64,
    "deadline": pl.Date,
}


@dataclass(frozen=True)
class Proposal:
    as_of: dt.date
    letters: pl.DataFrame  # LETTER_SCHEMA, one row per letter
    items: pl.DataFrame  # ITEM_SCHEMA, the listed items of the letters
    skipped: pl.DataFrame  # customer_id, reason, detail


def open_items(eng: Engine, t: dt.date) -> pl.DataFrame:
    return queries.run(eng.con, "dunning/open_items_at", as_of=t).pl().with_columns(pl.col("dpd").cast(pl.Int64))


def accrued_interest(eng: Engine, policy: DunningSettings, docs: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """doc_key -> accrued interest to T (unrounded), for documents with amount > 0 (others accrue nothing)."""
    pos = docs.filter(pl.col("amount") > 0)
    if policy.interest == "none" or pos.height == 0:
        return pl.DataFrame({"doc_key": docs["doc_key"], "accrued": pl.repeat(0.0, docs.height, eager=True)})
    first_due: dt.date = pos["due_date"].min()  # type: ignore[assignment]
    first = first_due + dt.timedelta(days=1)
    p = rate_periods(policy, first, t)
    if not p.starts:
        return pl.DataFrame({"doc_key": docs["doc_key"], "accrued": pl.repeat(0.0, docs.height, eager=True)})
    got = queries.run(eng.con, "dunning/interest", doc_keys=pos["doc_key"].to_list(), p_starts=p.starts, p_ends=p.ends, p_rates=p.rates, as_of=t).pl()
    return docs.select("doc_key").join(got, on="doc_key", how="left").with_columns(pl.col("accrued").fill_null(0.0))


def _covered_by_promise(store: Store, eng: Engine, t: dt.date) -> tuple[set[str], set[str]]:
    """(customers with an open promise for any document, invoice ids named by an open promise) at T."""
    ev = promised.evaluate(eng, promised.stored(store), t, eng.settings.collections.promise_tolerance_days).filter(pl.col("state") == "open")
    whole = set(ev.filter(pl.col("invoice_ids").list.len() == 0)["customer_id"].to_list())
    named = set(ev.select(pl.col("invoice_ids").explode()).drop_nulls()["invoice_ids"].to_list())
    return whole, named


def propose(eng: Engine, store: Store, t: dt.date | None = None) -> Proposal:
    """The dry run at T against this snapshot and the workbench; changes nothing."""
    t = t or eng.as_of
    policy = eng.settings.dunning
    first_min = policy.levels[0].min_dpd
    docs = open_items(eng, t)
    issued = history.issued_items(store)
    per_doc, per_cust = history.by_document(issued), history.by_customer(issued)
    settings = followup.customer_settings_frame(store).select("customer_id", "dunning_block_reason")
    blocked_docs = set(history.blocked_documents(store)["invoice_id"].to_list())
    promise_customers, promise_docs = _covered_by_promise(store, eng, t)
    in_cases = in_open_cases(eng, store, t)  # disputed by an open case, not only by the ledger's flag

    overdue = docs.filter((pl.col("open") > 0) & (pl.col("dpd") > policy.grace_days) & (pl.col("dpd") >= first_min))
    overdue = overdue.join(settings, on="customer_id", how="left").with_columns(
        excluded=pl.when(pl.col("invoice_id").is_in(list(blocked_docs)) | pl.col("dunning_block_reason").is_not_null())
        .then(pl.lit("blocked"))
        .when(pl.col("customer_id").is_in(list(promise_customers)) | pl.col("invoice_id").is_in(list(promise_docs)))
        .then(pl.lit("promise"))
        .when(pl.col("disputed") | pl.col("invoice_id").is_in(in_cases))
        .then(pl.lit("dispute"))
    )
    dunnable = overdue.filter(pl.col("excluded").is_null()).drop("excluded", "dunning_block_reason")
    credits = docs.filter(pl.col("open") < 0)

    # Customers with something overdue: each gets a letter or a reason.
    cand = (
        overdue.group_by("customer_id")
        .agg(
            customer_blocked=pl.col("dunning_block_reason").is_not_null().any(),
            block_reason=pl.col("dunning_block_reason").drop_nulls().first(),
            dunnable_open=pl.col("open").filter(pl.col("excluded").is_null()).sum(),
            n_dunnable=pl.col("excluded").is_null().sum(),
            exclusion_rank=pl.col("excluded").replace_strict(EXCLUSION_RANK, default=None, return_dtype=pl.Int64).min(),
        )
        .with_columns(first_exclusion=pl.col("exclusion_rank").replace_strict({v: k for k, v in EXCLUSION_RANK.items()}, default=None, return_dtype=pl.Utf8))
    )
    cand = (
        cand.join(credits.group_by("customer_id").agg(credit_open=pl.col("open").sum()), on="customer_id", how="left")
        .join(per_cust, on="customer_id", how="left")
        .with_columns(pl.col("credit_open").fill_null(0.0), since_last=(pl.lit(t) - pl.col("last_letter")).dt.total_days())
    )
    reason = (
        pl.when(pl.col("customer_blocked"))
        .then(pl.lit("blocked"))
        .when(pl.col("since_last").is_not_null() & (pl.col("since_last") < policy.interval_days))
        .then(pl.lit("interval"))
        .when(pl.col("n_dunnable") == 0)
        .then(pl.col("first_exclusion"))
        .when((pl.col("dunnable_open") + pl.col("credit_open")).round(2) < policy.min_amount)
        .then(pl.lit("below minimum"))
    )
    detail = (
        pl.when(pl.col("customer_blocked"))
        .then(pl.col("block_reason"))
        .when(pl.col("since_last").is_not_null() & (pl.col("since_last") < policy.interval_days))
        .then(pl.format("last letter on {}, {} day(s) before; interval {} days", pl.col("last_letter"), pl.col("since_last"), pl.lit(policy.interval_days)))
        .when(pl.col("n_dunnable") == 0)
        .then(pl.lit("every overdue item is excluded"))
        .when((pl.col("dunnable_open") + pl.col("credit_open")).round(2) < policy.min_amount)
        .then(pl.format("dunnable total {} below the minimum {}", (pl.col("dunnable_open") + pl.col("credit_open")).round(2), pl.lit(policy.min_amount)))
    )
    cand = cand.with_columns(reason=reason, detail=detail.fill_null(""))
    skipped = cand.filter(pl.col("reason").is_not_null()).select("customer_id", "reason", "detail").sort("customer_id")
    lettered = cand.filter(pl.col("reason").is_null()).select("customer_id")

    # The items of each letter: dunnable, credit notes, and named-before documents paid since.
    levels_min = [lv.min_dpd for lv in policy.levels]
    pos = dunnable.join(lettered, on="customer_id", how="semi").join(per_doc, on="invoice_id", how="left")
    pos = pos.with_columns(
        # the highest level whose min_dpd <= dpd, climbing at most one step from the last letter's
        level=pl.min_horizontal(
            pl.sum_horizontal([(pl.col("dpd") >= m).cast(pl.Int64) for m in levels_min]),
            pl.col("prev_level").fill_null(0) + 1,
        ),
        compensation=pl.when(pl.col("compensated").fill_null(0) > 0).then(0.0).otherwise(pl.lit(float(policy.fixed_compensation))),
    )
    named_ids = per_doc["invoice_id"].to_list()
    paid_since = pl.DataFrame()
    if named_ids:
        known = queries.run(eng.con, "dunning/documents_by_id", invoice_ids=named_ids, as_of=t).pl().with_columns(pl.col("dpd").cast(pl.Int64))
        # Paid since the last letter naming it (that letter still saw it open): listed once, with open 0.
        paid_since = (
            known.filter((pl.col("open") <= 0) & (pl.col("amount") > 0))
            .join(lettered, on="customer_id", how="semi")
            .join(per_doc, on="invoice_id", how="inner")
            .filter(pl.col("last_open") > 0)
            .with_columns(open=pl.lit(0.0), level=pl.col("prev_level").cast(pl.Int64), compensation=pl.lit(0.0))
        )
    cred = credits.join(lettered, on="customer_id", how="semi").with_columns(
        level=pl.lit(0, pl.Int64), compensation=pl.lit(0.0), claimed=pl.lit(0.0), prev_level=pl.lit(None, pl.Int64), compensated=pl.lit(0.0)
    )
    cols = ["customer_id", "invoice_id", "doc_key", "amount", "due_date", "open", "dpd", "level", "compensation", "claimed"]
    parts = [pos.select(cols), cred.select(cols)] + ([paid_since.select(cols)] if paid_since.height else [])
    items = pl.concat([p.with_columns(pl.col("claimed").cast(pl.Float64).fill_null(0.0)) for p in parts], how="vertical_relaxed")
    acc = accrued_interest(eng, policy, items.select("doc_key", "amount", "due_date"), t)
    items = items.join(acc, on="doc_key", how="left", maintain_order="left").with_columns(
        accrued=pl.when(pl.col("amount") > 0).then(pl.col("accrued").fill_null(0.0).round(2)).otherwise(0.0)
    )
    items = items.with_columns(interest=pl.max_horizontal(pl.col("accrued") - pl.col("claimed"), pl.lit(0.0)).round(2))
    items = items.select(list(ITEM_SCHEMA)).cast(ITEM_SCHEMA).sort("customer_id", "due_date", "invoice_id")  # type: ignore[arg-type]
    return Proposal(t, letters_of(items, policy, t), items, skipped)


def letters_of(items: pl.DataFrame, policy: DunningSettings, t: dt.date) -> pl.DataFrame:
    """One letter per customer from its listed items: the level is the highest item level, the fee that level's."""
    fees = pl.DataFrame({"level": list(range(1, len(policy.levels) + 1)), "fee": [level_fee(policy, n) for n in range(1, len(policy.levels) + 1)]})
    letters = items.group_by("customer_id").agg(
        level=pl.col("level").max(),
        open=pl.col("open").sum().round(2),
        interest=pl.col("interest").sum().round(2),
        compensation=pl.col("compensation").sum().round(2),
    )
    letters = letters.join(fees, on="level", how="left").with_columns(
        pl.col("fee").fill_null(0.0),
        deadline=pl.lit(t + dt.timedelta(days=policy.deadline_days)),
    )
    letters = letters.with_columns(total=(pl.col("open") + pl.col("interest") + pl.col("compensation") + pl.col("fee")).round(2))
    return letters.select(list(LETTER_SCHEMA)).cast(LETTER_SCHEMA).sort("customer_id")  # type: ignore[arg-type]
