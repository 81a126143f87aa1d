"""The audit log: `forms-service audit verify` finds edited and deleted rows; redaction by role."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import delete, func, insert, select, text, update

from forms_service.audit.service import (
    HEAD_ID,
    REDACTED,
    NewEvent,
    events_of,
    record,
    record_all,
    redact,
)
from forms_service.cli import cli
from forms_service.core.clock import utc_now
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditChainHead, AuditEvent
from tests.integration.changes_support import issue, submit


def _history(runtime: Runtime) -> list[int]:
    """A few real events: issued, submitted, auto-applied, applied."""
    document = issue(runtime, "consent-preferences")
    submit(runtime, document, {"preferred_channel": "post", "consent_partners": "true"})
    issue(runtime, "contact-update", "C000002")
    with runtime.sessions() as session:
        return list(session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars())


def _verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    return result.exit_code, result.output


def test_an_intact_chain_verifies(app: Flask, runtime: Runtime) -> None:
    ids = _history(runtime)
    assert len(ids) >= 4
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {len(ids)} audit events" in output


def test_an_edited_row_is_found(app: Flask, runtime: Runtime) -> None:
    ids = _history(runtime)
    with runtime.sessions() as session, session.begin():
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="mallory"))
    code, output = _verify(app)
    assert code == 1
    assert f"row {ids[1]} " in output and "edited" in output


def test_a_deleted_row_is_found(app: Flask, runtime: Runtime) -> None:
    ids = _history(runtime)
    with runtime.sessions() as session, session.begin():
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    code, output = _verify(app)
    assert code == 1
    assert f"row {ids[2]} " in output and "deleted" in output


def test_deleting_the_last_rows_is_found(app: Flask, runtime: Runtime) -> None:
    ids = _history(runtime)
    with runtime.sessions() as session, session.begin():
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[-2]))
    code, output = _verify(app)
    assert code == 1
    assert f"row {ids[-3]} " in output and "last 2 row(s)" in output


def test_personal_values_only_for_allowed_roles(runtime: Runtime) -> None:
    _history(runtime)
    with runtime.sessions() as session:
        events = events_of(session)
        count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert len(events) == count
    changed = [e for e in events if e.after is not None]
    assert changed, "the history has events with values"
    for entry in redact(changed, ["clerk"]):
        assert entry.redacted and entry.after == REDACTED
        assert entry.kind and entry.field  # what happened stays visible
    for entry in redact(changed, ["supervisor"]):
        assert not entry.redacted and entry.after != REDACTED
    assert {e.after for e in redact(changed, ["admin"])} == {e.after for e in changed}


def test_events_recorded_as_one_batch_extend_the_chain_in_order(
    app: Flask, runtime: Runtime
) -> None:
    _history(runtime)
    now = dt.datetime.now(dt.UTC)
    batch = [
        NewEvent("issued", "cli", now, document_id=f"d{n:021d}", detail={"n": n}) for n in range(30)
    ]
    with runtime.sessions() as session, session.begin():
        recorded = record_all(session, batch)
    with runtime.sessions() as session, session.begin():
        record(session, "revoked", actor="clerk", at=now, document_id="d" + "0" * 21)
    with runtime.sessions() as session:
        events = list(session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
        head = session.get(AuditChainHead, HEAD_ID)
    assert [e.id for e in recorded] == sorted(e.id for e in recorded)  # numbered in order
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    mine = [e for e in events if e.id in {r.id for r in recorded}]
    assert [e.detail["n"] for e in mine] == list(range(30))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert head is not None and (head.events, head.last_hash) == (len(events), events[-1].hash)
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {len(events)} audit events" in output
    with runtime.sessions() as session:
        assert record_all(session, []) == []  # nothing to record: the head is not even read


def _record_in_threads(runtime: Runtime, writers: int, events: int) -> None:
    """`writers` concurrent transactions, each recording `events` events."""
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        start.wait()
        with runtime.sessions() as session, session.begin():
            for k in range(events):
                record(session, "test", actor=f"writer-{n}", at=utc_now(), detail={"k": k})

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))


def test_concurrent_transactions_each_recording_several_events_form_one_chain(
    app: Flask, runtime: Runtime
) -> None:
    before = len(_history(runtime))
    _record_in_threads(runtime, writers=6, events=3)
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {before + 18} audit events" in output
    with runtime.sessions() as session:
        writers = session.execute(
            select(AuditEvent.actor).where(AuditEvent.kind == "test").order_by(AuditEvent.seq)
        ).scalars()
        # Each transaction's events take consecutive places in the chain: no interleaving.
        runs = [actor for n, actor in enumerate(writers) if n % 3 == 0]
    assert len(set(runs)) == 6


def test_first_writers_of_a_database_without_a_chain_head_create_one_head(
    app: Flask, runtime: Runtime
) -> None:
    before = len(_history(runtime))
    with runtime.sessions() as session, session.begin():
        session.execute(delete(AuditChainHead))  # as in a database emptied by hand
    _record_in_threads(runtime, writers=4, events=2)
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {before + 8} audit events" in output
    with runtime.sessions() as session:
        assert session.execute(select(func.count()).select_from(AuditChainHead)).scalar_one() == 1


def test_a_transaction_that_recorded_events_does_not_hold_the_chain_until_it_commits(
    app: Flask, runtime: Runtime
) -> None:
    """On PostgreSQL events are chained at commit: an open transaction blocks no other writer.

    The first transaction records before the second and commits after it: the chain follows
    the commits (`seq`), not the ids. On SQLite the chain is extended in place and one
    writer at a time holds the database anyway, so the test is PostgreSQL's.
    """
    if runtime.engine.dialect.name != "postgresql":
        return
    before = len(_history(runtime))
    now = utc_now()
    with runtime.sessions() as first, first.begin():
        early = record(first, "test", actor="open-first", at=now)
        with runtime.sessions() as second, second.begin():
            # Waiting for a lock that `first` held would fail here instead of hanging.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            late = record(second, "test", actor="committed-first", at=now)
    with runtime.sessions() as session:
        rows = {
            e.actor: e
            for e in session.execute(select(AuditEvent).where(AuditEvent.kind == "test")).scalars()
        }
    assert early.id < late.id
    assert rows["committed-first"].seq == before + 1 and rows["open-first"].seq == before + 2
    assert rows["open-first"].prev_hash == rows["committed-first"].hash
    assert all(e.pending_body is None for e in rows.values())
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {before + 2} audit events" in output


def test_events_of_a_rolled_back_transaction_leave_no_hole(app: Flask, runtime: Runtime) -> None:
    before = len(_history(runtime))
    with runtime.sessions() as session, session.begin():
        record(session, "test", actor="kept", at=utc_now())
    with runtime.sessions() as session:
        session.begin()
        record(session, "test", actor="rolled back", at=utc_now())
        session.rollback()
    with runtime.sessions() as session, session.begin():
        record(session, "test", actor="kept too", at=utc_now())
    code, output = _verify(app)
    assert code == 0, output
    assert f"ok: {before + 2} audit events" in output


def test_a_row_written_around_the_chain_is_found(app: Flask, runtime: Runtime) -> None:
    """A row inserted without its place and hash (not through `record`) breaks the chain."""
    _history(runtime)
    with runtime.sessions() as session, session.begin():
        session.execute(
            insert(AuditEvent).values(at=utc_now(), kind="forged", actor="nobody", detail={})
        )
    code, output = _verify(app)
    assert code != 0
    assert "never chained" in output
