"""Real Celery workers send: the rate holds across two of them, and a worker killed with
SIGKILL mid-batch loses nothing and sends nothing twice once another one takes over.

The workers are `celery -A forms_service.runtime.celery_app worker` processes configured through
FORMS_* variables (the test app's database, var directory and secrets; the filesystem broker);
they send over SMTP to the local mail server of `make run` (aiosmtpd, in the test's process),
whose index of what it received (var/mail/index.jsonl) is the relay's own log that the test
reconciles the message rows with.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forms_service.connectors.interfaces import Selection
from forms_service.delivery.interfaces import Channel, DeliveryReport, ReportStatus
from forms_service.delivery.local_mail import LocalMailServer, MailDirectory
from forms_service.delivery.model import DeliverySettings
from forms_service.delivery.reminders import DeliverySweep
from forms_service.delivery.service import DeliveryService
from forms_service.jobs.service import CeleryJobQueue
from forms_service.runtime import Runtime
from forms_service.runtime.delivery import transport_providers
from forms_service.storage.messages import Message, MessageStatus
from tests.delivery_servers import free_port
from tests.integration.delivery_support import REACHABLE, PlainRenderer, edit_crm, worker_process

pytestmark = pytest.mark.slow

PATIENCE_SECONDS = 120
RATE = 10.0
#: Messages a send job takes: 30 make two jobs (one for each worker), a kill after a dozen
#: sends cuts the first batch short.
BATCH = 16
#: Messages a worker takes and records in one transaction: a kill leaves at most two groups
#: `sending` (the one with the provider, the one taken next).
RECORD_EVERY = 3


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[LocalMailServer]:
    """The local SMTP server of `make run`, writing the test app's var/mail/."""
    with LocalMailServer(tmp_path / "var" / "mail", port=free_port()) as server:
        yield server


@pytest.fixture
def app_settings(app_settings: dict[str, Any], relay: LocalMailServer) -> dict[str, Any]:
    """The test app only queues (the filesystem broker under its var directory)."""
    return {
        **app_settings,
        "JOBS_EAGER": False,
        "DELIVERY_EMAIL_RATE": RATE,
        "DELIVERY_BATCH_SIZE": BATCH,
        "DELIVERY_RECORD_EVERY": RECORD_EVERY,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_PORT": relay.port,
    }


def _sink(runtime: Runtime) -> list[dict[str, Any]]:
    """What the relay received: the message id (from the VERP envelope sender) and when."""
    received = MailDirectory(runtime.settings.var_dir / "mail").entries()
    return [
        {"message_id": entry.mail_from.partition("+")[2].partition("@")[0], "at": entry.received_at}
        for entry in received
    ]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def _rows(runtime: Runtime) -> list[Message]:
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Message).where(Message.channel == "email")))
        session.expunge_all()
        return rows


def _campaign(runtime: Runtime, crm_url: str, count: int) -> None:
    keys = [f"C{n:06d}" for n in range(1, count + 1)]
    for key in keys:
        edit_crm(crm_url, key, **REACHABLE)
    list(runtime.issuing.issue("contact-update", Selection(keys=tuple(keys)), "spring"))


def _close(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, CeleryJobQueue)
    runtime.jobs.app.close()


def test_two_workers_together_keep_the_channel_rate(
    app_settings: dict[str, Any], runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    count = 30
    _campaign(runtime, crm_url, count)
    with (
        worker_process(app_settings, tmp_path / "one.log"),
        worker_process(app_settings, tmp_path / "two.log"),
    ):
        runtime.delivery.send_campaign("spring")
        _wait_for(lambda: len(_sink(runtime)) >= count, f"{count} e-mails")
    _close(runtime)
    sent = _sink(runtime)
    assert len({line["message_id"] for line in sent}) == count == len(sent)
    moments = sorted(dt.datetime.fromisoformat(line["at"]).timestamp() for line in sent)
    # 30 at 10 a second: the last about 2.9 s after the first, whatever the workers (the
    # slots are exact; the relay's clock is read on receipt, a render and a hand-over later).
    assert moments[-1] - moments[0] >= (count - 1) / RATE - 0.3
    # No one-second window holds more than the rate (one slot of slack for the edges).
    for i, start in enumerate(moments):
        within = [m for m in moments[i:] if m < start + 1.0]
        assert len(within) <= RATE + 1
    # Both workers sent.
    for log in ("one.log", "two.log"):
        assert (
            "succeeded" in (tmp_path / log).read_text() and "'sent'" in (tmp_path / log).read_text()
        )


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    app_settings: dict[str, Any], runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    count = 40
    _campaign(runtime, crm_url, count)
    log = tmp_path / "worker.log"
    with worker_process(app_settings, log) as first:
        runtime.delivery.send_campaign("spring")
        _wait_for(lambda: len(_sink(runtime)) >= 12, "a dozen e-mails")
        first.kill()  # SIGKILL: no chance to record anything
        first.wait()
    killed_at = len(_sink(runtime))
    assert killed_at < count, "the batch ended before the kill"
    # The take-over: a sweep (as the workers run it) marks a send cut short unknown and hands
    # the queued messages whose jobs were lost to jobs again; a new worker sends them.
    sweep = DeliverySweep(
        DeliveryService(
            runtime.sessions,
            runtime.definitions,
            runtime.connectors,
            runtime.issuing,
            PlainRenderer(runtime.definitions),
            *transport_providers(runtime.settings),
            runtime.jobs,
            settings=DeliverySettings(
                sending_timeout=dt.timedelta(seconds=0), requeue_after=dt.timedelta(0)
            ),
        )
    )
    time.sleep(0.01)
    swept = sweep.run()
    with worker_process(app_settings, log):
        _wait_for(
            lambda: all(
                m.status not in (MessageStatus.QUEUED, MessageStatus.SENDING)
                for m in _rows(runtime)
            ),
            "every message sent or settled",
        )
    _close(runtime)
    sent = _sink(runtime)
    handed = Counter(line["message_id"] for line in sent)
    assert max(handed.values()) == 1, "a message was sent twice"
    rows = {m.id: m for m in _rows(runtime)}
    assert len(rows) == count
    unknown = {i for i, m in rows.items() if m.status is MessageStatus.UNKNOWN}
    # At most the two groups the kill found `sending`, never resent blindly.
    assert len(unknown) <= 2 * RECORD_EVERY and swept.get("unknown", 0) == len(unknown)
    for message_id, row in rows.items():
        if row.status is MessageStatus.SENT:
            assert message_id in handed  # recorded sent: the gateway has it
    assert set(handed) <= set(rows)  # the gateway has nothing the service does not know
    # The gateway's reports come back: delivered for most, three hard bounces.
    bounced = sorted(handed)[:3]
    for message_id in handed:
        status = ReportStatus.HARD_BOUNCE if message_id in bounced else ReportStatus.DELIVERED
        runtime.delivery.record_report(
            DeliveryReport(message_id, Channel.EMAIL, status, dt.datetime.now(dt.UTC))
        )
    final = Counter(m.status for m in _rows(runtime))
    pending = final[MessageStatus.UNKNOWN]  # cut short before the gateway took it
    # sent (what the gateway's log holds) = delivered + failed + pending, nothing twice.
    assert len(handed) == final[MessageStatus.DELIVERED] + final[MessageStatus.FAILED]
    assert count == final[MessageStatus.DELIVERED] + final[MessageStatus.FAILED] + pending
    assert final[MessageStatus.FAILED] == 3
