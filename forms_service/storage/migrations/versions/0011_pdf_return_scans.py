"""pdf return scans: the scan batch that reads a flattened PDF return names that return

Revision ID: 0011_pdf_return_scans
Revises: 0006
Create Date: 2026-12-01 22:50:00

No foreign key: pdf_returns (0004) and scan_batches (0006) are on separate branches of the
history. The new return status `scanned` needs no change: statuses are plain strings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_pdf_return_scans"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_batches") as batch:
        batch.add_column(sa.Column("pdf_return_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_scan_batches_pdf_return_id"), ["pdf_return_id"])


def downgrade() -> None:
    with op.batch_alter_table("scan_batches") as batch:
        batch.drop_index(batch.f("ix_scan_batches_pdf_return_id"))
        batch.drop_column("pdf_return_id")
