"""A campaign sent as `delivery.send_batch` jobs: each message once, a crash mid-batch resends
nothing, a temporary failure retries only its own message."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from forms_service.delivery.gating import CLEARED, claim_batch
from forms_service.delivery.interfaces import TemporaryFailure
from forms_service.delivery.model import DeliverySettings
from forms_service.delivery.reminders import DeliverySweep
from forms_service.runtime import Runtime
from forms_service.storage.events import EventKind
from forms_service.storage.messages import MessageStatus
from forms_service.storage.pressure import ContactPressure
from tests.integration.delivery_support import REACHABLE, Delivery, edit_crm

KEYS = [f"C{n:06d}" for n in range(1, 6)]


def _address(key: str) -> str:
    return f"{key.lower()}@example.org"


@pytest.fixture
def delivery(runtime: Runtime, crm_url: str) -> Delivery:
    for key in KEYS:
        edit_crm(crm_url, key, **{**REACHABLE, "email": _address(key)})
    return Delivery(runtime, batch_size=3)


def _handed(delivery: Delivery) -> Counter[str]:
    return Counter(m.message_id for m in delivery.email.sent)


def test_a_campaign_is_queued_in_batches_and_each_message_sent_once(delivery: Delivery) -> None:
    documents = delivery.issue(KEYS)
    delivery.service.send_campaign("spring")
    jobs = [(job, len(ids)) for job, *ids in delivery.jobs.jobs]
    assert jobs == [("delivery.send_batch", 3), ("delivery.send_batch", 2)]
    batches = [ids for _, *ids in delivery.jobs.jobs]
    assert delivery.run_jobs() == ["sent"] * 5
    assert sorted(_handed(delivery).values()) == [1] * 5
    rows = delivery.messages()
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert all(m.attempts == 1 and m.provider_ref for m in rows)
    for document_id in documents:
        assert [e.kind for e in delivery.events(document_id)] == [EventKind.SENT]
    # The same jobs again (a broker's redelivery): nothing is sent twice.
    again = delivery.service.send_batch(batches[0])
    assert set(again.values()) == {"not_queued:sent"}
    assert len(delivery.email.sent) == 5


class WorkerKilled(BaseException):
    """What a SIGKILL looks like to the batch: no handler of the batch's code runs."""


def test_a_crash_mid_batch_then_the_sweep_sends_none_twice(delivery: Delivery) -> None:
    delivery.issue(KEYS[:3])
    delivery.service.send_campaign("spring")
    ((_, *batch),) = delivery.jobs.jobs
    delivery.jobs.jobs.clear()
    rows = {m.id: m for m in delivery.messages()}
    second = rows[batch[1]].recipient
    # The worker dies while the provider has the second message: claimed, not recorded.
    delivery.email.refuse[second] = WorkerKilled()  # type: ignore[assignment]
    with pytest.raises(WorkerKilled):
        delivery.service.send_batch(batch)
    status = {m.id: m.status for m in delivery.messages()}
    assert status == {
        batch[0]: MessageStatus.SENT,
        batch[1]: MessageStatus.SENDING,  # its outcome is unknown
        batch[2]: MessageStatus.QUEUED,  # never taken: sent by the next job
    }
    del delivery.email.refuse[second]
    delivery.clock.advance(minutes=11)
    swept = DeliverySweep(delivery.service).run()
    assert swept["unknown"] == 1 and swept["requeued"] == 1
    assert delivery.run_jobs() == ["sent"]
    # The job of the whole batch again (its redelivery after the crash) sends nothing.
    assert delivery.service.send_batch(batch) == {
        batch[0]: "not_queued:sent",
        batch[1]: "not_queued:unknown",
        batch[2]: "not_queued:sent",
    }
    assert _handed(delivery) == {batch[0]: 1, batch[2]: 1}
    with delivery.runtime.sessions() as session:
        counted = Counter(session.scalars(select(ContactPressure.message_id)))
    assert all(counted[i] <= 1 for i in batch)


