"""short links: /r/<code> for SMS and QR codes, stored as a digest of the code

Revision ID: 0022_short_links
Revises: 0020_document_events
Create Date: 2026-12-07 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_short_links"
down_revision = "0020_document_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_short_links_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_short_links")),
    )
    with op.batch_alter_table("short_links") as batch:
        batch.create_index(batch.f("ix_short_links_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_table("short_links")
