"""session records, sign-in failures per client, escalating identity locks

`user_sessions`: one row per back-office or mailroom sign-in, referenced from the signed
cookie by a random id stored as its SHA-256; sign-out, a password change and an
administrator's revoke end it. Sessions opened before this revision carry no id: they are
refused, and everyone signs in again once.

`sign_in_failures`: wrong passwords counted per (typed account name, client) for the lock,
and per account name across clients for the slower back-off. `users.failed_logins` and
`users.locked_until` are no longer read (the counts start again from zero here).

`documents.challenge_locks` (0 on every existing document) counts the locks of the identity
question; `challenge_blocked_at` (NULL) is set by the last one, until the document is
reissued.

Revision ID: 0021_session_records
Revises: 0019_token_owners
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_session_records"
down_revision = "0019_token_owners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("agent_digest", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
        sa.UniqueConstraint("account_key", "client", name=op.f("uq_sign_in_failures_account_key")),
    )
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("challenge_locks", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("challenge_blocked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 on), not a batch: a batch copies `documents` and drops
    # it, which the tables of the other branches still referencing it forbid.
    op.drop_column("documents", "challenge_blocked_at")
    op.drop_column("documents", "challenge_locks")
    op.drop_table("sign_in_failures")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
