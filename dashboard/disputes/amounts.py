"""A case's amounts at any date T (disputes.md "Amounts (the invariant)"), and what counts as disputed.

    entered   credited, written_off, cleared_manually: as entered when resolving, from the resolution date on
    paid      min(settlements of the case's invoices dated in [opened_on, T], original - entered)
    voided    a voided case's remainder from the void date on (its payments stop counting that day)
    open      original - paid - entered - voided, never below 0

so original = open + paid + credited + written_off + cleared_manually (+ voided) for every case at every T
(tests/test_disputes_invariant.py). Everything is vectorised over the cases and their documents.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from dashboard.disputes.cases import OPEN_STATUSES
from dashboard.metrics.kpis import Engine
from dashboard.store import sql as queries
from dashboard.workbench.store import Store

CENT = 0.005


def settled(eng: Engine, case_docs: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """case_id -> the settlements of its documents in [opened_on, end] (end = T, or the void date if earlier).
    case_docs: case_id, invoice_id, opened_on, end."""
    empty = pl.DataFrame(schema={"case_id": pl.Int64, "settled": pl.Float64})
    if case_docs.height == 0:
        return empty
    docs = queries.run(eng.con, "disputes/documents", invoice_ids=case_docs["invoice_id"].unique().to_list(), as_of=t).pl()
    if docs.height == 0:
        return empty
    s = queries.run(eng.con, "disputes/settlements", doc_keys=docs["doc_key"].to_list(), since=case_docs["opened_on"].min(), as_of=t).pl()
    hits = case_docs.join(docs.select("invoice_id", "doc_key"), on="invoice_id").join(s, on="doc_key")
    hits = hits.filter((pl.col("settled_on") >= pl.col("opened_on")) & (pl.col("settled_on") <= pl.col("end")))
    return hits.group_by("case_id").agg(settled=pl.col("settled").sum())


def paid_to(eng: Engine, case_id: int, invoice_ids: list[str], opened_on: dt.date, t: dt.date) -> float:
    """What the ledger shows paid on one case's invoices from its opening to T (before the cap)."""
    docs = pl.DataFrame({"case_id": [case_id] * len(invoice_ids), "invoice_id": invoice_ids}).with_columns(opened_on=pl.lit(opened_on), end=pl.lit(t))
    s = settled(eng, docs, t)
    return float(s["settled"].sum()) if s.height else 0.0


