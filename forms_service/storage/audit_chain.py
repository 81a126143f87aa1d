"""The PostgreSQL side of the audit chain: events get their place and hash when they commit.

An event is inserted pending: `pending_body` holds its canonical JSON without the previous
hash (`forms_service.audit.service.chain_body`), `seq`, `prev_hash` and `hash` are NULL. A
deferred constraint trigger runs for each pending event when its transaction commits: it locks
the chain head, gives the event the next place and the hash

    sha256('["' || previous hash || '", ' || pending_body)

which is the same text `forms_service.audit.service` hashes in Python (verify recomputes it
from the row), and moves the head. So the head, which serialises every audited write, is locked
from the commit's start to its end only, not from a transaction's first event to its commit
(with the round trips, and the waits for the GIL of a threaded web worker, in between).
"""

from __future__ import annotations

#: Two first writers take advisory lock 7240001 when there is no chain head yet; the genesis
#: hash is 64 zeros, as in forms_service.audit.service.
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
