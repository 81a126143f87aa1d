"""token owners: an API token belongs to a person, expires, and tells when it was last used

`api_tokens.owner_id` is the user whose decisions the token makes; NULL on every existing
token: such a token still reads, issues and files returns, but decides no change set (the API
answers 403) until it is replaced by one made with `api-tokens create NAME --user USERNAME`.
`expires_at` NULL (existing tokens): no expiry; new tokens always get one. `last_used_at`
starts NULL.

`field_changes.first_reviewer_id` / `second_reviewer_id` hold the person behind each
approval, which the four-eyes rule compares; existing decisions are filled in from the users
whose username is the recorded name (decisions recorded as `api:<token>` stay NULL and are
compared by name, as before).

Revision ID: 0019_token_owners
Revises: 0018_scan_reason_detail
Create Date: 2026-12-07 02:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_token_owners"
down_revision = "0018_scan_reason_detail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_tokens_owner_id_users"), "users", ["owner_id"], ["id"]
        )
        batch.create_index(batch.f("ix_api_tokens_owner_id"), ["owner_id"], unique=False)
    with op.batch_alter_table("field_changes") as batch:
        batch.add_column(sa.Column("first_reviewer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("second_reviewer_id", sa.Integer(), nullable=True))
    for column in ("first_reviewer", "second_reviewer"):
        op.execute(
            f"UPDATE field_changes SET {column}_id = "  # noqa: S608 - two fixed column names
            f"(SELECT users.id FROM users WHERE users.username = field_changes.{column}) "
            f"WHERE {column} IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("field_changes") as batch:
        batch.drop_column("second_reviewer_id")
        batch.drop_column("first_reviewer_id")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_owner_id"))
        batch.drop_constraint(op.f("fk_api_tokens_owner_id_users"), type_="foreignkey")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
        batch.drop_column("owner_id")
