"""Dunning runs in the workbench store (dunning.md "The run"): propose (a draft), review, issue, send.

    propose   credit_analyst: the dry run at the business date saved as a draft run
    review    credit_analyst: remove an item or a customer's letter with a reason, optionally as a block
    issue     credit_manager: each letter rendered (HTML and PDF, hashed) and the run recorded as issued;
              from then on nothing of it changes but a letter's send status
    send      credit_manager: a letter e-mailed to the master's address; a failure is marked and resendable

Each write checks the role in the core, is one transaction with its audit entry and records the
snapshot id and data hash; the SMTP conversation happens between two transactions, never inside one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import polars as pl
import sqlalchemy as sa

from dashboard.dunning import letters as render
from dashboard.dunning import mail as mailer
from dashboard.dunning.proposal import ITEM_SCHEMA, Proposal, letters_of, propose
from dashboard.metrics.kpis import Engine
from dashboard.settings import DunningSettings, MailSettings
from dashboard.store import sql as queries
from dashboard.store.snapshots import data_sha256
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import User, require
from dashboard.workbench.notes import Context, Written, _may_work, _text
from dashboard.workbench.schema import customer_settings, dunning_blocks, dunning_items, dunning_letters, dunning_runs, dunning_skipped
from dashboard.workbench.store import Store

# ------------------------------------------------------------------------------------ JSON (cli.md)


class ItemJson(TypedDict):
    invoice_id: str
    open: float
    dpd: int
    level: int
    interest: float
    compensation: float


class LetterJson(TypedDict):
    customer_id: str
    level: int
    items: list[ItemJson]
    interest: float
    compensation: float
    fee: float
    total: float
    deadline: str


class SkippedJson(TypedDict):
    customer_id: str
    reason: str


class ProposalJson(TypedDict):
    """`o2c dunning propose --json` (cli.md)."""

    run_id: int
    as_of: str
    letters: list[LetterJson]
    skipped: list[SkippedJson]


class IssuedLetterJson(TypedDict):
    letter_id: int
    customer_id: str
    level: int
    total: float
    email: str | None
    send_status: str  # unsent | print | sent | failed
    message_id: str | None
    pdf_sha256: str | None


class IssueJson(TypedDict):
    """`o2c dunning issue RUN --json`."""

    run_id: int
    status: str
    letters: list[IssuedLetterJson]


class RunJson(TypedDict):
    run_id: int
    status: str  # draft | issued
    as_of: str
    snapshot_id: str | None
    data_sha256: str | None
    created_by: str
    issued_by: str | None
    issued_at: str | None
    letters: int
    total: float
    sent: int
    failed: int
    print: int
    unsent: int


class RunsJson(TypedDict):
    """`o2c dunning runs --json`."""

    runs: list[RunJson]


# ----------------------------------------------------------------------------------------- propose


def _digest(eng: Engine) -> str:
    return data_sha256(eng.snapshot.manifest["source_files"])


def _master(eng: Engine, customer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """customer_id -> name, email, contact_name, address, language from the master (None where the snapshot has none)."""
    rows = queries.run(eng.con, "dunning/customers_of", customer_ids=customer_ids).pl()
    want = ("customer_id", "name", "email", "contact_name", "address", "language")
    rows = rows.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in want if c not in rows.columns)
    return {r["customer_id"]: r for r in rows.select(want).iter_rows(named=True)}


def _clean_email(value: str | None) -> str | None:
    v = (value or "").strip()
    return v if v and "@" in v and " " not in v else None


def propose_run(store: Store, user: User, ctx: Context, eng: Engine) -> tuple[Written, Proposal]:
    """The dry run at the business date saved as a draft run (credit_analyst and up)."""
    require(user, "credit_analyst", "propose dunning runs")
    t = ctx.business_date
    p = propose(eng, store, t)
    master = _master(eng, p.letters["customer_id"].to_list())
    digest = _digest(eng)
    policy = eng.settings.dunning
    with store.begin() as conn:
        require(user, "credit_analyst", "propose dunning runs")
        run_id = conn.execute(
            dunning_runs.insert()
            .values(
                status="draft",
                as_of=t,
                snapshot_id=eng.snapshot.id,
                data_sha256=digest,
                policy=policy.model_dump_json(by_alias=True),
                created_by=user.name,
                created_at=audit.now(),
                version=1,
            )
            .returning(dunning_runs.c.run_id)
        ).scalar_one()
        items_by = p.items.partition_by("customer_id", as_dict=True) if p.items.height else {}
        rows: list[dict[str, Any]] = []
        for letter in p.letters.iter_rows(named=True):  # one insert per letter (its id keys the items); items in bulk
            m = master.get(letter["customer_id"], {})
            lid = conn.execute(
                dunning_letters.insert()
                .values(run_id=run_id, name=m.get("name"), email=_clean_email(m.get("email")), send_status="draft", attempts=0, **letter)
                .returning(dunning_letters.c.letter_id)
            ).scalar_one()
            its = items_by[(letter["customer_id"],)]
            rows += [r | {"letter_id": lid, "run_id": run_id} for r in its.iter_rows(named=True)]
        if rows:
            conn.execute(dunning_items.insert(), rows)
        if p.skipped.height:
            conn.execute(dunning_skipped.insert(), [r | {"run_id": run_id} for r in p.skipped.iter_rows(named=True)])
        details = {
            "as_of": t,
            "letters": p.letters.height,
            "total": round(float(p.letters["total"].sum()), 2),
            "skipped": p.skipped.height,
            "data_sha256": digest,
        }
        seq = audit.append(conn, user, "dunning.propose", "dunning_run", str(run_id), eng.snapshot.id, details)
    return Written(run_id, seq), p


# ------------------------------------------------------------------------------------------ read


def _run(conn: sa.Connection, run_id: int) -> sa.RowMapping:
    r = conn.execute(sa.select(dunning_runs).where(dunning_runs.c.run_id == run_id)).mappings().first()
    if r is None:
        raise Refused(f"there is no dunning run {run_id}: 'o2c dunning runs' lists them.")
    return r


def letters_frame(store: Store, run_id: int, include_removed: bool = False) -> pl.DataFrame:
    """The run's letters (without their HTML and PDF)."""
    cols = [c for c in dunning_letters.c if c.name not in ("html", "pdf")]
    q = sa.select(*cols).where(dunning_letters.c.run_id == run_id).order_by(dunning_letters.c.customer_id)
    if not include_removed:
        q = q.where(dunning_letters.c.removed_reason.is_(None))
    with store.begin() as conn:
        rows = conn.execute(q).mappings().all()
    schema = {c.name: _pl_type(c) for c in cols}
    return pl.DataFrame([dict(r) for r in rows], schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _pl_type(c: sa.Column) -> Any:
    if isinstance(c.type, sa.Integer):
        return pl.Int64
    if isinstance(c.type, sa.Numeric):
        return pl.Float64
    if isinstance(c.type, sa.Date):
        return pl.Date
    return pl.Utf8


def items_frame(store: Store, run_id: int, include_removed: bool = False) -> pl.DataFrame:
    cols = list(dunning_items.c)
    q = (
        sa.select(dunning_items)
        .where(dunning_items.c.run_id == run_id)
        .order_by(dunning_items.c.customer_id, dunning_items.c.due_date, dunning_items.c.invoice_id)
    )
    if not include_removed:
        q = q.where(dunning_items.c.removed_reason.is_(None))
    with store.begin() as conn:
        rows = conn.execute(q).mappings().all()
    schema = {c.name: _pl_type(c) for c in cols}
    return pl.DataFrame([dict(r) for r in rows], schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def skipped_frame(store: Store, run_id: int) -> pl.DataFrame:
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(dunning_skipped.c.customer_id, dunning_skipped.c.reason, dunning_skipped.c.detail)
            .where(dunning_skipped.c.run_id == run_id)
            .order_by(dunning_skipped.c.customer_id)
        ).all()
    return pl.DataFrame(rows, schema={"customer_id": pl.Utf8, "reason": pl.Utf8, "detail": pl.Utf8}, orient="row")


def run_json(store: Store, run_id: int) -> ProposalJson:
    """A run as `o2c dunning propose --json` shows it: its letters (as reviewed) and the customers skipped."""
    with store.begin() as conn:
        run = _run(conn, run_id)
    lt, its = letters_frame(store, run_id), items_frame(store, run_id)
    by = {k[0]: v for k, v in its.partition_by("letter_id", as_dict=True).items()} if its.height else {}
    out: list[LetterJson] = []
    for r in lt.iter_rows(named=True):
        rows = by.get(r["letter_id"])
        items = [
            ItemJson(invoice_id=i["invoice_id"], open=i["open"], dpd=i["dpd"], level=i["level"], interest=i["interest"], compensation=i["compensation"])
            for i in (rows.iter_rows(named=True) if rows is not None else [])
        ]
        out.append(
            LetterJson(
                customer_id=r["customer_id"],
                level=r["level"],
                items=items,
                interest=r["interest"],
                compensation=r["compensation"],
                fee=r["fee"],
                total=r["total"],
                deadline=r["deadline"].isoformat(),
            )
        )
    skipped = [SkippedJson(customer_id=s["customer_id"], reason=s["reason"]) for s in skipped_frame(store, run_id).iter_rows(named=True)]
    return ProposalJson(run_id=run_id, as_of=run["as_of"].isoformat(), letters=out, skipped=skipped)


def runs_json(store: Store) -> RunsJson:
    """Every run, newest first, with its letters' count, total and send states."""
    with store.begin() as conn:
        runs = conn.execute(sa.select(dunning_runs).order_by(dunning_runs.c.run_id.desc())).mappings().all()
        agg = conn.execute(
            sa.select(dunning_letters.c.run_id, dunning_letters.c.send_status, sa.func.count(), sa.func.sum(dunning_letters.c.total))
            .where(dunning_letters.c.removed_reason.is_(None))
            .group_by(dunning_letters.c.run_id, dunning_letters.c.send_status)
        ).all()
    counts: dict[int, dict[str, tuple[int, float]]] = {}
    for run_id, status, n, total in agg:
        counts.setdefault(run_id, {})[status] = (int(n), float(total or 0))
    out = []
    for r in runs:
        c = counts.get(r["run_id"], {})
        out.append(
            RunJson(
                run_id=r["run_id"],
                status=r["status"],
                as_of=r["as_of"].isoformat(),
                snapshot_id=r["snapshot_id"],
                data_sha256=r["data_sha256"],
                created_by=r["created_by"],
                issued_by=r["issued_by"],
                issued_at=r["issued_at"],
                letters=sum(n for n, _ in c.values()),
                total=round(sum(t for _, t in c.values()), 2),
                sent=c.get("sent", (0, 0))[0],
                failed=c.get("failed", (0, 0))[0],
                print=c.get("print", (0, 0))[0],
                unsent=c.get("unsent", (0, 0))[0],
            )
        )
    return RunsJson(runs=out)


def letter_files(store: Store, letter_id: int) -> tuple[str | None, bytes | None]:
    """An issued letter's HTML and PDF as recorded."""
    with store.begin() as conn:
        r = conn.execute(sa.select(dunning_letters.c.html, dunning_letters.c.pdf).where(dunning_letters.c.letter_id == letter_id)).first()
    if r is None:
        raise Refused(f"there is no dunning letter {letter_id}.")
    return r[0], (bytes(r[1]) if r[1] is not None else None)


# ------------------------------------------------------------------------------------------ review


def _draft(conn: sa.Connection, run_id: int) -> sa.RowMapping:
    run = _run(conn, run_id)
    if run["status"] != "draft":
        raise Refused(f"dunning run {run_id} was issued by {run['issued_by']} on {str(run['issued_at'])[:10]}: an issued run is never changed.")
    return run


def _block_customer(conn: sa.Connection, user: User, customer_id: str, reason: str, on: dt.date) -> None:
    """The customer's dunning block (customer_settings, as collections' follow-up keeps it), in the caller's transaction."""
    cur = conn.execute(sa.select(customer_settings).where(customer_settings.c.customer_id == customer_id)).mappings().first()
    values = {"dunning_block_reason": reason, "dunning_block_by": user.name, "dunning_block_on": on, "updated_by": user.name, "updated_at": audit.now()}
    if cur is None:
        conn.execute(customer_settings.insert().values(customer_id=customer_id, version=1, **values))
    else:
        conn.execute(customer_settings.update().where(customer_settings.c.customer_id == customer_id).values(version=cur["version"] + 1, **values))


def _block_document(conn: sa.Connection, user: User, customer_id: str | None, invoice_id: str, reason: str, on: dt.date) -> None:
    conn.execute(dunning_blocks.delete().where(dunning_blocks.c.invoice_id == invoice_id))
    conn.execute(
        dunning_blocks.insert().values(
            invoice_id=invoice_id, customer_id=customer_id, reason=reason, blocked_by=user.name, blocked_on=on, created_at=audit.now()
        )
    )


def remove(store: Store, user: User, ctx: Context, run_id: int, customer_id: str, reason: str, invoice_id: str | None = None, block: bool = False) -> Written:
    """Review a draft run: take one item (invoice_id) or the customer's whole letter out of it, with a reason;
    block=True also puts the document or the customer on a dunning block with that reason."""
    require(user, "credit_analyst", "review dunning runs")
    why = _text(reason, "reason for removing it")
    with store.begin() as conn:
        run = _draft(conn, run_id)
        letter = (
            conn.execute(
                sa.select(dunning_letters).where(
                    dunning_letters.c.run_id == run_id, dunning_letters.c.customer_id == customer_id, dunning_letters.c.removed_reason.is_(None)
                )
            )
            .mappings()
            .first()
        )
        if letter is None:
            raise Refused(f"dunning run {run_id} has no letter to {customer_id}: see the run's letters.")
        policy = DunningSettings.model_validate_json(run["policy"])
        lid = letter["letter_id"]
        if invoice_id is None:
            conn.execute(dunning_letters.update().where(dunning_letters.c.letter_id == lid).values(removed_reason=why, removed_by=user.name))
            conn.execute(dunning_skipped.insert().values(run_id=run_id, customer_id=customer_id, reason="removed", detail=f"{why} ({user.name})"))
            if block:
                _block_customer(conn, user, customer_id, why, ctx.business_date)
        else:
            hit = conn.execute(
                dunning_items.update()
                .where(dunning_items.c.letter_id == lid, dunning_items.c.invoice_id == invoice_id, dunning_items.c.removed_reason.is_(None))
                .values(removed_reason=why)
            ).rowcount
            if not hit:
                raise Refused(f"the letter to {customer_id} in run {run_id} does not list {invoice_id}.")
            if block:
                _block_document(conn, user, customer_id, invoice_id, why, ctx.business_date)
            _recompute(conn, user, run_id, lid, customer_id, policy, run["as_of"])
        details = {"customer_id": customer_id, "invoice_id": invoice_id, "reason": why, "block": block, "data_sha256": run["data_sha256"]}
        seq = audit.append(conn, user, "dunning.remove", "dunning_run", str(run_id), run["snapshot_id"], details)
    return Written(run_id, seq)


def _recompute(conn: sa.Connection, user: User, run_id: int, letter_id: int, customer_id: str, policy: DunningSettings, t: dt.date) -> None:
    """A letter's level, fee and totals from the items left in it; no dunnable item left: the letter is removed."""
    rows = conn.execute(
        sa.select(*[dunning_items.c[k] for k in ITEM_SCHEMA]).where(dunning_items.c.letter_id == letter_id, dunning_items.c.removed_reason.is_(None))
    ).all()
    items = pl.DataFrame(rows, schema=ITEM_SCHEMA, orient="row")
    if items.filter((pl.col("open") > 0) & (pl.col("amount") > 0)).height == 0:
        conn.execute(
            dunning_letters.update()
            .where(dunning_letters.c.letter_id == letter_id)
            .values(removed_reason="every dunned item was removed", removed_by=user.name)
        )
        conn.execute(
            dunning_skipped.insert().values(run_id=run_id, customer_id=customer_id, reason="removed", detail=f"every dunned item was removed ({user.name})")
        )
        return
    (new,) = letters_of(items, policy, t).drop("customer_id", "deadline").iter_rows(named=True)
    conn.execute(dunning_letters.update().where(dunning_letters.c.letter_id == letter_id).values(**new))


# ------------------------------------------------------------------------------------------- issue


@dataclass(frozen=True)
class Issued:
    run_id: int
    seq: int
    letters: int


def issue(store: Store, user: User, eng: Engine, run_id: int, data_root: Path | None) -> Issued:
    """Render every letter of a draft run (HTML and PDF, hashed) and record the run as issued (credit_manager).
    The letters' date is the run's as-of date. Refused when the data changed since the proposal."""
    require(user, "credit_manager", "issue dunning runs")
    digest = _digest(eng)
    with store.begin() as conn:
        run = _draft(conn, run_id)
        if run["data_sha256"] != digest:
            raise Refused(
                f"dunning run {run_id} was proposed on snapshot {run['snapshot_id']}; the data is now snapshot {eng.snapshot.id}: "
                "propose a new run on the current data (the old one stays a draft)."
            )
        policy = DunningSettings.model_validate_json(run["policy"])
        lts = conn.execute(sa.select(dunning_letters).where(dunning_letters.c.run_id == run_id, dunning_letters.c.removed_reason.is_(None))).mappings().all()
        master = _master(eng, [r["customer_id"] for r in lts])
        recorded = []
        for r in lts:  # one rendering per letter: a letter is a document, not a ledger row
            its = (
                conn.execute(
                    sa.select(dunning_items)
                    .where(dunning_items.c.letter_id == r["letter_id"], dunning_items.c.removed_reason.is_(None))
                    .order_by(dunning_items.c.due_date, dunning_items.c.invoice_id)
                )
                .mappings()
                .all()
            )
            m = master.get(r["customer_id"], {}) | {"customer_id": r["customer_id"], "name": r["name"], "email": r["email"]}
            out = render.render(policy, eng.settings.base_currency, dict(r), m, [dict(i) for i in its], run["as_of"], data_root)
            status = "unsent" if r["email"] else "print"
            conn.execute(
                dunning_letters.update()
                .where(dunning_letters.c.letter_id == r["letter_id"])
                .values(html=out.html, pdf=out.pdf, html_sha256=out.html_sha256, pdf_sha256=out.pdf_sha256, send_status=status)
            )
            recorded.append(
                {
                    "letter_id": r["letter_id"],
                    "customer_id": r["customer_id"],
                    "level": r["level"],
                    "items": [{"invoice_id": i["invoice_id"], "open": i["open"], "interest": i["interest"], "compensation": i["compensation"]} for i in its],
                    "interest": r["interest"],
                    "compensation": r["compensation"],
                    "fee": r["fee"],
                    "total": r["total"],
                    "pdf_sha256": out.pdf_sha256,
                    "html_sha256": out.html_sha256,
                }
            )
        conn.execute(
            dunning_runs.update()
            .where(dunning_runs.c.run_id == run_id)
            .values(status="issued", issued_by=user.name, issued_at=audit.now(), version=run["version"] + 1)
        )
        details = {"as_of": run["as_of"], "data_sha256": digest, "letters": recorded}
        seq = audit.append(conn, user, "dunning.issue", "dunning_run", str(run_id), run["snapshot_id"], details)
    return Issued(run_id, seq, len(recorded))


def issue_json(store: Store, run_id: int) -> IssueJson:
    with store.begin() as conn:
        run = _run(conn, run_id)
    lt = letters_frame(store, run_id)
    return IssueJson(
        run_id=run_id,
        status=run["status"],
        letters=[
            IssuedLetterJson(
                letter_id=r["letter_id"],
                customer_id=r["customer_id"],
                level=r["level"],
                total=r["total"],
                email=r["email"],
                send_status=r["send_status"],
                message_id=r["message_id"],
                pdf_sha256=r["pdf_sha256"],
            )
            for r in lt.iter_rows(named=True)
        ],
    )


# -------------------------------------------------------------------------------------------- send


def subject(company: str, level: int, customer_id: str) -> str:
    words = {1: "Payment reminder", 2: "Second payment reminder"}
    return f"{words.get(level, 'Final payment reminder')}: customer {customer_id} ({company})"


def send_letter(store: Store, user: User, letter_id: int, mail: MailSettings, deliver: Callable[[MailSettings, Any], str] = mailer.send) -> str:
    """E-mail one issued letter (state unsent or failed) to its address; it is marked sent with the message id,
    or failed with the server's answer (then it can be sent again). Returns the new state."""
    require(user, "credit_manager", "send dunning letters")
    with store.begin() as conn:
        r = conn.execute(sa.select(dunning_letters).where(dunning_letters.c.letter_id == letter_id)).mappings().first()
        if r is None:
            raise Refused(f"there is no dunning letter {letter_id}.")
        run = _run(conn, r["run_id"])
    if run["status"] != "issued":
        raise Refused(f"letter {letter_id} belongs to run {r['run_id']}, which is not issued yet: issue the run first.")
    if r["send_status"] == "sent":
        raise Refused(f"letter {letter_id} was sent on {str(r['sent_at'])[:10]} (message {r['message_id']}): it is not sent twice.")
    if not r["email"]:
        raise Refused(f"{r['customer_id']} has no e-mail address in the customer master: letter {letter_id} is kept for print.")
    policy = DunningSettings.model_validate_json(run["policy"])
    msg = mailer.message(
        mail,
        r["email"],
        subject(policy.company.name, r["level"], r["customer_id"]),
        r["html"],
        bytes(r["pdf"]),
        f"reminder-{r['run_id']}-{r['customer_id']}.pdf",
    )
    try:
        message_id, error = deliver(mail, msg), None
    except mailer.MailError as exc:
        message_id, error = None, str(exc)
    state = "sent" if error is None else "failed"
    with store.begin() as conn:
        conn.execute(
            dunning_letters.update()
            .where(dunning_letters.c.letter_id == letter_id)
            .values(send_status=state, message_id=message_id, send_error=error, sent_at=audit.now() if error is None else None, attempts=r["attempts"] + 1)
        )
        details = {
            "letter_id": letter_id,
            "customer_id": r["customer_id"],
            "to": r["email"],
            "message_id": message_id,
            "error": error,
            "attempt": r["attempts"] + 1,
        }
        audit.append(conn, user, f"dunning.{state}", "dunning_run", str(r["run_id"]), run["snapshot_id"], details | {"data_sha256": run["data_sha256"]})
    return state


def send_run(store: Store, user: User, run_id: int, mail: MailSettings, deliver: Callable[[MailSettings, Any], str] = mailer.send) -> dict[str, int]:
    """Send every letter of an issued run not sent yet (unsent or failed); counts by new state."""
    lt = letters_frame(store, run_id).filter(pl.col("send_status").is_in(["unsent", "failed"]))
    counts = {"sent": 0, "failed": 0}
    for lid in lt["letter_id"].to_list():
        counts[send_letter(store, user, lid, mail, deliver)] += 1
    return counts


# ------------------------------------------------------------------------------------------ blocks


def block_document(store: Store, user: User, ctx: Context, eng: Engine, invoice_id: str, reason: str) -> Written:
    """Put one document on a dunning block, with a reason (collector and up, a collector for their own customers)."""
    why = _text(reason, "reason for the dunning block")
    docs = queries.run(eng.con, "dunning/documents_by_id", invoice_ids=[invoice_id], as_of=ctx.business_date).pl()
    if docs.height == 0:
        raise Refused(f"there is no document '{invoice_id}' in snapshot {eng.snapshot.id}: check the invoice id.")
    customer_id = docs["customer_id"][0]
    with store.begin() as conn:
        _may_work(conn, user, customer_id, "set dunning blocks")
        _block_document(conn, user, customer_id, invoice_id, why, ctx.business_date)
        seq = audit.append(
            conn, user, "dunning.block", "document", invoice_id, ctx.snapshot_id, {"customer_id": customer_id, "reason": why, "data_sha256": _digest(eng)}
        )
    return Written(invoice_id, seq)


def unblock_document(store: Store, user: User, ctx: Context, invoice_id: str) -> Written:
    """Lift a document's dunning block."""
    with store.begin() as conn:
        cur = conn.execute(sa.select(dunning_blocks).where(dunning_blocks.c.invoice_id == invoice_id)).mappings().first()
        if cur is None:
            raise Refused(f"document {invoice_id} has no dunning block.")
        _may_work(conn, user, cur["customer_id"] or "", "lift dunning blocks")
        conn.execute(dunning_blocks.delete().where(dunning_blocks.c.invoice_id == invoice_id))
        seq = audit.append(conn, user, "dunning.unblock", "document", invoice_id, ctx.snapshot_id, {"customer_id": cur["customer_id"], "was": cur["reason"]})
    return Written(invoice_id, seq)


def proposal_text(out: ProposalJson, currency: str) -> str:
    lines = [f"Dunning run {out['run_id']} (draft) at {out['as_of']}: {len(out['letters'])} letter(s), {len(out['skipped'])} customer(s) skipped."]
    for lt in out["letters"]:
        lines.append(
            f"  {lt['customer_id']}: level {lt['level']}, {len(lt['items'])} item(s), interest {currency} {lt['interest']:,.2f}, "
            f"compensation {currency} {lt['compensation']:,.2f}, fee {currency} {lt['fee']:,.2f}, total {currency} {lt['total']:,.2f}, pay by {lt['deadline']}"
        )
    for s in out["skipped"]:
        lines.append(f"  skipped {s['customer_id']}: {s['reason']}")
    return "\n".join(lines)


def runs_text(out: RunsJson, currency: str) -> str:
    if not out["runs"]:
        return "No dunning run yet: 'o2c dunning propose' makes one."
    return "\n".join(
        f"{r['run_id']:>5}  {r['status']:<7} {r['as_of']}  {r['letters']} letter(s), {currency} {r['total']:,.2f}; "
        f"sent {r['sent']}, failed {r['failed']}, for print {r['print']}, not sent {r['unsent']}  (by {r['issued_by'] or r['created_by']})"
        for r in out["runs"]
    )