def cases_at(eng: Engine, raw: pl.DataFrame, hist: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """Every case opened by T with its status and amounts at T, age, overdue flag and resolution date."""
    c = raw.filter(pl.col("opened_on") <= t)
    status = (
        hist.filter(pl.col("business_date") <= t).sort("history_id").group_by("case_id").agg(status=pl.col("status").last())
        if hist.height
        else pl.DataFrame(schema={"case_id": pl.Int64, "status": pl.Utf8})
    )
    c = c.join(status, on="case_id", how="left").with_columns(pl.col("status").fill_null("new"))
    done = pl.col("resolved_on").is_not_null() & (pl.col("resolved_on") <= t)
    void = pl.col("voided_on").is_not_null() & (pl.col("voided_on") <= t)
    c = c.with_columns(
        credited=pl.when(done).then(pl.col("entered_credited")).otherwise(0.0),
        written_off=pl.when(done).then(pl.col("entered_written_off")).otherwise(0.0),
        cleared_manually=pl.when(done).then(pl.col("entered_cleared")).otherwise(0.0),
        resolved_on=pl.when(done).then(pl.col("resolved_on")),
        voided_on=pl.when(void).then(pl.col("voided_on")),
        end=pl.when(void).then(pl.col("voided_on")).otherwise(pl.lit(t)),
    )
    docs = c.select("case_id", "invoice_ids", "opened_on", "end").explode("invoice_ids").rename({"invoice_ids": "invoice_id"}).drop_nulls("invoice_id")
    c = c.join(settled(eng, docs, t), on="case_id", how="left")
    entered = pl.col("credited") + pl.col("written_off") + pl.col("cleared_manually")
    c = c.with_columns(paid=pl.min_horizontal(pl.col("settled").fill_null(0.0), pl.max_horizontal(pl.col("original") - entered, pl.lit(0.0))).round(2))
    rest = (pl.col("original") - pl.col("paid") - entered).round(2)
    c = c.with_columns(voided=pl.when(void).then(pl.max_horizontal(rest, pl.lit(0.0))).otherwise(0.0))
    c = c.with_columns(open=pl.max_horizontal((rest - pl.col("voided")).round(2), pl.lit(0.0)))
    is_open = pl.col("status").is_in(OPEN_STATUSES)
    return (
        c.drop("settled", "end")
        .with_columns(
            age_days=pl.when(is_open).then((pl.lit(t) - pl.col("opened_on")).dt.total_days()),
            overdue=is_open & (pl.lit(t) > pl.col("deadline")),
            # disputes.md: a case whose open reaches 0 through payments is proposed for closing
            proposed_close=is_open & (pl.col("open") < CENT) & (pl.col("paid") > 0),
        )
        .sort("case_id")
    )


def unmanaged(eng: Engine, cases: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """Documents flagged disputed in the ledger, open at T, in no open case (disputes.md "Ledger flags without a case")."""
    flagged = queries.run(eng.con, "disputes/flagged_at", as_of=t).pl()
    in_case = cases.filter(pl.col("status").is_in(OPEN_STATUSES)).select(invoice_id=pl.col("invoice_ids")).explode("invoice_id")
    return flagged.join(in_case, on="invoice_id", how="anti")


def disputed_documents(eng: Engine, cases: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """THE documents counted as disputed at T (kpis.md disputed_ar: ledger flag OR an open case), with their open
    amount at T: invoice_id, doc_key, customer_id, due_date, open_amount, flagged, case_id (null: flag only).

    For the lead to wire in: `disputed_ar` (sum of open_amount), the worklist's collectible amount (its
    overdue rows leave it) and the dunning proposal (its documents get no letter)."""
    flagged = queries.run(eng.con, "disputes/flagged_at", as_of=t).pl().select("invoice_id", "doc_key", "customer_id", "due_date", "open_amount")
    open_cases = cases.filter(pl.col("status").is_in(OPEN_STATUSES)).select("case_id", invoice_id=pl.col("invoice_ids")).explode("invoice_id")
    if open_cases.height:
        docs = queries.run(eng.con, "disputes/documents", invoice_ids=open_cases["invoice_id"].unique().to_list(), as_of=t).pl()
        docs = docs.filter(pl.col("open_amount") != 0).select("invoice_id", "doc_key", "customer_id", "due_date", "open_amount")
    else:
        docs = flagged.clear()
    both = pl.concat([flagged, docs]).unique("doc_key", keep="first")
    return (
        both.join(open_cases, on="invoice_id", how="left").with_columns(flagged=pl.col("invoice_id").is_in(flagged["invoice_id"].implode())).sort("invoice_id")
    )


def disputed_by_customer(eng: Engine, cases: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """customer_id -> disputed_open (open amount at T of its disputed documents) and disputed_overdue (of those overdue)."""
    d = disputed_documents(eng, cases, t)
    return d.group_by("customer_id").agg(
        disputed_open=pl.col("open_amount").sum(),
        disputed_overdue=pl.col("open_amount").filter(pl.col("due_date") < pl.lit(t)).sum(),
    )


def open_case_documents(eng: Engine, raw: pl.DataFrame, hist: pl.DataFrame, t: dt.date) -> list[str]:
    """The invoice ids under a case still open at T, each once (raw: the stored cases, hist: their history)."""
    if raw.height == 0:
        return []
    c = cases_at(eng, raw, hist, t)
    return c.filter(pl.col("status").is_in(OPEN_STATUSES)).select(pl.col("invoice_ids").explode()).to_series().drop_nulls().unique().to_list()


def in_open_cases(eng: Engine, store: Store, t: dt.date) -> list[str]:
    """The documents under a case still open at T (the dunning proposal leaves them out, as it does flagged ones)."""
    from dashboard.disputes import cases as stored_cases

    raw = stored_cases.stored(store)
    return open_case_documents(eng, raw, stored_cases.history(store), t) if raw.height else []


def case_only_overdue(eng: Engine, raw: pl.DataFrame, hist: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """The overdue documents at T disputed only by an open case, not by the ledger's flag: customer_key, open_amount.
    disputed_documents' rule (flag OR open case, each document once) split for a caller that has the flagged part
    already (the worklist's per-date arrays): flagged + these = disputed_by_customer's disputed_overdue."""
    ids = open_case_documents(eng, raw, hist, t)
    if not ids:
        return pl.DataFrame({"customer_key": [], "open_amount": []}, schema={"customer_key": pl.Int64, "open_amount": pl.Float64})
    docs = queries.run(eng.con, "disputes/documents", invoice_ids=ids, as_of=t).pl()
    docs = docs.filter((pl.col("open_amount") != 0) & ~pl.col("disputed").fill_null(False) & (pl.col("due_date") < pl.lit(t))).unique("doc_key")
    return docs.select(pl.col("customer_key").cast(pl.Int64), pl.col("open_amount").cast(pl.Float64))


def disputed_at(eng: Engine, store: Store, t: dt.date) -> pl.DataFrame:
    """customer_id -> disputed_open, disputed_overdue at T: the ledger's flag OR an open case (the worklist's collectible)."""
    from dashboard.disputes import cases as stored_cases

    return disputed_by_customer(eng, cases_at(eng, stored_cases.stored(store), stored_cases.history(store), t), t)
