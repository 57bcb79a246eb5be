"""Alerts: occurrences (append-only) and each sink's progress through a storm of one alert key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index(
        op.f("ix_alert_events_alert_key_window_start"), "alert_events", ["alert_key", "window_start"], unique=False
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("alert_key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("alert_key", "window_start", "sink", name=op.f("pk_alert_deliveries")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_alert_events_alert_key_window_start"), table_name="alert_events")
    op.drop_table("alert_events")
