"""mailroom workload: batch names, page thumbnails, and the operators' actions per batch

`scan_batches.name` is the name an operator gave the batch or the scanner's (a PDF's /Title,
else the first file's name), `name_source` says which; `scan_pages.thumb_key` is the page's
thumbnail in the file store, made once when the page is decoded; `scan_page_actions` records
who did what to which page of a batch (assign, reject, requeue, set aside, not blank,
rename), read per batch, newest first.

Revision ID: 0026_i16mail_workload
Revises: 0025_one_head
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_i16mail_workload"
down_revision = "0025_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_batches") as batch:
        batch.add_column(sa.Column("name", sa.String(120), nullable=True))
        batch.add_column(sa.Column("name_source", sa.String(16), nullable=True))
    with op.batch_alter_table("scan_pages") as batch:
        batch.add_column(sa.Column("thumb_key", sa.String(80), nullable=True))
    op.create_index("ix_scan_pages_batch_status", "scan_pages", ["batch_id", "status", "sequence"])
    op.create_table(
        "scan_page_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(32), sa.ForeignKey("scan_batches.id"), nullable=False),
        sa.Column("page_id", sa.String(32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_scan_page_actions_batch_at", "scan_page_actions", ["batch_id", "at"])
    op.create_index("ix_scan_page_actions_page", "scan_page_actions", ["page_id"])


def downgrade() -> None:
    op.drop_index("ix_scan_page_actions_page", table_name="scan_page_actions")
    op.drop_index("ix_scan_page_actions_batch_at", table_name="scan_page_actions")
    op.drop_table("scan_page_actions")
    op.drop_index("ix_scan_pages_batch_status", table_name="scan_pages")
    with op.batch_alter_table("scan_pages") as batch:
        batch.drop_column("thumb_key")
    with op.batch_alter_table("scan_batches") as batch:
        batch.drop_column("name_source")
        batch.drop_column("name")
