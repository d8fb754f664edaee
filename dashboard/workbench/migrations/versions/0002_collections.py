"""Collections: promises to pay; a customer's resubmission date and dunning block (collections.md, dunning.md).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "promises",
        sa.Column("promise_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("amount", sa.Numeric(18, 2, asdecimal=False), nullable=False),
        sa.Column("made_on", sa.Date, nullable=False),
        sa.Column("promised_date", sa.Date, nullable=False),
        sa.Column("invoice_ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("snapshot_id", sa.String(64)),
        sa.Column("data_sha256", sa.String(64)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    # New columns are nullable: the rows of an 0001 store keep their collector and get no date or block.
    with op.batch_alter_table("customer_settings") as batch:
        batch.add_column(sa.Column("resubmission_date", sa.Date))
        batch.add_column(sa.Column("dunning_block_reason", sa.Text))
        batch.add_column(sa.Column("dunning_block_by", sa.String(200)))
        batch.add_column(sa.Column("dunning_block_on", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("customer_settings") as batch:
        for name in ("dunning_block_on", "dunning_block_by", "dunning_block_reason", "resubmission_date"):
            batch.drop_column(name)
    op.drop_table("promises")
