"""Promises to pay (collections.md "Promises to pay"): recorded in the workbench, evaluated against the ledger.

Only the promise is stored (customer, amount, made on, promised date, invoice ids, who). What was
paid toward it and its state are computed from the current snapshot at T every time, so a new
extract moves them and a replayed date gives the answer it gave then.

    window     [made_on, min(T, promised_date + tolerance_days)]
    paid       min(amount, settlements of the customer's documents with amount > 0 in the window,
               restricted to its invoice ids when it has any)
    state      kept (paid >= amount) | open (T <= promised_date + tolerance) | partially kept (paid > 0) | broken
    level      1 + the customer's promises that had ended broken by the day this one was made
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TypedDict, cast

import polars as pl
import sqlalchemy as sa

from dashboard.metrics.kpis import Engine, ratio
from dashboard.store import sql as queries
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import User
from dashboard.workbench.notes import CHANNELS, Context, Written, _may_work, _text
from dashboard.workbench.schema import contacts, promises
from dashboard.workbench.store import Store

STATES = ("open", "kept", "partially kept", "broken")
# Half a cent: amounts are held to the cent, sums of float settlements carry binary noise.
CENT = 0.005

RAW_SCHEMA = pl.Schema(
    {
        "promise_id": pl.Int64(),
        "customer_id": pl.Utf8(),
        "amount": pl.Float64(),
        "made_on": pl.Date(),
        "promised_date": pl.Date(),
        "invoice_ids": pl.List(pl.Utf8()),
        "note": pl.Utf8(),
        "created_by": pl.Utf8(),
        "created_at": pl.Utf8(),
    }
)


# ----------------------------------------------------------------------------------------- record


def record(
    store: Store,
    user: User,
    ctx: Context,
    eng: Engine,
    customer_id: str,
    amount: float,
    promised_date: dt.date,
    made_on: dt.date | None = None,
    invoice_ids: tuple[str, ...] | list[str] = (),
    note: str = "",
    data_sha256: str | None = None,
    contact_channel: str | None = None,
) -> Written:
    """Record a promise (collector and up, a collector only for their own customers). made_on defaults to
    the business date. The customer and its invoice ids must be in the snapshot the user looks at.
    contact_channel: also log the contact it was made in (outcome "promise", the note as its note), in
    the same transaction (collections.md: a contact may create a promise); the promise's audit entry
    names the contact (the promises table of migration 0002 stays as later steps build on it)."""
    made = made_on or ctx.business_date
    ids = sorted({i.strip() for i in invoice_ids if i and i.strip()})
    body = _text(note, "note", required=False)
    if contact_channel is not None and contact_channel not in CHANNELS:
        raise Refused(f"channel '{contact_channel}' is not one of {', '.join(CHANNELS)}.")
    _check(eng, customer_id, amount, made, promised_date, ids)
    with store.begin() as conn:
        _may_work(conn, user, customer_id, "record promises to pay", ctx.roster)
        contact_id = None
        if contact_channel is not None:
            contact_id = conn.execute(
                contacts.insert()
                .values(
                    customer_id=customer_id,
                    business_date=ctx.business_date,
                    channel=contact_channel,
                    outcome="promise",
                    note=body,
                    created_by=user.name,
                    created_at=audit.now(),
                    version=1,
                )
                .returning(contacts.c.contact_id)
            ).scalar_one()
            contact = {"contact_id": contact_id, "channel": contact_channel, "outcome": "promise", "note": body, "business_date": ctx.business_date}
            audit.append(conn, user, "contact.add", "customer", customer_id, ctx.snapshot_id, contact)
        pid = conn.execute(
            promises.insert()
            .values(
                customer_id=customer_id,
                amount=round(float(amount), 2),
                made_on=made,
                promised_date=promised_date,
                invoice_ids=json.dumps(ids),
                note=body,
                snapshot_id=ctx.snapshot_id,
                data_sha256=data_sha256,
                created_by=user.name,
                created_at=audit.now(),
                version=1,
            )
            .returning(promises.c.promise_id)
        ).scalar_one()
        seq = audit.append(
            conn,
            user,
            "promise.add",
            "customer",
            customer_id,
            ctx.snapshot_id,
            {
                "promise_id": pid,
                "amount": round(float(amount), 2),
                "made_on": made,
                "promised_date": promised_date,
                "invoice_ids": ids,
                "note": body,
                "contact_id": contact_id,
                "data_sha256": data_sha256,
            },
        )
    return Written(pid, seq)


def _check(eng: Engine, customer_id: str, amount: float, made: dt.date, promised: dt.date, ids: list[str]) -> None:
    """Refuse what collections.md does not allow, in words: amount > 0, made on <= promised date, a known
    customer, invoice ids of that customer."""
    if not isinstance(amount, int | float) or not amount == amount or amount <= 0:
        raise Refused(f"the promised amount must be above 0 (base currency {eng.settings.base_currency}), not {amount}.")
    if round(float(amount), 2) <= 0:
        raise Refused(f"the promised amount {amount} rounds to 0.00 {eng.settings.base_currency}: promise at least a cent.")
    if made > promised:
        raise Refused(f"a promise made on {made} cannot be for {promised}, a date before it: the promised date is on or after the day it is made.")
    keys = queries.run(eng.con, "collections/customer_keys", customer_ids=[customer_id]).pl()
    if keys.height == 0:
        raise Refused(f"there is no customer '{customer_id}' in snapshot {eng.snapshot.id}: check the customer id.")
    if ids:
        docs = queries.run(eng.con, "collections/documents_of", invoice_ids=ids).pl()
        unknown = sorted(set(ids) - set(docs["invoice_id"].to_list()))
        if unknown:
            raise Refused(f"invoice(s) {', '.join(unknown)} are not in snapshot {eng.snapshot.id}: name documents of {customer_id}.")
        other = sorted(docs.filter(pl.col("customer_key") != keys["customer_key"][0])["invoice_id"].to_list())
        if other:
            raise Refused(f"invoice(s) {', '.join(other)} belong to another customer, not {customer_id}: a promise names the customer's own documents.")


# ------------------------------------------------------------------------------------------- read


def stored(store: Store, customer_id: str | None = None) -> pl.DataFrame:
    """The promises as recorded (RAW_SCHEMA), oldest first."""
    q = sa.select(promises).order_by(promises.c.promise_id)
    if customer_id is not None:
        q = q.where(promises.c.customer_id == customer_id)
    with store.begin() as conn:
        rows = conn.execute(q).mappings().all()
    return pl.DataFrame(
        [{k: (json.loads(r[k]) if k == "invoice_ids" else r[k]) for k in RAW_SCHEMA} for r in rows],
        schema=RAW_SCHEMA,
    )


# --------------------------------------------------------------------------------------- evaluate


def evaluate(eng: Engine, raw: pl.DataFrame, t: dt.date, tolerance_days: int) -> pl.DataFrame:
    """Each promise made by T with its window, paid, state and level at T (collections.md), against this snapshot."""
    p = raw.filter(pl.col("made_on") <= t).with_columns(window_end=pl.col("promised_date") + pl.duration(days=tolerance_days))
    if p.height == 0:
        return p.with_columns(customer_key=pl.lit(None, pl.Int64), paid=pl.lit(0.0), state=pl.lit("open"), level=pl.lit(1, pl.Int64)).clear()
    keys = queries.run(eng.con, "collections/customer_keys", customer_ids=p["customer_id"].unique().to_list()).pl()
    p = p.join(keys, on="customer_id", how="left")
    paid = _paid(eng, p, t)
    p = (
        p.join(paid, on="promise_id", how="left")
        .with_columns(paid=pl.min_horizontal(pl.col("amount"), pl.col("settled").fill_null(0.0)).round(2))
        .drop("settled")
    )
    state = (
        pl.when(pl.col("paid") >= pl.col("amount") - CENT)
        .then(pl.lit("kept"))
        .when(pl.lit(t) <= pl.col("window_end"))
        .then(pl.lit("open"))
        .when(pl.col("paid") > 0)
        .then(pl.lit("partially kept"))
        .otherwise(pl.lit("broken"))
    )
    p = p.with_columns(state=state)
    return p.join(_levels(p), on="promise_id", how="left").with_columns(pl.col("level").fill_null(0) + 1).sort("promise_id")


def _paid(eng: Engine, p: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """promise_id -> the settlements in its window (before the cap at its amount)."""
    known = p.filter(pl.col("customer_key").is_not_null())
    if known.height == 0:
        return pl.DataFrame(schema={"promise_id": pl.Int64, "settled": pl.Float64})
    # queries/collections/settlements.sql's rows (as array lookups over the held spans: positions.py)
    s = eng.positions.settlements(known["customer_key"].unique().to_list(), cast(dt.date, known["made_on"].min()), t)
    hits = known.select("promise_id", "customer_key", "made_on", "window_end", "invoice_ids").join(s, on="customer_key", how="inner")
    hits = hits.filter((pl.col("settled_on") >= pl.col("made_on")) & (pl.col("settled_on") <= pl.min_horizontal(pl.col("window_end"), pl.lit(t))))
    named = known.filter(pl.col("invoice_ids").list.len() > 0).select("promise_id", "invoice_ids").explode("invoice_ids")
    if named.height:
        docs = queries.run(eng.con, "collections/documents_of", invoice_ids=named["invoice_ids"].unique().to_list()).pl()
        allowed = named.join(docs.select("invoice_id", "doc_key"), left_on="invoice_ids", right_on="invoice_id").select("promise_id", "doc_key")
        restricted = hits.filter(pl.col("invoice_ids").list.len() > 0).join(allowed, on=["promise_id", "doc_key"], how="semi")
        hits = pl.concat([hits.filter(pl.col("invoice_ids").list.len() == 0), restricted])
    return hits.group_by("promise_id").agg(settled=pl.col("settled").sum())


def _levels(p: pl.DataFrame) -> pl.DataFrame:
    """promise_id -> how many of the customer's promises had ended broken by the day it was made
    (a promise ends broken the day after its window: window_end < made_on of the later one)."""
    broken = p.filter(pl.col("state") == "broken").select("customer_id", broken_end=pl.col("window_end"))
    pairs = p.select("promise_id", "customer_id", "made_on").join(broken, on="customer_id", how="inner")
    return pairs.filter(pl.col("broken_end") < pl.col("made_on")).group_by("promise_id").agg(level=pl.len().cast(pl.Int64))


# ------------------------------------------------------------------------------------------- KPIs


class PromiseKpis(TypedDict):
    """`kpis` of `o2c promises --json` (collections.md "KPIs")."""

    promise_kept_rate: float | None  # sum(paid) / sum(amount) over promises whose window ends in the period
    broken_promises: int
    promised_share: float | None  # promised_open / overdue AR at T


def kpis(evaluated: pl.DataFrame, overdue_ar: float, t: dt.date, days: int) -> PromiseKpis:
    """Over the promises whose window ends in (T - days, T]; promised_share at T."""
    ended = evaluated.filter((pl.col("window_end") > pl.lit(t - dt.timedelta(days=days))) & (pl.col("window_end") <= pl.lit(t)))
    rate = ratio(float(ended["paid"].sum()), float(ended["amount"].sum())) if ended.height else None
    return PromiseKpis(
        promise_kept_rate=None if rate is None else round(rate, 4),
        broken_promises=int((ended["state"] == "broken").sum()),
        promised_share=None if overdue_ar <= 0 else round(promised_open(evaluated) / overdue_ar, 4),
    )


def promised_open(evaluated: pl.DataFrame) -> float:
    """Sum of amount - paid over the open promises."""
    o = evaluated.filter(pl.col("state") == "open")
    return float((o["amount"] - o["paid"]).sum())


def by_customer(evaluated: pl.DataFrame, t: dt.date) -> pl.DataFrame:
    """Per customer at T: promised_open, the part not yet due (T <= promised date), the next promised date
    of an open promise not yet due, and broken_365 (promises that ended broken in the 365 days to T)."""
    is_open = pl.col("state") == "open"
    not_due = is_open & (pl.col("promised_date") >= pl.lit(t))
    left = pl.col("amount") - pl.col("paid")
    return evaluated.group_by("customer_id").agg(
        promised_open=left.filter(is_open).sum(),
        promised_not_due=left.filter(not_due).sum(),
        next_promised_date=pl.col("promised_date").filter(not_due).min(),
        broken_365=((pl.col("state") == "broken") & (pl.col("window_end") >= pl.lit(t - dt.timedelta(days=365)))).sum().cast(pl.Int64),
    )


class PromiseRow(TypedDict):
    promise_id: int
    customer_id: str
    amount: float
    made_on: str
    promised_date: str
    invoice_ids: list[str]
    paid: float
    state: str
    level: int


class PromisesJson(TypedDict):
    """`o2c promises --json` (cli.md)."""

    as_of: str
    promises: list[PromiseRow]
    kpis: PromiseKpis


def promise_rows(evaluated: pl.DataFrame) -> list[PromiseRow]:
    return [
        PromiseRow(
            promise_id=int(r["promise_id"]),
            customer_id=r["customer_id"],
            amount=round(float(r["amount"]), 2),
            made_on=r["made_on"].isoformat(),
            promised_date=r["promised_date"].isoformat(),
            invoice_ids=list(r["invoice_ids"]),
            paid=round(float(r["paid"]), 2),
            state=r["state"],
            level=int(r["level"]),
        )
        for r in evaluated.select(list(PromiseRow.__annotations__)).iter_rows(named=True)
    ]


def overdue_ar(eng: Engine, t: dt.date) -> float:
    """Overdue AR at T (kpis.md: AR minus current AR), the denominator of promised_share."""
    ar, current, _ = eng.ar_at(t)
    return ar - current


def promises_json(eng: Engine, store: Store, t: dt.date, state: str | None = None, customer_id: str | None = None) -> PromisesJson:
    """`o2c promises --json`: the promises made by T with their state at T (optionally of one state or
    customer), and the KPIs over all of them."""
    cs = eng.settings.collections
    ev = evaluate(eng, stored(store), t, cs.promise_tolerance_days)
    shown = ev
    if state is not None:
        shown = shown.filter(pl.col("state") == state)
    if customer_id is not None:
        shown = shown.filter(pl.col("customer_id") == customer_id)
    return PromisesJson(as_of=t.isoformat(), promises=promise_rows(shown), kpis=kpis(ev, overdue_ar(eng, t), t, cs.promise_kpi_days))


def promises_text(out: PromisesJson, currency: str) -> str:
    k = out["kpis"]
    rate = "n/a (no promise ended in the period)" if k["promise_kept_rate"] is None else f"{k['promise_kept_rate']:.1%}"
    share = "n/a (nothing overdue)" if k["promised_share"] is None else f"{k['promised_share']:.1%}"
    lines = [f"Promises to pay at {out['as_of']}: kept rate {rate}, {k['broken_promises']} broken, {share} of overdue AR under an open promise."]
    for r in out["promises"]:
        docs = f" for {', '.join(r['invoice_ids'])}" if r["invoice_ids"] else ""
        lines.append(
            f"{r['promise_id']:>5}  {r['customer_id']}  {currency} {r['amount']:,.2f} by {r['promised_date']} (made {r['made_on']}){docs}: "
            f"{r['state']}, paid {currency} {r['paid']:,.2f}, level {r['level']}"
        )
    if not out["promises"]:
        lines.append("No promise matches.")
    return "\n".join(lines)
