"""Order options: what WeChat gets besides amount and description (goods, coupons tag, store, invoice entry…).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 18:30:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("options", sa.Text(), nullable=True))
    with op.batch_alter_table("payment_attempts") as batch:
        batch.add_column(sa.Column("options", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("payment_attempts") as batch:
        batch.drop_column("options")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("options")
