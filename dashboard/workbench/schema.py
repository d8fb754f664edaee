"""The workbench store's schema (SQLAlchemy Core). Changes go through a migration in migrations/versions."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One append-only, hash-chained table (access.md "The audit trail").
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),  # ISO 8601 UTC, as hashed
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("object_type", sa.String(40), nullable=False),
    sa.Column("object_id", sa.String(200), nullable=False),
    sa.Column("snapshot_id", sa.String(64)),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON object
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(200), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(200)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(200), nullable=False, index=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

# A customer's collector, resubmission date and dunning block, one row per customer.
customer_settings = sa.Table(
    "customer_settings",
    metadata,
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("collector", sa.String(200)),
    # collections.md: the date a collector wants the customer back on the worklist (resubmission_due)
    sa.Column("resubmission_date", sa.Date),
    # dunning.md: a customer on a dunning block gets no letter; the reason is required (null = no block)
    sa.Column("dunning_block_reason", sa.Text),
    sa.Column("dunning_block_by", sa.String(200)),
    sa.Column("dunning_block_on", sa.Date),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

# Promises to pay (collections.md). Only what was promised is stored: paid and state are computed
# from the current snapshot each time, so a new extract moves them.
promises = sa.Table(
    "promises",
    metadata,
    sa.Column("promise_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(200), nullable=False, index=True),
    sa.Column("amount", sa.Numeric(18, 2, asdecimal=False), nullable=False),  # base currency, > 0
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("invoice_ids", sa.Text, nullable=False, server_default="[]"),  # JSON list; empty = any document
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("snapshot_id", sa.String(64)),
    sa.Column("data_sha256", sa.String(64)),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

# ----------------------------------------------------------------------------- dunning (dunning.md), migration 0003
# A run is proposed as a draft, reviewed, then issued; once issued its letters' content, amounts and
# hashes never change (dashboard/dunning/run.py refuses it), only a letter's send status moves on.
MONEY = sa.Numeric(18, 2, asdecimal=False)

dunning_runs = sa.Table(
    "dunning_runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(10), nullable=False),  # draft | issued
    sa.Column("as_of", sa.Date, nullable=False),  # the letters' date (the business date)
    sa.Column("snapshot_id", sa.String(64)),
    sa.Column("data_sha256", sa.String(64)),
    sa.Column("policy", sa.Text, nullable=False),  # the [dunning] settings it was proposed with, JSON
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("issued_by", sa.String(200)),
    sa.Column("issued_at", sa.String(32)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

dunning_letters = sa.Table(
    "dunning_letters",
    metadata,
    sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("dunning_runs.run_id"), nullable=False, index=True),
    sa.Column("customer_id", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),  # the master's address when proposed; none: kept for print
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("open", MONEY, nullable=False),
    sa.Column("interest", MONEY, nullable=False),
    sa.Column("compensation", MONEY, nullable=False),
    sa.Column("fee", MONEY, nullable=False),
    sa.Column("total", MONEY, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    sa.Column("removed_reason", sa.Text),  # removed at review (with its reason): not issued
    sa.Column("removed_by", sa.String(200)),
    sa.Column("html", sa.Text),
    sa.Column("pdf", sa.LargeBinary),
    sa.Column("html_sha256", sa.String(64)),
    sa.Column("pdf_sha256", sa.String(64)),
    sa.Column("send_status", sa.String(12), nullable=False, server_default="draft"),  # draft | unsent | print | sent | failed
    sa.Column("message_id", sa.Text),
    sa.Column("send_error", sa.Text),
    sa.Column("sent_at", sa.String(32)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
)

dunning_items = sa.Table(
    "dunning_items",
    metadata,
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("letter_id", sa.Integer, sa.ForeignKey("dunning_letters.letter_id"), nullable=False, index=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("invoice_id", sa.String(200), nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),  # the document's amount
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("open", MONEY, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("accrued", MONEY, nullable=False),  # round(interest accrued to T, 2)
    sa.Column("interest", MONEY, nullable=False),  # accrued - claimed in earlier issued letters
    sa.Column("compensation", MONEY, nullable=False),
    sa.Column("removed_reason", sa.Text),
)

dunning_skipped = sa.Table(
    "dunning_skipped",
    metadata,
    sa.Column("skip_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("dunning_runs.run_id"), nullable=False, index=True),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),  # below minimum | interval | blocked | promise | dispute | removed
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

# A dunning block on one document (the customer's own block is in customer_settings).
dunning_blocks = sa.Table(
    "dunning_blocks",
    metadata,
    sa.Column("invoice_id", sa.String(200), primary_key=True),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("blocked_by", sa.String(200), nullable=False),
    sa.Column("blocked_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# ---------------------------------------------------------------- disputes and credit decisions (migration 0004)
# Amounts in base currency; every row carries an optimistic version column (access.md). A decision row also
# keeps the snapshot id and data hash it was made on and the customer's score, class, exposure and utilisation.


def _decision_facts() -> list[sa.Column]:
    return [
        sa.Column("snapshot_id", sa.String(64)),
        sa.Column("data_sha256", sa.String(64)),
        sa.Column("score", sa.Float),
        sa.Column("risk_class", sa.String(2)),
        sa.Column("exposure", sa.Float),
        sa.Column("utilisation", sa.Float),
    ]


def decisions_tables(md: sa.MetaData) -> dict[str, sa.Table]:
    """The tables of migration 0004, built on any MetaData (the schema here, the migration there)."""
    money = sa.Numeric(18, 2, asdecimal=False)
    t = {}
    t["dispute_cases"] = sa.Table(
        "dispute_cases",
        md,
        sa.Column("case_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("disputed_amount", money, nullable=False),  # `original`: what the customer contests at opening
        sa.Column("reason", sa.String(80), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("root_cause", sa.String(200)),
        sa.Column("credited", money, nullable=False, server_default="0"),
        sa.Column("written_off", money, nullable=False, server_default="0"),
        sa.Column("cleared_manually", money, nullable=False, server_default="0"),
        sa.Column("resolved_on", sa.Date),
        sa.Column("closed_on", sa.Date),
        sa.Column("voided_on", sa.Date),
        # a write-off above four_eyes_above in oidc mode waits for a second credit manager: the resolution asked for
        sa.Column("pending_resolution", sa.Text),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("snapshot_id", sa.String(64)),
        sa.Column("data_sha256", sa.String(64)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    t["dispute_invoices"] = sa.Table(
        "dispute_invoices",
        md,
        sa.Column("case_id", sa.Integer, sa.ForeignKey("dispute_cases.case_id"), primary_key=True),
        sa.Column("invoice_id", sa.String(200), primary_key=True, index=True),
    )
    t["dispute_history"] = sa.Table(
        "dispute_history",
        md,
        sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("dispute_cases.case_id"), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    t["limit_requests"] = sa.Table(
        "limit_requests",
        md,
        sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("current_limit", money),  # the effective limit when requested; null = none
        sa.Column("requested_limit", money, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),  # permanent | temporary
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("proposal", money),
        sa.Column("scenario_id", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),  # pending | approved | rejected | withdrawn
        sa.Column("approvals_needed", sa.Integer, nullable=False, server_default="1"),
        sa.Column("decided_on", sa.Date),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("decision_reason", sa.Text),
        sa.Column("self_approved", sa.Boolean, nullable=False, server_default=sa.false()),
        *_decision_facts(),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    # One row per approver of a limit request or a write-off (four eyes: two different names).
    t["approvals"] = sa.Table(
        "approvals",
        md,
        sa.Column("approval_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_type", sa.String(40), nullable=False),  # limit_request | dispute_case
        sa.Column("object_id", sa.String(200), nullable=False, index=True),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        *_decision_facts(),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("object_type", "object_id", "approver", name="uq_approvals_once_each"),
    )
    t["reviews"] = sa.Table(
        "reviews",
        md,
        sa.Column("review_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        *_decision_facts(),
        sa.Column("reviewed_by", sa.String(200), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    t["hold_decisions"] = sa.Table(
        "hold_decisions",
        md,
        sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(200), nullable=False, index=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),  # released | rejected
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until_date", sa.Date),  # a release lapses after this day; null = for good
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("amount", money, nullable=False),
        *_decision_facts(),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    return t


_decisions = decisions_tables(metadata)
dispute_cases = _decisions["dispute_cases"]
dispute_invoices = _decisions["dispute_invoices"]
dispute_history = _decisions["dispute_history"]
limit_requests = _decisions["limit_requests"]
approvals = _decisions["approvals"]
reviews = _decisions["reviews"]
hold_decisions = _decisions["hold_decisions"]


# ---------------------------------------------------------------- provision overlays (migration 0005)
# provisions.md "Forward-looking overlay": drafted by a credit analyst, applied once a credit manager approves it.


def overlay_tables(md: sa.MetaData) -> dict[str, sa.Table]:
    """The table of migration 0005, built on any MetaData (the schema here, the migration there)."""
    t = {}
    t["provision_overlays"] = sa.Table(
        "provision_overlays",
        md,
        sa.Column("overlay_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment", sa.String(200)),  # null: every segment
        sa.Column("factors", sa.Text, nullable=False),  # JSON object: bucket name -> multiplier, or {"*": one for all}
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),  # draft | approved | rejected
        sa.Column("drafted_on", sa.Date, nullable=False),  # the business date
        sa.Column("drafted_by", sa.String(200), nullable=False),
        sa.Column("drafted_at", sa.String(32), nullable=False),
        sa.Column("decided_on", sa.Date),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("decision_reason", sa.Text),
        sa.Column("self_approved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("snapshot_id", sa.String(64)),
        sa.Column("data_sha256", sa.String(64)),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    return t


provision_overlays = overlay_tables(metadata)["provision_overlays"]
