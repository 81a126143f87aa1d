"""The recovery sweep on the real databases: lost page jobs are sent again, each by one sweeper.

Several workers run the sweep at once (and an operator may run `mailroom requeue` meanwhile):
on PostgreSQL one round at a time holds the advisory lock, and the pages are claimed with
their rows locked (SKIP LOCKED), so a page is sent again once whoever runs at the same moment.
"""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select, update

from forms_service.intake.mailroom.service import Upload
from forms_service.jobs.sweeps import SweepRound, SweepSettings, sweep_lock, sweep_once
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent
from forms_service.storage.scans import PageStatus, ScanPage

#: Sent again after ten minutes; the lost pages below have waited an hour.
SETTINGS = SweepSettings(interval=60, after=600)


class Dropped:
    """A broker that accepts a message and loses it (flushed, restarted without persistence)."""

    def enqueue(self, job: str, *ids: str) -> None:
        """Lose the message."""


class Recording:
    """A broker that keeps what it is sent, from any thread."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def enqueue(self, job: str, *ids: str) -> None:
        """Keep the page id."""
        assert job == "mailroom.read_page"
        with self._lock:
            self.sent.extend(ids)


def _blank_png() -> bytes:
    output = io.BytesIO()
    Image.new("L", (200, 280), 255).save(output, format="PNG")
    return output.getvalue()


def _lost_pages(runtime: Runtime, count: int) -> list[str]:
    """`count` pages whose job messages were lost an hour ago; their ids."""
    working, runtime.mailroom.jobs = runtime.mailroom.jobs, Dropped()
    content = _blank_png()
    received = runtime.mailroom.receive(
        [Upload(f"scan-{n}.png", content) for n in range(count)], source="cli", actor="test"
    )
    runtime.mailroom.jobs = working
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(ScanPage)
            .where(ScanPage.batch_id == received.id)
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
        ids = list(
            session.execute(select(ScanPage.id).where(ScanPage.batch_id == received.id)).scalars()
        )
    assert len(ids) == count
    return ids


def _sweep(runtime: Runtime) -> SweepRound:
    return sweep_once(
        runtime.engine, lambda after: runtime.mailroom.recover(older_than=after), SETTINGS
    )


def _requeued_events(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        events = session.execute(
            select(AuditEvent).where(AuditEvent.kind == "scan_pages_requeued")
        ).scalars()
        return [int(event.detail["pages"]) for event in events]


@pytest.mark.parametrize("how", ["sweeps", "sweep and requeue command"])
def test_two_sweepers_at_once_send_each_lost_page_once(runtime: Runtime, how: str) -> None:
    lost = _lost_pages(runtime, 30)
    broker = Recording()
    runtime.mailroom.jobs = broker
    start = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def sweeper(index: int) -> None:
        try:
            start.wait(timeout=30)
            if index == 1 and how != "sweeps":  # an operator's `mailroom requeue`
                sent.append(runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10)))
            else:
                sent.append(_sweep(runtime).pages)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=sweeper, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(broker.sent) == sorted(lost)  # every page once, none twice
    assert sum(sent) == len(lost)
    # Stamped when sent: the next rounds leave them to the jobs just sent.
    assert _sweep(runtime) == SweepRound(swept=True)
    assert sum(_requeued_events(runtime)) == len(lost)
    with runtime.sessions() as session:
        statuses = set(
            session.execute(select(ScanPage.status).where(ScanPage.id.in_(lost))).scalars()
        )
    assert statuses == {PageStatus.QUEUED}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_sweep_skips_its_round_while_another_holds_the_lock(runtime: Runtime) -> None:
    lost = _lost_pages(runtime, 2)
    broker = Recording()
    runtime.mailroom.jobs = broker
    with sweep_lock(runtime.engine) as held:
        assert held
        assert _sweep(runtime) == SweepRound(swept=False)
        assert broker.sent == []
    # Released with the other sweeper's transaction: the next round does the work.
    assert _sweep(runtime) == SweepRound(swept=True, pages=2)
    assert sorted(broker.sent) == sorted(lost)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_pages_another_run_is_claiming_are_skipped_not_waited_for(runtime: Runtime) -> None:
    lost = _lost_pages(runtime, 3)
    broker = Recording()
    runtime.mailroom.jobs = broker
    with runtime.sessions() as other, other.begin():
        # Another run (the CLI, a sweep without the lock) holds one page's row.
        held = other.execute(
            select(ScanPage).where(ScanPage.id == lost[0]).with_for_update()
        ).scalar_one()
        assert runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10)) == 2
        assert sorted(broker.sent) == sorted(lost[1:])
        held.updated_at = dt.datetime.now(dt.UTC)  # that run sends it
    assert runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10)) == 0
    assert sorted(broker.sent) == sorted(lost[1:])


def _gauge(body: str, name: str) -> float:
    (line,) = [line for line in body.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def test_metrics_show_lost_pages_until_the_sweep_sends_them(
    client: FlaskClient, runtime: Runtime
) -> None:
    body = client.get("/metrics").text
    assert _gauge(body, "forms_mailroom_pages_waiting") == 0
    assert _gauge(body, "forms_mailroom_oldest_waiting_seconds") == 0

    _lost_pages(runtime, 2)
    body = client.get("/metrics").text
    assert _gauge(body, "forms_mailroom_pages_waiting") == 2
    assert _gauge(body, "forms_mailroom_oldest_waiting_seconds") >= 3600  # lost an hour ago

    runtime.mailroom.jobs = Recording()
    assert _sweep(runtime).pages == 2
    body = client.get("/metrics").text
    assert _gauge(body, "forms_mailroom_pages_waiting") == 2  # sent again, not read yet
    assert _gauge(body, "forms_mailroom_oldest_waiting_seconds") < 3600
