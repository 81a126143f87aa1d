"""mailroom: scan batches, files, pages and OCR corrections

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_batches")),
    )
    with op.batch_alter_table("scan_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_batches_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scan_batches_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "scan_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("content_key", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scan_batches.id"],
            name=op.f("fk_scan_files_batch_id_scan_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_files")),
    )
    with op.batch_alter_table("scan_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_files_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "scan_pages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("file_page", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("image_key", sa.String(length=80), nullable=True),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("form_id", sa.String(length=64), nullable=True),
        sa.Column("form_version", sa.Integer(), nullable=True),
        sa.Column("form_page", sa.Integer(), nullable=True),
        sa.Column("assigned_by", sa.String(length=128), nullable=True),
        sa.Column("exception", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("readings", sa.JSON(), nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scan_batches.id"],
            name=op.f("fk_scan_pages_batch_id_scan_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["scan_files.id"],
            name=op.f("fk_scan_pages_file_id_scan_files"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_pages")),
    )
    with op.batch_alter_table("scan_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_pages_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_pages_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_pages_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_pages_exception"), ["exception"], unique=False)
        batch_op.create_index(
            "ix_scan_pages_document_page", ["document_id", "form_page"], unique=False
        )

    op.create_table(
        "ocr_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("change_set_id", sa.String(length=32), nullable=True),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("field_type", sa.String(length=32), nullable=False),
        sa.Column("read_value", sa.Text(), nullable=True),
        sa.Column("corrected_value", sa.Text(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocr_corrections")),
    )
    with op.batch_alter_table("ocr_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ocr_corrections_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ocr_corrections_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ocr_corrections_form_id"), ["form_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ocr_corrections")
    op.drop_table("scan_pages")
    op.drop_table("scan_files")
    op.drop_table("scan_batches")
