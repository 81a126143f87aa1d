"""answer origins: a PDF return read by scan says so, and is found from its submission

A submission read by the mailroom from a flattened PDF return was stored as `paper`; it is now
`pdf_scan`, and so is its change set (existing rows too: the scanned return names its
submission). The back office finds a change set's PDF return by its submission: an index.

Revision ID: 0013_answer_origins
Revises: 0004
Create Date: 2026-12-02 05:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0013_answer_origins"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pdf_returns") as batch:
        batch.create_index(batch.f("ix_pdf_returns_submission_id"), ["submission_id"])
    op.execute(
        "UPDATE submissions SET channel = 'pdf_scan' WHERE channel = 'paper' AND id IN "
        "(SELECT submission_id FROM pdf_returns WHERE status = 'scanned')"
    )
    op.execute(
        "UPDATE change_sets SET channel = 'pdf_scan' WHERE channel = 'paper' AND submission_id IN "
        "(SELECT submission_id FROM pdf_returns WHERE status = 'scanned')"
    )


def downgrade() -> None:
    op.execute("UPDATE change_sets SET channel = 'paper' WHERE channel = 'pdf_scan'")
    op.execute("UPDATE submissions SET channel = 'paper' WHERE channel = 'pdf_scan'")
    with op.batch_alter_table("pdf_returns") as batch:
        batch.drop_index(batch.f("ix_pdf_returns_submission_id"))
