"""Engines and sessions on real PostgreSQL: dead pooled connections replaced without a ping,
read-only sessions without transactions."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from psycopg import pq
from sqlalchemy import Engine, event, func, inspect, select, text

from forms_service.storage.model import SecurityEvent
from forms_service.storage.service import (
    columns_of,
    detached,
    make_engine,
    make_session_factory,
    reading,
    reading_connection,
)
from tests.conftest import _admin_connection


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine of its own on the test database."""
    built = make_engine(database_url)
    yield built
    built.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _sent(engine: Engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(engine: Engine) -> None:
    first = _backend_pid(engine)
    assert _backend_pid(engine) == first  # a live connection is reused
    with _admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    time.sleep(0.3)  # the server's goodbye reaches the pooled connection's socket
    sent = _sent(engine)
    second = _backend_pid(engine)  # no error: the pool saw the closed socket and reconnected
    assert second != first
    assert sent == ["SELECT pg_backend_pid()"]  # and asked the server nothing else


def test_a_reading_session_reads_and_refuses_to_write(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with reading(sessions) as session:
        before = session.execute(select(func.count()).select_from(SecurityEvent)).scalar_one()
        if engine.dialect.name == "postgresql":
            # Autocommit: no transaction stays open after the statement (no BEGIN, no ROLLBACK).
            dbapi = session.connection().connection.dbapi_connection
            assert dbapi is not None
            assert dbapi.info.transaction_status == pq.TransactionStatus.IDLE
        session.add(SecurityEvent(at=dt.datetime.now(dt.UTC), kind="x", detail=""))
        with pytest.raises(RuntimeError, match="cannot write"):
            session.flush()
    with sessions() as session:
        after = session.execute(select(func.count()).select_from(SecurityEvent)).scalar_one()
    assert after == before


def test_a_detached_row_object_is_as_a_closed_session_leaves_it(engine: Engine) -> None:
    """`detached` objects (the link read's) carry their identity and no pending write: adding
    one back to a session updates nothing and inserts nothing."""
    sessions = make_session_factory(engine)
    at = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)
    with sessions() as session, session.begin():
        session.add(SecurityEvent(at=at, kind="link_tampered", client="c1", detail="d"))
    with reading_connection(sessions) as connection:
        row = connection.execute(
            select(*columns_of(SecurityEvent)).where(SecurityEvent.kind == "link_tampered")
        ).one()
    loaded = detached(SecurityEvent, dict(row._mapping))
    assert inspect(loaded).detached and inspect(loaded).identity == (loaded.id,)
    assert (loaded.kind, loaded.client, loaded.detail, loaded.at) == (
        "link_tampered",
        "c1",
        "d",
        at,
    )
    sent = _sent(engine)
    with sessions() as session, session.begin():
        session.add(loaded)  # as a detached object: persistent again, nothing to flush
        assert not session.dirty and not session.new
    assert not [s for s in sent if s.split(None, 1)[0] in ("INSERT", "UPDATE")], sent
    with sessions() as session:
        count = session.execute(select(func.count()).select_from(SecurityEvent)).scalar_one()
    assert count == 1
