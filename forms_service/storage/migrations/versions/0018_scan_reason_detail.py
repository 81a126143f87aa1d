"""scan reason detail: a page's reason as a msgid and its figures, for every screen's language

`scan_pages.reason` keeps the English text (what the API says); `reason_detail` stores the
gettext msgid, its parameters and an operator's own words, so that a French screen says the
reason in French with its figures. NULL on every existing page: shown as recorded.

Revision ID: 0018_scan_reason_detail
Revises: 0017_one_head
Create Date: 2026-12-07 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_scan_reason_detail"
down_revision = "0017_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_pages") as batch:
        batch.add_column(sa.Column("reason_detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_pages") as batch:
        batch.drop_column("reason_detail")
