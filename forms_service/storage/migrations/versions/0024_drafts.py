"""drafts: the answer a customer has started online, encrypted, one per document

Revision ID: 0024_drafts
Revises: 0020_document_events
Create Date: 2026-12-07 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_drafts"
down_revision = "0020_document_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_drafts_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts") as batch:
        batch.create_index(batch.f("ix_drafts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("drafts")
