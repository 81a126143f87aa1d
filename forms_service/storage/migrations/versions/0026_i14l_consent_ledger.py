"""consent ledger: the wordings shown, the append-only consent events, the current states

Revision ID: 0026_i14l_consent_ledger
Revises: 0025_one_head
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_i14l_consent_ledger"
down_revision = "0025_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_texts",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_consent_texts")),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=True),
        sa.Column("unknown_customer", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_hash"],
            ["consent_texts.hash"],
            name=op.f("fk_consent_events_text_hash_consent_texts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events") as batch:
        batch.create_index(
            "ix_consent_events_customer", ["customer", "purpose", "channel", "at"], unique=False
        )
        batch.create_index("ix_consent_events_unknown", ["unknown_customer", "id"], unique=False)
        batch.create_index(batch.f("ix_consent_events_document_id"), ["document_id"], unique=False)
    op.create_table(
        "consent_states",
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["consent_events.id"],
            name=op.f("fk_consent_states_event_id_consent_events"),
        ),
        sa.PrimaryKeyConstraint("customer", "purpose", "channel", name=op.f("pk_consent_states")),
    )


def downgrade() -> None:
    op.drop_table("consent_states")
    op.drop_table("consent_events")
    op.drop_table("consent_texts")
