"""one head: the seven branches that grew from 0001 meet here

Each area added its revisions on 0001 (or on its own previous one), so `alembic heads` listed
seven. This merge revision changes no table: it joins them, so that the next revision has one
parent (`alembic revision -m ...` without `--head`) and `alembic heads` shows one.

Revision ID: 0017_one_head
Revises: 0010_layout_versions, 0011_pdf_return_scans, 0012_audit_chained_at_commit,
    0013_answer_origins, 0014_scan_pages_by_submission, 0015_dashboard_indexes, 0016_user_locale
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

revision = "0017_one_head"
down_revision = (
    "0010_layout_versions",
    "0011_pdf_return_scans",
    "0012_audit_chained_at_commit",
    "0013_answer_origins",
    "0014_scan_pages_by_submission",
    "0015_dashboard_indexes",
    "0016_user_locale",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
