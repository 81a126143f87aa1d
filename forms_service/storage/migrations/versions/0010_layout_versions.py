"""layout versions: the paper layout a document was issued with and a scanned page printed with

Revision ID: 0010_layout_versions
Revises: 0006
Create Date: 2026-12-01 21:40:00

NULL means "before layout versions existed", which is layout version 1 (every `F1` page).
It follows 0006 because scan_pages is created there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_layout_versions"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("layout_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("scan_pages") as batch:
        batch.add_column(sa.Column("layout_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_pages") as batch:
        batch.drop_column("layout_version")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("layout_version")
