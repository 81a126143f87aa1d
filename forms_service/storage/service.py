"""Engines and sessions for the service database."""

from __future__ import annotations

import select
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from psycopg import pq
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from forms_service.core.files import create_private_file

#: Session.info key of a session opened by `reading`.
_READING = "forms_reading"
#: Attribute of an engine holding its autocommit twin.
_AUTOCOMMIT = "_forms_autocommit"

_Mapped = TypeVar("_Mapped")


#: How long an SQLite connection waits for another's write lock (seconds).
_SQLITE_TIMEOUT = 30.0


def _begin_immediate(connection: Connection, timeout: float) -> None:
    """BEGIN IMMEDIATE, waiting for another writer's lock by short polls.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms… between its tries: a writer
    that found the lock taken for 3 ms waits 8, one that found it taken for 30 ms waits up
    to 53, while two send workers or web workers take turns every few milliseconds. Here
    the tries are at most 2 ms apart (CPU spent: one failed BEGIN a try), the busy handler
    off for BEGIN only; the statements after it never wait (WAL: the write lock is ours).
    After `timeout`, the last try fails as BEGIN always did (SQLAlchemy's OperationalError).
    """
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + timeout
        pause = 0.0002
        while time.monotonic() < deadline:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        cursor.close()


def make_engine(url: str, *, immediate: bool = False, **options: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout.

    With `immediate`, every SQLite transaction takes the write lock at BEGIN, so that a
    read-then-write transaction never fails half-way because another writer went first
    (SQLite's answer to SELECT … FOR UPDATE). Use it for the service's own database only:
    one thread must then never open a second transaction while holding one.
    """
    # A failed statement's message would carry its parameters (names, e-mails, IBANs) into
    # every log line and traceback that shows it.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            # Created by SQLite itself, the file would be world-readable (0644 by umask).
            create_private_file(Path(database))
        options.setdefault("connect_args", {"timeout": _SQLITE_TIMEOUT})
        timeout = float(options["connect_args"].get("timeout", _SQLITE_TIMEOUT))
        engine = create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself so that BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            if immediate:
                _begin_immediate(connection, timeout)
            else:
                connection.exec_driver_sql("BEGIN")

        return engine
    if make_url(url).get_driver_name() != "psycopg" or "pool_pre_ping" in options:
        options.setdefault("pool_pre_ping", True)
        return create_engine(url, **options)
    engine = create_engine(url, **options)
    # pool_pre_ping would cost a round trip (SELECT 1) per checkout, several per request; a
    # server that restarted or dropped the connection has closed its end, which the socket
    # shows without asking the server. A connection that breaks later still fails its
    # statement cleanly (503) and is replaced.
    event.listen(engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Make the pool replace a pooled psycopg connection whose server has hung up.

    An idle connection between transactions has nothing to read: a readable socket carries the
    server's goodbye (a FATAL "terminating connection" or the end of the stream). Anything
    else unprompted (a notice) only costs a new connection.
    """
    pgconn = dbapi_connection.pgconn
    try:
        alive = pgconn.status == pq.ConnStatus.OK and not dbapi_connection.closed
        poll = select.poll()
        poll.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        alive = alive and not poll.poll(0)
    except Exception as exc:  # a broken pgconn refuses even to name its socket
        raise DisconnectionError("the database connection is broken") from exc
    if not alive:
        raise DisconnectionError("the database server closed this connection")


def autocommit(engine: Engine) -> Engine:
    """`engine` whose connections run each statement on its own (no BEGIN, no ROLLBACK).

    For reads only: on PostgreSQL (READ COMMITTED) each statement of a transaction sees its
    own snapshot anyway, so a read-only unit of work loses nothing and saves two round
    trips. SQLite keeps its transactions (they cost no round trip there).
    """
    if engine.dialect.name == "sqlite":
        return engine
    # Kept on the engine itself (making one costs ~60 us): a cache beside it would keep every
    # engine of the process alive.
    found: Engine | None = getattr(engine, _AUTOCOMMIT, None)
    if found is None:
        found = engine.execution_options(isolation_level="AUTOCOMMIT")
        setattr(engine, _AUTOCOMMIT, found)
    return found


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads, on an autocommit connection (see `autocommit`).

    Writing through it is refused (its flush raises), since nothing would hold the writes
    together.
    """
    bind = factory.kw.get("bind")
    options: dict[str, Any] = {"info": {_READING: True}}
    if isinstance(bind, Engine):
        options["bind"] = autocommit(bind)
    with factory(**options) as session:
        yield session


@event.listens_for(Session, "before_flush")
def _refuse_writes_while_reading(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_READING) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a reading session cannot write; open a transaction")


@contextmanager
def reading_connection(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core connection that only reads, on an autocommit connection (see `reading`).

    For the hottest reads (a link opened by a customer): no Session, no ORM execution layer,
    no identity map; rows become objects with `detached`.
    """
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        with reading(factory) as session:
            yield session.connection()
        return
    with autocommit(bind).connect() as connection:
        yield connection


def columns_of(mapped: type[Any], *, prefix: str = "") -> tuple[Any, ...]:
    """The mapped columns of an ORM class, labelled with their attribute names (+ prefix)."""
    return tuple(
        attribute.columns[0].label(prefix + attribute.key)
        for attribute in inspect(mapped).column_attrs
    )


def detached(mapped: type[_Mapped], values: Mapping[str, Any]) -> _Mapped:
    """An ORM object built from a Core row of its columns, as a closed session leaves one.

    `values` holds every column attribute (by attribute name, as `columns_of` labels them).
    The object is detached with its identity, like one loaded by a session that has closed
    (what `reading` gives): nothing pending to write, relationships not loaded. Building it
    costs a few microseconds; the ORM's loading of the same row (session, identity map, load
    context, instance events) cost about a third of a millisecond per page.
    """
    obj: _Mapped = inspect(mapped).class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    return obj
