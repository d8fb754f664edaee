"""Dunning: runs, letters, letter items, skipped customers, blocks on documents (dunning.md).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

MONEY = sa.Numeric(18, 2, asdecimal=False)


def upgrade() -> None:
    op.create_table(
        "dunning_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("snapshot_id", sa.String(64)),
        sa.Column("data_sha256", sa.String(64)),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("issued_by", sa.String(200)),
        sa.Column("issued_at", sa.String(32)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "dunning_letters",
        sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("dunning_runs.run_id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("name", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("interest", MONEY, nullable=False),
        sa.Column("compensation", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("removed_reason", sa.Text),
        sa.Column("removed_by", sa.String(200)),
        sa.Column("html", sa.Text),
        sa.Column("pdf", sa.LargeBinary),
        sa.Column("html_sha256", sa.String(64)),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("send_status", sa.String(12), nullable=False, server_default="draft"),
        sa.Column("message_id", sa.Text),
        sa.Column("send_error", sa.Text),
        sa.Column("sent_at", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "dunning_items",
        sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("letter_id", sa.Integer, sa.ForeignKey("dunning_letters.letter_id"), nullable=False, index=True),
        sa.Column("run_id", sa.Integer, nullable=False, index=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("invoice_id", sa.String(200), nullable=False, index=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("dpd", sa.Integer, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("accrued", MONEY, nullable=False),
        sa.Column("interest", MONEY, nullable=False),
        sa.Column("compensation", MONEY, nullable=False),
        sa.Column("removed_reason", sa.Text),
    )
    op.create_table(
        "dunning_skipped",
        sa.Column("skip_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("dunning_runs.run_id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "dunning_blocks",
        sa.Column("invoice_id", sa.String(200), primary_key=True),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("blocked_by", sa.String(200), nullable=False),
        sa.Column("blocked_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for name in ("dunning_blocks", "dunning_skipped", "dunning_items", "dunning_letters", "dunning_runs"):
        op.drop_table(name)
