"""Migrations up and down on SQLite and PostgreSQL, and models that match them."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import Table, inspect, select, text
from sqlalchemy.exc import StatementError

from forms_service.audit.service import GENESIS, _digest, record, verify
from forms_service.cli import cli
from forms_service.config import load_settings
from forms_service.core.clock import utc_now
from forms_service.core.logs import JsonFormatter, RedactingFormatter
from forms_service.demo.service import create_demo_crm
from forms_service.jobs.service import broker_settings
from forms_service.storage import migrate
from forms_service.storage.model import (
    AuditEvent,
    Base,
    Document,
    DocumentStatus,
    SecurityEvent,
)
from forms_service.storage.service import make_engine, make_session_factory


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _current_heads(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def _script_heads() -> set[str]:
    return set(ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads())


def _branch_tips() -> set[str]:
    """The last revision of each branch: a head, or the parents a merge revision joins.

    A merge revision has no single revision one step below it (`head@head-1` is an ambiguous
    walk), so the branches are stepped down from where they meet.
    """
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    tips: set[str] = set()
    for head in script.get_heads():
        revision = script.get_revision(head)
        assert revision is not None
        parents = revision.down_revision
        tips.update(parents if isinstance(parents, tuple) else (head,))
    return tips


def test_every_revision_descends_from_the_initial_schema() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    revisions = list(script.walk_revisions())
    assert [r.revision for r in revisions if r.down_revision is None] == ["0001"]
    for revision in revisions:
        assert revision.module.__doc__, f"revision {revision.revision} says nothing about itself"


def test_upgrade_creates_every_model_table_and_is_repeatable(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    tables = _tables(empty_database_url)
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert _current_heads(empty_database_url) == _script_heads()
    migrate.upgrade(empty_database_url)  # nothing left to do: no error, same state
    assert _tables(empty_database_url) == tables


def test_models_and_migrations_agree(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models differ from migrations: write a revision for them"


def test_downgrade_to_base_removes_everything_and_upgrade_again(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) - {"alembic_version"} == set()
    assert _current_heads(empty_database_url) == set()
    migrate.upgrade(empty_database_url)
    assert set(Base.metadata.tables) <= _tables(empty_database_url)


def test_one_step_down_and_up_from_each_head(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    for head in sorted(_branch_tips() - {"0001"}):
        migrate.downgrade(empty_database_url, f"{head}@{head}-1")
        assert head not in _current_heads(empty_database_url)
        migrate.upgrade(empty_database_url)
        assert _current_heads(empty_database_url) == _script_heads()


def test_rows_survive_an_upgrade_and_timestamps_come_back_in_utc(
    empty_database_url: str,
) -> None:
    migrate.upgrade(empty_database_url, "0001")
    engine = make_engine(empty_database_url, immediate=True)
    sessions = make_session_factory(engine)
    paris = dt.timezone(dt.timedelta(hours=1))
    issued = dt.datetime(2026, 11, 23, 14, 30, 15, 123456, tzinfo=paris)
    documents = Document.__table__
    assert isinstance(documents, Table)  # typed as any FromClause on a mapped class
    with sessions() as session, session.begin():
        # A Core insert of the columns 0001 has: the model may have more (added by later
        # revisions, e.g. documents.layout_version), which this schema does not know yet.
        session.execute(
            documents.insert().values(
                id="d" * 22,
                reference="7Q4-K2M-98X",
                form_id="contact-update",
                form_version=1,
                record_key="C000001",
                campaign="test",
                snapshot={"city": "Lyon", "postcode": "69003", "email": None},
                challenge_digests={"salt": "00"},
                status=DocumentStatus.ISSUED,
                issued_at=issued,
                expires_at=issued + dt.timedelta(days=60),
                challenge_failures=0,
            )
        )
    engine.dispose()
    migrate.upgrade(empty_database_url)  # the other heads on top of existing rows
    engine = make_engine(empty_database_url)
    with make_session_factory(engine)() as session:
        document = session.execute(select(Document)).scalar_one()
        assert document.snapshot == {"city": "Lyon", "postcode": "69003", "email": None}
        assert document.status is DocumentStatus.ISSUED
        assert document.issued_at == issued
        assert document.issued_at.tzinfo is not None
        assert document.issued_at.utcoffset() == dt.timedelta(0)
        assert document.issued_at.hour == 13
        assert document.opened_at is None
        assert document.layout_version is None  # issued before layout versions: version 1
        with pytest.raises(StatementError, match="naive datetime"):
            session.add(SecurityEvent(at=dt.datetime(2026, 1, 1), kind="x", detail=""))
            session.flush()
    engine.dispose()


def test_a_chain_recorded_before_chaining_at_commit_still_verifies_and_goes_on(
    empty_database_url: str,
) -> None:
    """0012 gives the existing events their places in id order (ids with holes included)."""
    migrate.upgrade(empty_database_url, "0002")
    engine = make_engine(empty_database_url, immediate=True)
    previous = GENESIS
    rows = []
    for event_id in (1, 2, 5):  # 3 and 4 were rolled back
        event = AuditEvent(
            id=event_id,
            at=dt.datetime(2026, 11, 23, 14, event_id, tzinfo=dt.UTC),
            kind="issued",
            actor="cli",
            document_id=f"d{event_id:021d}",
            detail={"n": event_id},
        )
        event.prev_hash = previous
        event.hash = previous = _digest(previous, event)
        rows.append(event)
    columns = ("id", "at", "kind", "actor", "document_id", "field", "before", "after")
    events_table = AuditEvent.__table__
    assert isinstance(events_table, Table)
    with engine.begin() as connection:
        connection.execute(
            events_table.insert(),
            [
                {
                    **{c: getattr(e, c) for c in columns},
                    "detail": e.detail,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in rows
            ],
        )
        connection.execute(
            text("UPDATE audit_chain_head SET events = 3, last_hash = :last"), {"last": previous}
        )
        if connection.dialect.name == "postgresql":  # ids given by hand: move the sequence
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 5)")
            )
    engine.dispose()
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        record(session, "revoked", actor="clerk", at=utc_now(), document_id="d" + "0" * 21)
    with sessions() as session:
        places = session.execute(
            select(AuditEvent.id, AuditEvent.seq).order_by(AuditEvent.seq)
        ).all()
        report = verify(session)
    engine.dispose()
    assert [tuple(p) for p in places[:3]] == [(1, 1), (2, 2), (5, 3)]
    assert places[3].seq == 4
    assert report.ok, report
    assert report.events == 4


@pytest.mark.slow
def test_db_commands_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'forms.sqlite'}"
    env = {**os.environ, "FORMS_VAR_DIR": str(tmp_path / "var"), "FORMS_DATABASE_URL": url}
    env.pop("FORMS_CONFIG", None)
    script = str(Path(sys.executable).with_name("forms-service"))
    up = subprocess.run(
        [script, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    assert up.returncode == 0, up.stderr
    assert "database at revision heads" in up.stdout
    assert set(Base.metadata.tables) <= _tables(url)
    down = subprocess.run(
        [script, "db", "downgrade", "base"], env=env, capture_output=True, text=True, check=False
    )
    assert down.returncode == 0, down.stderr
    assert _tables(url) - {"alembic_version"} == set()


def test_the_embedded_databases_are_created_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Probe: `db upgrade` and `demo init` made var/forms.sqlite and the demo CRM 0644."""
    var = tmp_path / "var"
    env: dict[str, str | None] = {"FORMS_VAR_DIR": str(var), "FORMS_CONFIG": None}
    previous = os.umask(0o022)  # the usual umask, whatever the test runner's
    try:
        upgraded = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
        assert upgraded.exit_code == 0, upgraded.output
        create_demo_crm(f"sqlite:///{var / 'demo_crm.sqlite'}", 3)
        celery = Celery(set_as_current=False)
        celery.conf.update(broker_settings(load_settings(environ={"FORMS_VAR_DIR": str(var)})))
        celery.backend.get_task_meta("none")  # the result backend opens its database
    finally:
        os.umask(previous)
    files = sorted(var.rglob("*.sqlite*"))
    names = {path.name for path in files}
    assert {"forms.sqlite", "demo_crm.sqlite", "results.sqlite"} <= names, names
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    assert set(modes.values()) == {"0o600"}, modes  # WAL and shared-memory files too


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'x.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
    assert (tmp_path / "nested" / "x.sqlite").exists()


def test_a_failed_statement_does_not_show_its_values(empty_database_url: str) -> None:
    # Regression: an IntegrityError's message listed its parameters, so a connector or
    # service error logged with log.exception wrote customers' e-mails into the logs.
    engine = make_engine(empty_database_url)
    personal = "jeanne.martin@example.fr"
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leak_probe (email VARCHAR(64) UNIQUE)"))
            insert = text("INSERT INTO leak_probe (email) VALUES (:email)")
            connection.execute(insert, {"email": personal})
            with pytest.raises(StatementError) as failed:
                connection.execute(insert, {"email": personal})
        assert "hidden due to hide_parameters" in str(failed.value)
        # PostgreSQL names the value itself ("Key (email)=(…) already exists"): the log
        # formats redact that part of a traceback.
        record = logging.makeLogRecord(
            {"msg": "write failed", "exc_info": (StatementError, failed.value, None)}
        )
        for formatter in (JsonFormatter(), RedactingFormatter("%(message)s")):
            assert personal not in formatter.format(record)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS leak_probe"))
        engine.dispose()
