"""Provision overlays: a draft by a credit analyst, approved or rejected by a credit manager (provisions.md
"Forward-looking overlay", access.md).

Revision ID: 0005
Revises: 0004

The table is written out here as it was at this revision (a frozen copy of schema.py's overlay_tables): a
later change to schema.py goes into a migration of its own and never rewrites this one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "provision_overlays",
        sa.Column("overlay_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment", sa.String(200)),
        sa.Column("factors", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("drafted_on", sa.Date, nullable=False),
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


def downgrade() -> None:
    op.drop_table("provision_overlays")
