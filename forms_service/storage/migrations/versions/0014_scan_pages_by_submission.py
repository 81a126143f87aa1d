"""scan pages by submission: the back office lists the scanned pages an answer was read from

Revision ID: 0014_scan_pages_by_submission
Revises: 0006
Create Date: 2026-12-02 05:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0014_scan_pages_by_submission"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_pages") as batch:
        batch.create_index(batch.f("ix_scan_pages_submission_id"), ["submission_id"])


def downgrade() -> None:
    with op.batch_alter_table("scan_pages") as batch:
        batch.drop_index(batch.f("ix_scan_pages_submission_id"))
