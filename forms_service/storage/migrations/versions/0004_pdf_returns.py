"""pdf returns: accepted returned PDFs, their stored file and what they became

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pdf_returns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("submission_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("file_key", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reader", sa.String(length=16), nullable=False),
        sa.Column("field_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_pdf_returns_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_pdf_returns_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pdf_returns")),
    )
    with op.batch_alter_table("pdf_returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pdf_returns_document_id"), ["document_id"])
        batch_op.create_index(batch_op.f("ix_pdf_returns_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_pdf_returns_received_at"), ["received_at"])


def downgrade() -> None:
    op.drop_table("pdf_returns")
