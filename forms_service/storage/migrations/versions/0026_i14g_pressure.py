"""contact pressure: messages counted against the caps, channels' capacity bookings

Revision ID: 0026_i14g_pressure
Revises: 0025_one_head
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_i14g_pressure"
down_revision = "0025_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_pressure",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("customer_key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_contact_pressure")),
    )
    with op.batch_alter_table("contact_pressure") as batch:
        batch.create_index("ix_contact_pressure_customer_at", ["customer_key", "at"], unique=False)
    op.create_table(
        "channel_bookings",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "period", "starts_at", name=op.f("pk_channel_bookings")),
    )


def downgrade() -> None:
    op.drop_table("channel_bookings")
    op.drop_table("contact_pressure")
