"""Write-back through the outbox to a real HTTP source: down, back, dead letter, re-delivery."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from forms_service.changes.model import encode_raw
from forms_service.changes.outbox import Delivery, OutboxDeliverer, RetryPolicy
from forms_service.changes.service import ChangeService
from forms_service.changes.tasks import outbox_round
from forms_service.cli import cli
from forms_service.connectors.interfaces import ApplyResult, Connector, FieldWrite
from forms_service.connectors.rest import RestConnector
from forms_service.jobs.service import CeleryJobQueue, make_celery
from forms_service.runtime import JOBS, Runtime
from forms_service.storage.model import (
    AuditEvent,
    ChangeSetStatus,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
)
from tests.integration.changes_support import ManualClock, crm_record, issue, submit
from tests.rest_source import RestSource

KEY = "C000001"


def _json(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in record.items()}


@pytest.fixture
def source(runtime: Runtime) -> Iterator[RestSource]:
    """The demo customer C000001, served over HTTP by a real server."""
    served = RestSource("customers", "customer_no", {KEY: _json(crm_record(runtime, KEY))})
    served.start()
    yield served
    served.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def deliverer(runtime: Runtime, source: RestSource, clock: ManualClock) -> OutboxDeliverer:
    rest = RestConnector(
        "crm", source.url, {"customer": {"path": "customers", "key": "customer_no"}}, timeout=5
    )
    return OutboxDeliverer(
        runtime.sessions,
        {"crm": rest},
        runtime.definitions,
        clock=clock,
        retry=RetryPolicy(max_attempts=4, first_delay=dt.timedelta(seconds=10)),
    )


@pytest.fixture
def changes(runtime: Runtime, deliverer: OutboxDeliverer, clock: ManualClock) -> ChangeService:
    # Answers are proposed by this service (over REST), not by the runtime's (over SQL).
    runtime.intake.proposer = None
    return ChangeService(
        runtime.sessions,
        runtime.definitions,
        deliverer.connectors,
        clock=clock,
        on_queued=deliverer.deliver_quietly,
    )


def _approved(
    runtime: Runtime,
    changes: ChangeService,
    source: RestSource,
    *,
    stop: bool = False,
    down: bool = False,
) -> str:
    """Answer, propose (source up), then make the source fail as asked, then approve."""
    submission_id = submit(runtime, issue(runtime, "contact-update", KEY), {"city": "Villeurbanne"})
    view = changes.propose(submission_id)
    if stop:
        source.stop()  # connection refused
    source.down = down  # up, but answering 503
    return changes.approve_all(view.id, actor="alice", version=view.version).id


def _message(runtime: Runtime) -> OutboxMessage:
    with runtime.sessions() as session:
        return session.execute(select(OutboxMessage)).scalar_one()


def test_source_down_during_apply_is_retried_and_applied_exactly_once(
    runtime: Runtime,
    source: RestSource,
    deliverer: OutboxDeliverer,
    changes: ChangeService,
    clock: ManualClock,
) -> None:
    change_set_id = _approved(runtime, changes, source, stop=True)
    message = _message(runtime)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.next_attempt_at == clock.now + dt.timedelta(seconds=10)
    assert "cannot be reached" in (message.last_error or "")
    assert changes.change_set(change_set_id).status is ChangeSetStatus.APPROVED
    assert deliverer.run_once() == {}  # not due yet
    clock.advance(seconds=10)
    source.start()
    source.down = True  # up, but answering 503
    assert deliverer.run_once() == {"retry": 1}
    assert _message(runtime).next_attempt_at == clock.now + dt.timedelta(seconds=20)
    source.down = False
    clock.advance(seconds=20)
    assert deliverer.run_once() == {"delivered": 1}
    assert source.records[KEY]["city"] == "Villeurbanne"
    assert source.patches == 1
    # Delivering again has no effect.
    assert deliverer.run_once() == {}
    assert deliverer.deliver(_message(runtime).id) is Delivery.NOTHING
    assert source.patches == 1
    view = changes.change_set(change_set_id)
    assert view.status is ChangeSetStatus.APPLIED
    assert view.outbox[0].attempts == 3 and view.outbox[0].delivered_at == clock.now


def test_dead_letter_after_n_attempts_then_requeued(
    runtime: Runtime,
    source: RestSource,
    deliverer: OutboxDeliverer,
    changes: ChangeService,
    clock: ManualClock,
) -> None:
    change_set_id = _approved(runtime, changes, source, down=True)
    for _ in range(3):
        clock.advance(hours=1)
        deliverer.run_once()
    message = _message(runtime)
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, 4)
    assert deliverer.dead_letters() == [message.id]
    view = changes.change_set(change_set_id)
    assert view.status is ChangeSetStatus.FAILED
    assert view.row("city").status is FieldChangeStatus.FAILED
    with runtime.sessions() as session:
        failed = session.execute(select(AuditEvent).where(AuditEvent.kind == "failed")).scalar_one()
        assert (failed.field, failed.actor, failed.after) == ("city", "outbox", "Villeurbanne")
    clock.advance(days=1)
    assert deliverer.run_once() == {}  # dead letters wait for a person
    source.down = False
    deliverer.requeue(message.id, actor="supervisor")
    assert changes.change_set(change_set_id).status is ChangeSetStatus.APPROVED
    assert deliverer.run_once() == {"delivered": 1}
    assert source.patches == 1 and source.records[KEY]["city"] == "Villeurbanne"
    assert changes.change_set(change_set_id).status is ChangeSetStatus.APPLIED


def test_redelivery_after_a_crash_has_no_duplicate_effect(
    runtime: Runtime,
    source: RestSource,
    deliverer: OutboxDeliverer,
    changes: ChangeService,
) -> None:
    change_set_id = _approved(runtime, changes, source, down=True)
    source.down = False
    message = _message(runtime)
    # The worker wrote to the source, then died before recording it.
    (write,) = message.writes.values()
    rest = deliverer.connectors["crm"]
    expected, new = write["expected"]["value"], write["new"]["value"]
    assert rest.apply("customer", KEY, {"city": FieldWrite(expected, new)}).applied
    assert source.patches == 1
    with runtime.sessions() as session, session.begin():
        stored = session.get(OutboxMessage, message.id)
        assert stored is not None
        stored.next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert deliverer.run_once() == {"delivered": 1}
    assert source.patches == 1  # recognised as done, not written twice
    assert changes.change_set(change_set_id).status is ChangeSetStatus.APPLIED
    with runtime.sessions() as session:
        applied = session.execute(
            select(AuditEvent).where(AuditEvent.kind == "applied")
        ).scalar_one()
        assert applied.detail["already"] is True


def test_a_write_between_read_and_patch_is_a_conflict(
    runtime: Runtime,
    source: RestSource,
    deliverer: OutboxDeliverer,
    changes: ChangeService,
    clock: ManualClock,
) -> None:
    change_set_id = _approved(runtime, changes, source, down=True)
    source.down = False
    source.change(KEY, city="Caluire")  # another system wrote: new ETag, new value
    clock.advance(minutes=1)
    assert deliverer.run_once() == {"conflict": 1}
    view = changes.change_set(change_set_id)
    assert view.status is ChangeSetStatus.CONFLICT
    city = view.row("city")
    assert (city.status, city.current) == (FieldChangeStatus.CONFLICT, "Caluire")
    assert source.records[KEY]["city"] == "Caluire" and source.patches == 0
    assert _message(runtime).status is OutboxStatus.CONFLICT


def test_forgotten_submissions_are_proposed_by_the_worker(
    runtime: Runtime, source: RestSource, deliverer: OutboxDeliverer, changes: ChangeService
) -> None:
    wanted = not crm_record(runtime, KEY)["consent_sms"]
    submit(runtime, issue(runtime, "consent-preferences", KEY), {"consent_sms": str(wanted)})
    assert changes.queue().total == 0  # the submission waits with no change set
    counts = outbox_round(deliverer, changes)
    assert counts["proposed"] == 1
    assert source.records[KEY]["consent_sms"] is wanted  # auto-applied over HTTP
    assert source.patches == 1
    assert outbox_round(deliverer, changes) == {}
    assert encode_raw(dt.date(2020, 1, 2)) == {"type": "date", "value": "2020-01-02"}


def test_cli_outbox_run_once(app: Flask, runtime: Runtime) -> None:
    runtime.intake.proposer = None  # as if the process died right after storing the answer
    wanted = not crm_record(runtime, KEY)["consent_sms"]
    submit(runtime, issue(runtime, "consent-preferences", KEY), {"consent_sms": str(wanted)})
    result = app.test_cli_runner().invoke(cli, ["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "outbox: 1 proposed" in result.output
    assert crm_record(runtime, KEY)["consent_sms"] is wanted
    again = app.test_cli_runner().invoke(cli, ["outbox", "run", "--once"])
    assert again.exit_code == 0 and "nothing due" in again.output


def test_jobs_propose_and_deliver_through_the_job_queue(runtime: Runtime) -> None:
    runtime.intake.proposer = None
    queue = CeleryJobQueue(
        make_celery({**runtime.settings, "JOBS_EAGER": True}, lambda: runtime, JOBS)
    )
    submission_id = submit(runtime, issue(runtime, "contact-update", KEY), {"city": "Bron"})
    queue.enqueue("changes.propose", submission_id)
    view = runtime.changes.change_set_of_submission(submission_id)
    later = ChangeService(runtime.sessions, runtime.definitions, runtime.connectors)  # no delivery
    later.approve_all(view.id, actor="alice", version=view.version)
    message = _message(runtime)
    assert message.status is OutboxStatus.PENDING
    queue.enqueue("changes.deliver", str(message.id))
    assert _message(runtime).status is OutboxStatus.DELIVERED
    assert crm_record(runtime, KEY)["city"] == "Bron"


class GatedConnector:
    """A connector that holds each write until the test lets it through, counting writes."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.name = inner.name
        self.entered = threading.Event()
        self.release = threading.Event()
        self.applies = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def apply(self, record_type: str, key: str, writes: Mapping[str, FieldWrite]) -> ApplyResult:
        self.applies += 1
        self.entered.set()
        self.release.wait(timeout=30)
        return self.inner.apply(record_type, key, writes)


