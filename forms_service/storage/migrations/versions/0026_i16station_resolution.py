"""field changes: how a clerk settled a conflicting line (keep source, take answer, edit)

A conflict (the source changed since the customer saw it) is no longer accepted with the
plain accept key: the clerk's choice is stored on the line, and cleared when the write-back
finds the source moved again.

Revision ID: 0026_i16station_resolution
Revises: 0025_one_head
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_i16station_resolution"
down_revision = "0025_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("field_changes", sa.Column("resolution", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 on), not a batch copy of a table others reference.
    op.drop_column("field_changes", "resolution")
