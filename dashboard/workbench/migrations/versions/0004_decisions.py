"""Disputes and credit decisions: dispute cases (+ invoices, status history), limit requests and their
approvals (four eyes), temporary limits (a request of kind temporary), reviews, held-order decisions
(disputes.md, credit-decisions.md).

Revision ID: 0004
Revises: 0002 (the lead re-chains it after 0003 at merge)
"""

import sqlalchemy as sa
from alembic import op

from dashboard.workbench.schema import decisions_tables

revision = "0004"
down_revision = "0002"

ORDER = ("dispute_cases", "dispute_invoices", "dispute_history", "limit_requests", "approvals", "reviews", "hold_decisions")


def upgrade() -> None:
    # The tables as schema.py defines them (one definition), created on a MetaData of their own.
    tables = decisions_tables(sa.MetaData())
    bind = op.get_bind()
    for name in ORDER:
        tables[name].create(bind)


def downgrade() -> None:
    for name in reversed(ORDER):
        op.drop_table(name)
