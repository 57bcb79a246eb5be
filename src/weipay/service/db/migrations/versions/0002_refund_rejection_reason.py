"""Refunds keep the operator's reason for a rejection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejection_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("rejection_reason")
