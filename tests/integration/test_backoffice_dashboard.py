"""The back office's dashboard: what waits now, what needs attention, what closed recently.

Real change sets answered online, decided through the service, with their timestamps moved
to known moments; on PostgreSQL, the dashboard's statements are explained on a table of
200,000 change sets and must read indexes, never the whole history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, event, insert, text, update
from sqlalchemy.engine import Connection

from forms_service.changes import queries
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    OutboxMessage,
    OutboxStatus,
)
from forms_service.storage.service import make_engine, make_session_factory
from tests.conftest import _truncate
from tests.integration.reviewing import add_user, answer, english_client, sign_in

FORM = "contact-update"
PARIS = ZoneInfo("Europe/Paris")
#: 11:00 in Paris: today there began at 2026-12-01 23:00 UTC.
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
PARIS_MIDNIGHT = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """These tests read the English screens (the French ones: test_backoffice_languages.py)."""
    return english_client(app)


def _move(runtime: Runtime, change_set_id: str, **values: Any) -> None:
    """Set columns of a change set behind the service (its past, or a delivery's outcome)."""
    table = ChangeSet.__table__
    assert isinstance(table, Table)  # typed as any FromClause on a mapped class
    with runtime.sessions() as session, session.begin():
        session.execute(update(table).where(table.c.id == change_set_id).values(**values))


def _reject(runtime: Runtime, change_set_id: str) -> None:
    version = runtime.changes.change_set(change_set_id).version
    runtime.changes.reject_all(change_set_id, actor="clerk", version=version)


def _history(runtime: Runtime) -> dict[str, str]:
    """Change sets in every situation the dashboard tells apart: name -> id."""
    made = {
        "recent": answer(runtime, FORM, {"city": "Lyon"}, "C000001"),
        "oldest": answer(runtime, FORM, {"city": "Lille"}, "C000002"),
        "conflict": answer(
            runtime, FORM, {"city": "Nantes"}, "C000003", source_changes={"city": "Brest"}
        ),
        "closed_today": answer(runtime, FORM, {"city": "Metz"}, "C000004"),
        "closed_yesterday": answer(runtime, FORM, {"city": "Nancy"}, "C000005"),
        "closed_long_ago": answer(runtime, FORM, {"city": "Pau"}, "C000006"),
        "failed": answer(runtime, FORM, {"city": "Caen"}, "C000007"),
        "approved": answer(runtime, FORM, {"city": "Dijon"}, "C000008"),
    }
    _move(runtime, made["recent"], created_at=NOW - dt.timedelta(hours=1))
    _move(runtime, made["oldest"], created_at=NOW - dt.timedelta(days=3, hours=5, minutes=10))
    _move(runtime, made["conflict"], created_at=NOW - dt.timedelta(hours=2))
    for name in ("closed_today", "closed_yesterday", "closed_long_ago"):
        _reject(runtime, made[name])
    _move(runtime, made["closed_today"], closed_at=NOW - dt.timedelta(minutes=30))
    # 23:59 in Paris on the day before: in the week, not today (in Tokyo it is today).
    _move(runtime, made["closed_yesterday"], closed_at=PARIS_MIDNIGHT - dt.timedelta(minutes=1))
    _move(runtime, made["closed_long_ago"], closed_at=NOW - dt.timedelta(days=10))
    _move(runtime, made["failed"], status=ChangeSetStatus.FAILED.value)
    _move(runtime, made["approved"], status=ChangeSetStatus.APPROVED.value)
    with runtime.sessions() as session, session.begin():
        session.add(
            OutboxMessage(
                change_set_id=made["failed"],
                connector="crm",
                record_type="customer",
                record_key="C000007",
                writes={},
                status=OutboxStatus.DEAD,
                attempts=8,
                next_attempt_at=NOW,
                last_error="gave up",
                created_at=NOW,
            )
        )
    runtime.changes.clock = lambda: NOW
    return made


def test_the_dashboard_counts_what_waits_needs_attention_and_closed(runtime: Runtime) -> None:
    _history(runtime)
    board = runtime.changes.dashboard(PARIS)
    assert (board.waiting, board.conflicts) == (3, 1)
    assert board.oldest_waiting_at == NOW - dt.timedelta(days=3, hours=5, minutes=10)
    assert (board.writing_back, board.failed, board.dead_letters) == (1, 1, 1)
    assert board.needs_attention == 3
    assert board.today == PARIS_MIDNIGHT
    assert board.week == PARIS_MIDNIGHT - dt.timedelta(days=6)
    assert dict(board.closed_today) == {"rejected": 1}
    assert dict(board.closed_week) == {"rejected": 2}
    # Seen from Tokyo, the change set closed at 22:59 UTC (07:59 there) is today's.
    assert dict(runtime.changes.dashboard(ZoneInfo("Asia/Tokyo")).closed_today) == {"rejected": 2}


def test_the_queue_page_shows_the_dashboard_and_reads_no_whole_table(
    client: FlaskClient, runtime: Runtime
) -> None:
    _history(runtime)
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    statements: list[str] = []

    def record(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = runtime.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/backoffice/").text
    finally:
        event.remove(engine, "before_cursor_execute", record)
    shown = dict(re.findall(r'data-board="([a-z_]+)">([^<]*)<', page))
    assert shown == {
        "waiting": "3",
        "for_others": "0",
        "oldest": "3 days 5 h",
        "conflicts": "1",
        "dead_letters": "1",
        "failed": "1",
        "writing_back": "1",
        "closed_today": "1",
        "closed_week": "2",
    }
    assert 'data-closed-week="rejected"' in page
    # The per-status counts over all history are gone from the page: every statement that
    # reads change sets or the outbox has a condition (served by an index).
    reads = [s for s in statements if re.search(r"FROM (change_sets|outbox)\b", s)]
    assert reads
    for statement in reads:
        assert "WHERE" in statement, statement


def test_a_queue_without_anything_waiting_says_so(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    page = client.get("/backoffice/").text
    shown = dict(re.findall(r'data-board="([a-z_]+)">([^<]*)<', page))
    assert (shown["waiting"], shown["oldest"], shown["closed_today"]) == ("0", "—", "0")


@pytest.fixture
def big_postgres(postgres_database: str) -> Iterator[str]:
    """The test PostgreSQL database with 200,000 change sets of two years (FKs not checked)."""
    _truncate(postgres_database)
    engine = make_engine(postgres_database)
    outbox = OutboxMessage.__table__
    assert isinstance(outbox, Table)
    with engine.begin() as connection:
        # Only these tables matter to the plans; the referenced rows are not needed.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            text(
                """
                INSERT INTO change_sets (id, submission_id, document_id, form_id, channel,
                    status, has_conflict, created_at, closed_at, version)
                SELECT 'cs' || n, 's' || n, 'd' || n, 'contact-update', 'online',
                    CASE WHEN n % 40 = 0 THEN 'open' WHEN n % 7 = 0 THEN 'rejected'
                         ELSE 'applied' END,
                    n % 400 = 0,
                    :now - (n || ' minutes')::interval * 5,
                    CASE WHEN n % 40 = 0 THEN NULL
                         ELSE :now - (n || ' minutes')::interval * 5 + interval '1 hour' END,
                    1
                FROM generate_series(1, 200000) AS n
                """
            ),
            {"now": NOW},
        )
        connection.execute(
            insert(outbox),
            [
                {
                    "change_set_id": f"cs{n}",
                    "connector": "crm",
                    "record_type": "customer",
                    "record_key": "C1",
                    "writes": {},
                    "status": OutboxStatus.DEAD if n % 100 == 0 else OutboxStatus.DELIVERED,
                    "attempts": 1,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for n in range(1, 5001)
            ],
        )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("VACUUM ANALYZE change_sets"))
        connection.execute(text("VACUUM ANALYZE outbox"))
    engine.dispose()
    yield postgres_database
    _truncate(postgres_database)


@pytest.mark.postgres
def test_the_dashboard_reads_indexes_on_postgresql(big_postgres: str) -> None:
    engine = make_engine(big_postgres)
    captured: list[tuple[str, Any]] = []

    def record(conn: Connection, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    with make_session_factory(engine)() as session:
        board = queries.dashboard(session, PARIS_MIDNIGHT)
    event.remove(engine, "before_cursor_execute", record)
    assert board.waiting == 5000 and board.dead_letters == 50
    week = PARIS_MIDNIGHT - dt.timedelta(days=6)
    closed = [
        n for n in range(1, 200_001) if n % 40 and NOW - dt.timedelta(minutes=5 * n - 60) >= week
    ]
    assert sum(board.closed_week.values()) == len(closed)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in captured:
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            plans.append("\n".join(row[0] for row in rows))
    engine.dispose()
    assert len(plans) == 3
    for plan in plans:
        assert "Seq Scan" not in plan, plan
        assert "Index" in plan, plan
