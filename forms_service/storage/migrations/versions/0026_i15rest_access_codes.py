"""access codes: the digest of the code a customer types from the letter, beside its short link

Revision ID: 0026_i15rest_access_codes
Revises: 0025_one_head
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_i15rest_access_codes"
down_revision = "0025_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.add_column(sa.Column("access_digest", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_short_links_access_digest"), ["access_digest"])


def downgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.drop_constraint(batch.f("uq_short_links_access_digest"), type_="unique")
        batch.drop_column("access_digest")
