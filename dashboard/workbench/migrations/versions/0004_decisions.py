"""Disputes and credit decisions: dispute cases (+ invoices, status history), limit requests and their
approvals (four eyes), temporary limits (a request of kind temporary), reviews, held-order decisions
(disputes.md, credit-decisions.md).

Revision ID: 0004
Revises: 0003

The tables are written out here as they were at this revision (a frozen copy of schema.py's
decisions_tables): a later change to schema.py goes into a migration of its own and never rewrites this one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

ORDER = ("dispute_cases", "dispute_invoices", "dispute_history", "limit_requests", "approvals", "reviews", "hold_decisions")


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


def upgrade() -> None:
    tables = decisions_tables(sa.MetaData())
    bind = op.get_bind()
    for name in ORDER:
        tables[name].create(bind)


def downgrade() -> None:
    for name in reversed(ORDER):
        op.drop_table(name)
