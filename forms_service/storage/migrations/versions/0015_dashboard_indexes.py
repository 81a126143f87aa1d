"""dashboard indexes: what waits (by status and conflict, oldest first) and what closed recently

The back office's dashboard counts the change sets that are not closed per status and
conflict with the oldest of them, and those closed since a day: two index range reads instead of a scan of the
whole history on every page load (docs/backoffice-and-api.md shows the plans).

Revision ID: 0015_dashboard_indexes
Revises: 0001
Create Date: 2026-12-02 05:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_dashboard_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_sets") as batch:
        batch.create_index("ix_change_sets_waiting", ["status", "has_conflict", "created_at"])
        batch.create_index(batch.f("ix_change_sets_closed_at"), ["closed_at"])


def downgrade() -> None:
    with op.batch_alter_table("change_sets") as batch:
        batch.drop_index(batch.f("ix_change_sets_closed_at"))
        batch.drop_index("ix_change_sets_waiting")