def test_a_crash_after_the_claim_leaves_the_batch_queued_and_counted_once(
    delivery: Delivery,
) -> None:
    delivery.issue(KEYS[:3])
    delivery.service.send_campaign("spring")
    ((_, *batch),) = delivery.jobs.jobs
    delivery.jobs.jobs.clear()
    service = delivery.service
    cleared = claim_batch(service.sessions, service.definitions, service.gate, batch, service.clock)
    assert set(cleared.values()) == {CLEARED}
    assert {m.status for m in delivery.messages()} == {MessageStatus.QUEUED}
    # The worker died before any hand-over: the job's redelivery sends each once.
    assert list(service.send_batch(batch).values()) == ["sent"] * 3
    assert sorted(_handed(delivery).values()) == [1] * 3


def test_one_temporary_failure_in_a_batch_retries_only_that_message(
    runtime: Runtime, crm_url: str
) -> None:
    for key in KEYS[:3]:
        edit_crm(crm_url, key, **{**REACHABLE, "email": _address(key)})
    delivery = Delivery(runtime, batch_size=3, first_retry_delay=dt.timedelta(seconds=60))
    delivery.issue(KEYS[:3])
    delivery.service.send_campaign("spring")
    ((_, *batch),) = delivery.jobs.jobs
    rows = {m.id: m for m in delivery.messages()}
    delivery.email.refuse[rows[batch[1]].recipient] = TemporaryFailure("421 try later")
    assert delivery.run_jobs() == ["sent", "retry", "sent"]
    retried = {m.id: m for m in delivery.messages()}[batch[1]]
    assert retried.status is MessageStatus.QUEUED and retried.reason == "delivery_temporary_failure"
    assert retried.next_attempt_at == delivery.clock() + dt.timedelta(seconds=60)
    delivery.email.refuse.clear()
    delivery.clock.advance(seconds=61)
    assert DeliverySweep(delivery.service).run()["requeued"] == 1
    assert delivery.jobs.jobs == [("delivery.send", batch[1])]
    assert delivery.run_jobs() == ["sent"]
    assert _handed(delivery) == dict.fromkeys(batch, 1)
    assert {m.id: m.attempts for m in delivery.messages()} == {
        batch[0]: 1,
        batch[1]: 2,
        batch[2]: 1,
    }


def test_a_batch_reserves_its_slots_at_the_channel_rate(delivery: Delivery) -> None:
    delivery.issue(KEYS[:3])
    service = delivery.service
    service.settings = DeliverySettings(batch_size=3, rates={"email": 2.0})
    slept: list[float] = []
    moments = iter([1000.0] * 20)
    service.rate.now = lambda: next(moments)
    service.rate.sleep = slept.append
    service.send_campaign("spring")
    assert delivery.run_jobs() == ["sent"] * 3
    # Three slots half a second apart, reserved in one transaction, waited for one by one.
    assert slept == [0.5, 1.0]


def test_a_message_that_cannot_be_rendered_fails_alone_and_the_batch_goes_on(
    runtime: Runtime, crm_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in KEYS[:3]:
        edit_crm(crm_url, key, **{**REACHABLE, "email": _address(key)})
    delivery = Delivery(runtime, batch_size=3)
    delivery.issue(KEYS[:3])
    delivery.service.send_campaign("spring")
    ((_, *batch),) = delivery.jobs.jobs
    render = delivery.service.render

    def broken(message: Any, document: Any, record: Any, link: Any) -> Any:
        if message.id == batch[1]:
            raise KeyError("a placeholder the record lacks")
        return render(message, document, record, link)

    monkeypatch.setattr(delivery.service, "render", broken)
    assert delivery.service.send_batch(batch) == {
        batch[0]: "sent",
        batch[1]: "failed",
        batch[2]: "sent",
    }
    rows = {m.id: m for m in delivery.messages()}
    assert rows[batch[1]].status is MessageStatus.FAILED
    assert rows[batch[1]].reason == "not_rendered"
    assert _handed(delivery) == {batch[0]: 1, batch[2]: 1}
