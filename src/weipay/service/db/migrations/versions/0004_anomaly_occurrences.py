"""An anomaly that repeats (WeChat retries a notification up to 15 times) is counted on its row, not added again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_seen_at", sa.Float(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("occurrences")
