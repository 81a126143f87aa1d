"""audit events chained at commit on PostgreSQL: the chain head is locked only while committing

Writers insert their events pending (`pending_body`, no hash, no place in the chain); a deferred
constraint trigger gives each its place (`seq`) and hash when the transaction commits, with the
chain head locked for the commit only instead of from the first event to the commit. SQLite
(one process) keeps chaining in Python, and sets `seq` too. The chain is walked by `seq`.

Revision ID: 0012_audit_chained_at_commit
Revises: 0002
Create Date: 2026-12-02 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from forms_service.storage.audit_chain import CREATE_CHAIN_TRIGGER, DROP_CHAIN_TRIGGER

revision = "0012_audit_chained_at_commit"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_body", sa.Text(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    # The chain so far was walked by id: its places follow the ids.
    op.execute(
        "UPDATE audit_events SET seq = "
        "(SELECT count(*) FROM audit_events AS e WHERE e.id <= audit_events.id)"
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_CHAIN_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_CHAIN_TRIGGER)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("pending_body")
        batch_op.drop_column("seq")
