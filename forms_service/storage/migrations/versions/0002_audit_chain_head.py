"""audit chain head: the chain's length and last hash, so that deleting the last rows shows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    # Start the head from whatever the chain holds already.
    connection = op.get_bind()
    events = connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    last = connection.execute(
        sa.text("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
    ).scalar_one_or_none()
    op.bulk_insert(head, [{"id": 1, "events": int(events), "last_hash": last or GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_chain_head")
