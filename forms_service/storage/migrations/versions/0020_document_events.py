"""document events: each document's history (issued, sent, delivered, opened, answered, ...)

One row per event, only ever added; read by the API, the back office and the dashboard.

Revision ID: 0020_document_events
Revises: 0019_token_owners
Create Date: 2026-12-07 10:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_document_events"
down_revision = "0019_token_owners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_events_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_events")),
    )
    with op.batch_alter_table("document_events") as batch:
        batch.create_index("ix_document_events_document_at", ["document_id", "at"], unique=False)
        batch.create_index("ix_document_events_kind_at", ["kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("document_events")
