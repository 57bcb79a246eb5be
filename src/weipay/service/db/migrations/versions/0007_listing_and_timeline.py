"""Order and refund lists (keyset indexes, number lookups); the order timeline (decrypted notification facts,
indexes to find an order's webhooks and alerts).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(op.f("ix_orders_mchid_created_at_id"), "orders", ["mchid", "created_at", "id"], unique=False)
    op.create_index(op.f("ix_refunds_mchid_created_at_id"), "refunds", ["mchid", "created_at", "id"], unique=False)
    op.create_index(op.f("ix_refunds_refund_id"), "refunds", ["refund_id"], unique=False)
    op.create_index(
        op.f("ix_refunds_mchid_merchant_refund_no"), "refunds", ["mchid", "merchant_refund_no"], unique=False
    )
    op.create_index(op.f("ix_jobs_order_id"), "jobs", ["order_id"], unique=False)
    op.create_index(op.f("ix_alert_events_order_id"), "alert_events", ["order_id"], unique=False)
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("facts")
    op.drop_index(op.f("ix_alert_events_order_id"), table_name="alert_events")
    op.drop_index(op.f("ix_jobs_order_id"), table_name="jobs")
    op.drop_index(op.f("ix_refunds_mchid_merchant_refund_no"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_refund_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_mchid_created_at_id"), table_name="refunds")
    op.drop_index(op.f("ix_orders_mchid_created_at_id"), table_name="orders")
