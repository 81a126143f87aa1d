"""Two real workers sending two campaigns to the same customers at once never exceed a cap of 1
(PostgreSQL: the customer's advisory lock and the count written with the claim).

Two campaigns are issued to the same customers. For each customer in turn, the test holds a
row lock on every message (as a slow transaction would), hands the customer's two messages
(one per campaign) to the broker, waits until both workers are blocked inside their claims,
then lets go: the two claims of one customer run at the same moment, every time. Without the
customer's lock both would count 0 and both would send (checked: the test fails then). The
contact rules allow 1 commercial message a week: exactly one message per
customer reaches the gateway, the other is deferred by a week, and each customer is counted
once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from forms_service.connectors.interfaces import Selection
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.interfaces import Channel, Purpose
from forms_service.runtime import Runtime
from forms_service.storage.messages import Message, MessageStatus
from forms_service.storage.model import Document
from forms_service.storage.pressure import ContactPressure
from tests.conftest import DEFINITIONS, _truncate
from tests.integration.delivery_support import REACHABLE, RecordingJobs, edit_crm
from tests.integration.delivery_support import worker_process as _worker
from tests.integration.test_delivery_worker import _close, _sink, _wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COUNT = 8
RULES = """\
time_zone: Europe/Paris
caps:
  - {id: one-a-week, purposes: [commercial], limit: 1, window_days: 7, over: defer}
"""
OPTIONS = CampaignOptions(channels=(Channel.EMAIL,), force=True, purpose=Purpose.COMMERCIAL)


@pytest.fixture
def database_url(postgres_database: str) -> Iterator[str]:
    """PostgreSQL only: SQLite has one writer at a time, there is no race to lose."""
    _truncate(postgres_database)
    yield postgres_database


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The definitions with a cap of 1; jobs go to the filesystem broker."""
    definitions = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, definitions)
    (definitions / "consent" / "contact_rules.yaml").write_text(RULES, encoding="utf-8")
    return {**app_settings, "JOBS_EAGER": False, "DEFINITIONS_DIR": str(definitions)}


def _waiting(engine: Any) -> int:
    """Sessions of the workers waiting for a lock (a row's or a customer's)."""
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


def _two_campaigns(runtime: Runtime, crm_url: str) -> tuple[list[str], RecordingJobs, Any]:
    """Two campaigns issued to the same customers and planned; their jobs kept, not queued.

    Returns the customers' keys, the jobs planned, and message id -> its customer's key.
    """
    assert [cap.limit for cap in runtime.contact_rules.caps] == [1]
    keys = [f"C{n:06d}" for n in range(1, COUNT + 1)]
    for key in keys:
        edit_crm(crm_url, key, **REACHABLE)
    for campaign in ("a", "b"):
        list(runtime.issuing.issue("contact-update", Selection(keys=tuple(keys)), campaign))
    # Plan both (the plan cannot see the other campaign's sends: none is claimed yet) and
    # keep the jobs, to hand them to the broker as the test needs.
    planned = RecordingJobs()
    broker, runtime.delivery.jobs = runtime.delivery.jobs, planned
    for campaign in ("a", "b"):
        plan = runtime.delivery.send_campaign(campaign, OPTIONS)
        assert plan.gate["email"]["sendable_now"] == COUNT
    runtime.delivery.jobs = broker
    with runtime.sessions() as session:
        of = dict(
            session.execute(
                select(Message.id, Document.record_key).join(
                    Document, Document.id == Message.document_id
                )
            ).all()
        )
    return keys, planned, of


def _settled(runtime: Runtime) -> bool:
    with runtime.sessions() as session:
        return not session.scalars(
            select(Message.id).where(
                Message.status.in_((MessageStatus.SENDING,))
                | Message.next_attempt_at.is_(None) & (Message.status == MessageStatus.QUEUED)
            )
        ).first()


def _one_each(runtime: Runtime, keys: list[str], of: Any, logs: str) -> None:
    """One message per customer reached the gateway, the other deferred; each counted once."""
    sent = _sink(runtime)
    handed = Counter(of[line["message_id"]] for line in sent)
    # One message per customer, never two, whatever the campaign.
    assert handed == dict.fromkeys(keys, 1)
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Message)))
        counted = Counter(session.scalars(select(ContactPressure.customer_key)))
    statuses = Counter(m.status for m in rows)
    assert statuses == {MessageStatus.SENT: COUNT, MessageStatus.QUEUED: COUNT}
    for row in rows:
        if row.status is MessageStatus.QUEUED:
            assert row.reason == "frequency_capped"
            assert row.next_attempt_at is not None
            assert row.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=6)
    assert sorted(counted.values()) == [1] * COUNT
    assert logs.count("'deferred'") == COUNT


@contextlib.contextmanager
def _racing(app_settings: dict[str, Any], runtime: Runtime, tmp_path: Path) -> Iterator[Any]:
    """Two real workers and an engine to hold row locks with; on exit, every message settled.

    The workers' logs are tmp_path/one.log and tmp_path/two.log.
    """
    blocker = create_engine(app_settings["DATABASE_URL"])
    with _worker(app_settings, tmp_path / "one.log"), _worker(app_settings, tmp_path / "two.log"):
        yield blocker
        _wait_for(lambda: _settled(runtime), "every message sent or deferred")
    _close(runtime)
    blocker.dispose()


def _logs(tmp_path: Path) -> list[str]:
    return [(tmp_path / log).read_text() for log in ("one.log", "two.log")]


def test_two_workers_sending_to_the_same_customers_never_exceed_a_cap_of_one(
    app_settings: dict[str, Any], runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    keys, planned, of = _two_campaigns(runtime, crm_url)
    ids = [message_id for _, *batch in planned.jobs for message_id in batch]
    by_key: dict[str, list[str]] = {}
    for message_id in ids:
        by_key.setdefault(of[message_id], []).append(message_id)
    with _racing(app_settings, runtime, tmp_path) as blocker:
        for key in keys:
            with blocker.connect() as connection:
                connection.execute(text("SELECT id FROM messages FOR UPDATE"))
                for message_id in by_key[key]:
                    runtime.jobs.enqueue("delivery.send", message_id)
                _wait_for(lambda: _waiting(blocker) >= 2, f"both claims of {key} waiting")
                connection.rollback()  # both claims go on at once
    logs = _logs(tmp_path)
    _one_each(runtime, keys, of, "".join(logs))
    # Both workers took part (each sent some).
    assert all("'sent'" in output for output in logs)


def test_two_workers_sending_batches_to_the_same_customers_never_exceed_a_cap_of_one(
    app_settings: dict[str, Any], runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    """The same race with `delivery.send_batch` jobs: campaign a's batch and b's at once."""
    keys, planned, of = _two_campaigns(runtime, crm_url)
    assert [(job, len(ids)) for job, *ids in planned.jobs] == [("delivery.send_batch", COUNT)] * 2
    with _racing(app_settings, runtime, tmp_path) as blocker, blocker.connect() as connection:
        connection.execute(text("SELECT id FROM messages FOR UPDATE"))
        for job, *ids in planned.jobs:
            runtime.jobs.enqueue(job, *ids)
        # One batch holds its customers and waits for its rows, the other for the customers.
        _wait_for(lambda: _waiting(blocker) >= 2, "both batches' claims waiting")
        connection.rollback()  # both claims go on at once
    logs = _logs(tmp_path)
    _one_each(runtime, keys, of, "".join(logs))
    # Each worker had one batch: one sent its campaign, the other's was deferred whole.
    assert all("succeeded" in output for output in logs)
