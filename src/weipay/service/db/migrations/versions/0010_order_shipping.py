"""Mini-program shipping information (order_shipping) and the shared access tokens (wxa_access_tokens).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:00:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "order_shipping",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("payer_openid", sa.String(length=128), nullable=False),
        sa.Column("logistics_type", sa.SmallInteger(), nullable=False),
        sa.Column("delivery_mode", sa.SmallInteger(), nullable=False),
        sa.Column("is_all_delivered", sa.Boolean(), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("automatic", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("uploads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.Column("confirmed_at", sa.Float(), nullable=True),
        sa.Column("settled_at", sa.Float(), nullable=True),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.Column("last_error_message", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_shipping_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_shipping")),
    )
    op.create_index(op.f("ix_order_shipping_mchid_status"), "order_shipping", ["mchid", "status"], unique=False)
    op.create_table(
        "wxa_access_tokens",
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("expires_at_s", sa.Float(), nullable=True),
        sa.Column("refresh_until_s", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("appid", name=op.f("pk_wxa_access_tokens")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("wxa_access_tokens")
    op.drop_index(op.f("ix_order_shipping_mchid_status"), table_name="order_shipping")
    op.drop_table("order_shipping")