def test_two_workers_deliver_one_message_once(runtime: Runtime) -> None:
    gated = GatedConnector(runtime.connectors["crm"])
    connectors: dict[str, Connector] = {"crm": gated}
    quiet = ChangeService(runtime.sessions, runtime.definitions, connectors)
    runtime.intake.proposer = None
    view = quiet.propose(submit(runtime, issue(runtime, "contact-update", KEY), {"city": "Bron"}))
    quiet.approve_all(view.id, actor="alice", version=view.version)
    workers = [OutboxDeliverer(runtime.sessions, connectors, runtime.definitions) for _ in "ab"]
    results: dict[int, dict[str, int]] = {}

    def work(number: int) -> None:
        results[number] = workers[number].run_once()

    first = threading.Thread(target=work, args=(0,))
    first.start()
    assert gated.entered.wait(timeout=30)  # the first worker holds the message
    second = threading.Thread(target=work, args=(1,))
    second.start()
    gated.release.set()
    first.join()
    second.join()
    assert results == {0: {"delivered": 1}, 1: {}}
    assert gated.applies == 1
    assert crm_record(runtime, KEY)["city"] == "Bron"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_deliverer_killed_mid_delivery_leaves_nothing_stranded(runtime: Runtime) -> None:
    """No "sending" state: a deliverer whose connection dies while it holds a message (its
    process killed, its backend terminated) leaves the message pending and due; the next
    round of another deliverer applies it once, with no sweep and no operator."""
    gated = GatedConnector(runtime.connectors["crm"])
    connectors: dict[str, Connector] = {"crm": gated}
    quiet = ChangeService(runtime.sessions, runtime.definitions, connectors)
    runtime.intake.proposer = None
    view = quiet.propose(submit(runtime, issue(runtime, "contact-update", KEY), {"city": "Bron"}))
    quiet.approve_all(view.id, actor="alice", version=view.version)
    doomed = OutboxDeliverer(runtime.sessions, connectors, runtime.definitions)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            doomed.run_once()
        except BaseException as exc:  # its connection is killed under it: asserted below
            failures.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert gated.entered.wait(timeout=30)  # it holds the message, in the middle of the write
    with runtime.engine.connect() as admin:
        (holder,) = admin.execute(
            text(
                "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE c.relname = 'outbox' AND l.mode = 'RowShareLock'"
                " AND l.pid <> pg_backend_pid()"
            )
        ).scalars()
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder}).scalar()
        admin.commit()
    gated.release.set()
    thread.join(timeout=60)
    assert len(failures) == 1 and isinstance(failures[0], OperationalError), failures
    stored = _message(runtime)
    assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, 0)  # rolled back: due
    survivor = OutboxDeliverer(runtime.sessions, connectors, runtime.definitions)
    assert survivor.run_once() == {"delivered": 1}
    assert survivor.run_once() == {}
    assert crm_record(runtime, KEY)["city"] == "Bron"
    assert (_message(runtime).status, _message(runtime).attempts) == (OutboxStatus.DELIVERED, 1)
    assert runtime.changes.change_set(view.id).status is ChangeSetStatus.APPLIED
