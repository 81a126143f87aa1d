"""Sending a campaign: channel choice, the row before the send, reports, fallback, retries."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from forms_service.core.errors import InvalidInput
from forms_service.delivery.campaigns import CampaignOptions, parse_channels
from forms_service.delivery.interfaces import (
    Channel,
    DeliveryReport,
    ForgedReport,
    PermanentFailure,
    Purpose,
    ReportStatus,
    TemporaryFailure,
)
from forms_service.delivery.reminders import DeliverySweep
from forms_service.runtime import Runtime
from forms_service.storage.events import DocumentEvent, EventKind, record_event
from forms_service.storage.messages import Message, MessageStatus
from tests.integration.delivery_support import REACHABLE, Delivery, edit_crm

KEYS = [f"C{n:06d}" for n in range(1, 7)]


@pytest.fixture
def delivery(runtime: Runtime, crm_url: str) -> Delivery:
    for key in KEYS:
        edit_crm(crm_url, key, **REACHABLE)
    return Delivery(runtime)


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_dry_run_counts_channels_and_reasons_and_writes_nothing(
    delivery: Delivery, runtime: Runtime, crm_url: str
) -> None:
    delivery.issue(KEYS)
    edit_crm(crm_url, KEYS[1], preferred_channel="sms")
    edit_crm(crm_url, KEYS[2], email="not an address", preferred_channel="email")
    edit_crm(crm_url, KEYS[3], email=None, phone="01 45 67 89 10", preferred_channel="email")
    edit_crm(crm_url, KEYS[4], email=None, phone=None, address_line=None)
    events_before = _count(runtime, DocumentEvent)
    plan = delivery.service.send_campaign("spring", dry_run=True)
    assert plan.channels == {"email": 2, "sms": 2, "letter": 1}
    assert plan.unreachable == {"no_email": 1}
    assert plan.skipped["email:invalid_email"] == 1
    assert plan.skipped["sms:not_mobile"] == 1
    assert plan.documents == 6
    assert _count(runtime, Message) == 0
    assert _count(runtime, DocumentEvent) == events_before
    assert delivery.jobs.jobs == []
    assert delivery.email.sent == delivery.sms.sent == []


def test_row_is_written_before_the_send_and_sent_once(delivery: Delivery) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    plan = delivery.service.send_campaign("spring")
    assert plan.channels == {"email": 1}
    (message,) = delivery.messages(document_id)
    assert message.status is MessageStatus.QUEUED
    assert message.recipient == "anne.martin@example.org"
    assert len(message.id) == 32 and int(message.id, 16) >= 0
    seen: list[MessageStatus] = []
    original = delivery.email.send

    def watching(outgoing):  # type: ignore[no-untyped-def]
        seen.append(delivery.messages(document_id)[0].status)  # committed before the send
        return original(outgoing)

    delivery.email.send = watching  # type: ignore[method-assign]
    assert delivery.run_jobs() == ["sent"]
    assert seen == [MessageStatus.SENDING]
    # The same job again (a redelivered Celery message): nothing sent twice.
    assert delivery.service.send_message(message.id) == "not_queued:sent"
    assert len(delivery.email.sent) == 1
    (sent,) = delivery.messages(document_id)
    assert sent.status is MessageStatus.SENT
    assert sent.provider_ref == f"<{sent.id}@test>"
    assert sent.attempts == 1
    kinds = [e.kind for e in delivery.events(document_id)]
    assert kinds == [EventKind.SENT]
    # A rerun of the campaign resumes: nothing queued twice.
    again = delivery.service.send_campaign("spring")
    assert again.already == 1 and not again.channels


def test_preferred_channel_first_and_a_forced_order(delivery: Delivery, crm_url: str) -> None:
    first, second = delivery.issue(KEYS[:2])
    edit_crm(crm_url, KEYS[1], preferred_channel="post")
    delivery.service.send_campaign("spring")
    assert delivery.messages(first)[0].channel == "email"
    assert delivery.messages(second)[0].channel == "letter"
    delivery.issue(KEYS[:2], campaign="forced")
    forced = CampaignOptions(channels=(Channel.SMS,), force=True)
    plan = delivery.service.send_campaign("forced", forced)
    assert plan.channels == {"sms": 2}


def test_invalid_address_is_unreachable_with_reason_and_next_channel_used(
    delivery: Delivery, crm_url: str
) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    edit_crm(crm_url, KEYS[0], email="anne@@example")
    delivery.service.send_campaign("spring")
    rows = {m.channel: m for m in delivery.messages(document_id)}
    assert rows["email"].status is MessageStatus.UNREACHABLE
    assert rows["email"].reason == "invalid_email"
    assert rows["sms"].status is MessageStatus.QUEUED
    assert rows["sms"].recipient == "+33612345678"
    (event,) = delivery.events(document_id)
    assert event.kind is EventKind.UNREACHABLE
    assert event.channel == "email" and event.detail["reason"] == "invalid_email"
    assert "anne" not in str(event.detail)  # codes, never the value
    assert delivery.run_jobs() == ["sent"]
    assert [m.to for m in delivery.sms.sent] == ["+33612345678"]


def test_no_usable_channel_marks_the_document_unreachable(delivery: Delivery, crm_url: str) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    edit_crm(crm_url, KEYS[0], consent_email=False, consent_sms=False, address_line="")
    plan = delivery.service.send_campaign("spring")
    assert plan.unreachable == {"not_opted_in": 1}
    events = delivery.events(document_id)
    assert [(e.channel, e.detail["reason"]) for e in events] == [
        ("email", "not_opted_in"),
        ("sms", "not_opted_in"),
        ("letter", "no_address"),
        (None, "no_channel_left"),
    ]
    assert delivery.jobs.jobs == []


def test_hard_bounce_falls_back_to_the_next_channel_once(delivery: Delivery) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    delivery.run_jobs()
    (email,) = delivery.messages(document_id)
    bounce = DeliveryReport(
        email.id, Channel.EMAIL, ReportStatus.HARD_BOUNCE, delivery.clock(), code="5.1.1"
    )
    delivery.service.record_report(bounce)
    assert delivery.jobs.jobs == [("delivery.fallback", email.id)]
    assert delivery.run_jobs() == ["fallback:sms", "sent"]
    # The same bounce again, and the fallback job again: nothing more.
    delivery.service.record_report(bounce)
    assert delivery.service.fall_back(email.id) == "already_fallen_back"
    rows = {m.channel: m for m in delivery.messages(document_id)}
    assert rows["email"].status is MessageStatus.FAILED and rows["email"].reason == "5.1.1"
    assert rows["sms"].status is MessageStatus.SENT
    events = delivery.events(document_id)
    assert [e.kind for e in events] == [
        EventKind.SENT,
        EventKind.BOUNCED,
        EventKind.FALLBACK,
        EventKind.SENT,
    ]
    fallback = events[2]
    assert fallback.detail["from"] == "email" and fallback.detail["to"] == "sms"
    assert fallback.detail["reason"] == "5.1.1"
    # The SMS is delivered: its history says so.
    delivery.service.record_report(
        DeliveryReport(rows["sms"].id, Channel.SMS, ReportStatus.DELIVERED, delivery.clock())
    )
    assert {m.channel: m.status for m in delivery.messages(document_id)}[
        "sms"
    ] is MessageStatus.DELIVERED
    assert delivery.events(document_id)[-1].kind is EventKind.DELIVERED


def test_a_bounce_that_comes_during_the_hand_over_follows_it_in_the_history(
    delivery: Delivery,
) -> None:
    """A relay may bounce before the worker records its group: one `sent`, then the bounce."""
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    original = delivery.email.send

    def bounced_at_once(outgoing):  # type: ignore[no-untyped-def]
        result = original(outgoing)
        # Dated by the relay's clock, to the second: before our own time of the hand-over.
        at = delivery.clock().replace(microsecond=0) - dt.timedelta(seconds=1)
        report = DeliveryReport(
            outgoing.message_id, Channel.EMAIL, ReportStatus.HARD_BOUNCE, at, code="5.1.1"
        )
        delivery.service.record_report(report)
        return result

    delivery.email.send = bounced_at_once  # type: ignore[method-assign]
    assert delivery.run_jobs()[0] == "sent"
    delivery.email.send = original  # type: ignore[method-assign]
    delivery.run_jobs()
    rows = {m.channel: m for m in delivery.messages(document_id)}
    assert rows["email"].status is MessageStatus.FAILED
    assert rows["email"].provider_ref  # the hand-over's reference is kept all the same
    assert rows["sms"].status is MessageStatus.SENT
    events = delivery.events(document_id)
    assert [(e.kind, e.channel) for e in events] == [
        (EventKind.SENT, "email"),
        (EventKind.BOUNCED, "email"),
        (EventKind.FALLBACK, "sms"),
        (EventKind.SENT, "sms"),
    ]
    assert events[0].at <= events[1].at


def test_forged_report_is_refused_and_changes_nothing(delivery: Delivery) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    delivery.run_jobs()
    (email,) = delivery.messages(document_id)
    at = delivery.clock()
    with pytest.raises(ForgedReport):
        delivery.service.record_report(
            DeliveryReport("0" * 32, Channel.EMAIL, ReportStatus.HARD_BOUNCE, at)
        )
    with pytest.raises(ForgedReport):  # the right id on the wrong channel
        delivery.service.record_report(
            DeliveryReport(email.id, Channel.SMS, ReportStatus.HARD_BOUNCE, at)
        )
    assert delivery.messages(document_id)[0].status is MessageStatus.SENT
    assert [e.kind for e in delivery.events(document_id)] == [EventKind.SENT]


def test_permanent_failure_at_send_falls_back(delivery: Delivery) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.email.refuse["anne.martin@example.org"] = PermanentFailure("550 no such user")
    delivery.service.send_campaign("spring")
    assert delivery.run_jobs() == ["failed", "fallback:sms", "sent"]
    kinds = [e.kind for e in delivery.events(document_id)]
    assert kinds == [EventKind.FAILED, EventKind.FALLBACK, EventKind.SENT]


def test_temporary_failure_retries_with_back_off_then_dead_letters(
    runtime: Runtime, crm_url: str
) -> None:
    edit_crm(crm_url, KEYS[0], **REACHABLE)
    delivery = Delivery(runtime, max_attempts=3, first_retry_delay=dt.timedelta(seconds=60))
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.email.refuse["anne.martin@example.org"] = TemporaryFailure("relay down")
    delivery.service.send_campaign("spring")
    assert delivery.run_jobs() == ["retry"]
    (message,) = delivery.messages(document_id)
    assert message.status is MessageStatus.QUEUED
    assert message.next_attempt_at == delivery.clock() + dt.timedelta(seconds=60)
    sweep = DeliverySweep(delivery.service)
    # Not due yet: the sweep leaves it, a stray job does not send it.
    assert delivery.service.send_message(message.id) == "not_due"
    delivery.clock.advance(seconds=61)
    assert sweep.run()["requeued"] == 1
    assert delivery.run_jobs() == ["retry"]
    assert delivery.messages(document_id)[0].next_attempt_at == delivery.clock() + dt.timedelta(
        seconds=120
    )
    delivery.clock.advance(seconds=121)
    sweep.run()
    assert delivery.run_jobs() == ["dead_lettered"]
    (dead,) = delivery.messages(document_id)
    assert dead.status is MessageStatus.FAILED and dead.attempts == 3
    assert dead.reason == "gave_up_after_3_attempts"
    assert delivery.events(document_id)[-1].kind is EventKind.FAILED
    # The relay is back: the dead letter is not resent by the sweep.
    del delivery.email.refuse["anne.martin@example.org"]
    delivery.clock.advance(hours=2)
    sweep.run()
    assert delivery.run_jobs() == []
    assert delivery.email.sent == []


def test_a_send_left_unfinished_becomes_unknown_and_is_never_resent(delivery: Delivery) -> None:
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    (message,) = delivery.messages(document_id)
    with delivery.runtime.sessions() as session, session.begin():
        row = session.get_one(Message, message.id)
        row.status, row.sending_at, row.attempts = MessageStatus.SENDING, delivery.clock(), 1
    delivery.jobs.jobs.clear()
    delivery.clock.advance(minutes=11)
    assert DeliverySweep(delivery.service).run()["unknown"] == 1
    assert delivery.service.send_message(message.id) == "not_queued:unknown"
    assert delivery.email.sent == []
    # A delivery report proves it went out after all.
    delivery.service.record_report(
        DeliveryReport(message.id, Channel.EMAIL, ReportStatus.DELIVERED, delivery.clock())
    )
    assert delivery.messages(document_id)[0].status is MessageStatus.DELIVERED
    # Its history says it went out (when the hand-over began), then that it arrived.
    assert [e.kind for e in delivery.events(document_id)] == [EventKind.SENT, EventKind.DELIVERED]


def test_bad_channel_names_are_refused() -> None:
    assert parse_channels("sms, email") == (Channel.SMS, Channel.EMAIL)
    with pytest.raises(InvalidInput, match="pigeon"):
        parse_channels("email,pigeon")
    with pytest.raises(InvalidInput):
        CampaignOptions(reminders=(21, 7))


def test_commercial_messages_to_an_opted_out_customer_are_suppressed(delivery: Delivery) -> None:
    first, second = delivery.issue(KEYS[:2])
    with delivery.runtime.sessions() as session, session.begin():
        record_event(session, first, EventKind.OPTED_OUT, at=delivery.clock())
    delivery.service.send_campaign("spring", CampaignOptions(purpose=Purpose.COMMERCIAL))
    assert sorted(delivery.run_jobs()) == ["sent", "suppressed"]
    suppressed = delivery.messages(first)[0]
    assert suppressed.status is MessageStatus.SUPPRESSED and suppressed.reason == "opted_out"
    assert [m.to for m in delivery.email.sent] == ["anne.martin@example.org"]
    assert delivery.messages(second)[0].status is MessageStatus.SENT
