"""Reconciliation reports: one row per merchant and bill day, written by the daily reconciliation job.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "reconciliation_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("bill_day", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bill_lines", sa.Integer(), nullable=False),
        sa.Column("payments_matched", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_reports")),
        sa.UniqueConstraint("mchid", "bill_day", name=op.f("uq_reconciliation_reports_mchid_bill_day")),
    )
    op.create_index(
        op.f("ix_reconciliation_reports_bill_day"), "reconciliation_reports", ["bill_day"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_reconciliation_reports_bill_day"), table_name="reconciliation_reports")
    op.drop_table("reconciliation_reports")
