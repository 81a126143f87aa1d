"""audit events chained at commit on PostgreSQL: the chain head is locked only while committing

Writers insert their events pending (`pending_body`, no hash, no place in the chain); a deferred
constraint trigger gives each its place (`seq`) and hash when the transaction commits, with the
chain head locked for the commit only instead of from the first event to the commit. SQLite
(one process) keeps chaining in Python, and sets `seq` too. The chain is walked by `seq`.

A pending event's `pending_body` is its canonical JSON without the previous hash
(`forms_service.audit.service.chain_body`); the trigger gives it the hash

    sha256('["' || previous hash || '", ' || pending_body)

the same text `forms_service.audit.service` hashes in Python (verify recomputes it from the row).

Revision ID: 0012_audit_chained_at_commit
Revises: 0002
Create Date: 2026-12-02 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_audit_chained_at_commit"
down_revision = "0002"
branch_labels = None
depends_on = None

# The trigger as it was written by this revision (a later change is a revision of its own).
# Two first writers take advisory lock 7240001 when there is no chain head yet; the genesis
# hash is 64 zeros, as in forms_service.audit.service.
CREATE_CHAIN_TRIGGER = """
CREATE OR REPLACE FUNCTION forms_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head_events integer;
    head_hash varchar(64);
    previous varchar(64);
    chained varchar(64);
BEGIN
    SELECT events, last_hash INTO head_events, head_hash
        FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pg_advisory_xact_lock(7240001);
        SELECT events, last_hash INTO head_events, head_hash
            FROM audit_chain_head WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN
            -- A database emptied by hand: the head starts again from the chained rows.
            SELECT count(*) INTO head_events FROM audit_events WHERE seq IS NOT NULL;
            SELECT hash INTO head_hash FROM audit_events
                WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
            INSERT INTO audit_chain_head (id, events, last_hash)
                VALUES (1, head_events, coalesce(head_hash, repeat('0', 64)));
        END IF;
    END IF;
    previous := CASE WHEN head_events = 0 THEN repeat('0', 64) ELSE head_hash END;
    chained := encode(sha256(convert_to('["' || previous || '", ' || NEW.pending_body, 'UTF8')), 'hex');
    UPDATE audit_events
        SET seq = head_events + 1, prev_hash = previous, hash = chained, pending_body = NULL
        WHERE id = NEW.id;
    UPDATE audit_chain_head SET events = head_events + 1, last_hash = chained WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER audit_events_chain
    AFTER INSERT ON audit_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.pending_body IS NOT NULL)
    EXECUTE FUNCTION forms_audit_chain();
"""

DROP_CHAIN_TRIGGER = """
DROP TRIGGER IF EXISTS audit_events_chain ON audit_events;
DROP FUNCTION IF EXISTS forms_audit_chain();
"""


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
