"""Reminders: due after N days on the same or the next channel, never once an answer exists."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.interfaces import Channel
from forms_service.delivery.reminders import DeliverySweep
from forms_service.runtime import Runtime
from forms_service.storage.events import EventKind
from forms_service.storage.messages import MessageStatus
from forms_service.storage.model import Document
from forms_service.storage.scans import BatchStatus, PageStatus, ScanBatch, ScanFile, ScanPage
from tests.integration.changes_support import submit
from tests.integration.delivery_support import REACHABLE, Delivery, edit_crm

KEY = "C000001"


@pytest.fixture
def delivery(runtime: Runtime, crm_url: str) -> Delivery:
    edit_crm(crm_url, KEY, **REACHABLE)
    return Delivery(runtime)


def _sent(delivery: Delivery, remind_channel: str = "same") -> str:
    (document_id,) = delivery.issue([KEY])
    options = CampaignOptions(reminders=(7, 21), remind_channel=remind_channel)
    delivery.service.send_campaign("spring", options)
    assert delivery.run_jobs() == ["sent"]
    return document_id


def _document(delivery: Delivery, document_id: str) -> Document:
    with delivery.runtime.sessions() as session:
        document = session.get_one(Document, document_id)
        session.expunge(document)
        return document


def test_reminders_go_out_when_due_on_the_same_channel(delivery: Delivery) -> None:
    document_id = _sent(delivery)
    sweep = DeliverySweep(delivery.service)
    delivery.clock.advance(days=6, hours=23)
    assert "reminders" not in sweep.run()
    delivery.clock.advance(hours=1)
    assert sweep.run()["reminders"] == 1
    assert sweep.run().get("reminders") is None  # queued once
    assert delivery.run_jobs() == ["sent"]
    delivery.clock.advance(days=14)
    assert sweep.run()["reminders"] == 1
    delivery.run_jobs()
    delivery.clock.advance(days=30)
    assert not sweep.run()  # two reminders: no third
    rows = delivery.messages(document_id)
    assert [(m.reminder, m.channel, m.status) for m in rows] == [
        (0, "email", MessageStatus.SENT),
        (1, "email", MessageStatus.SENT),
        (2, "email", MessageStatus.SENT),
    ]
    kinds = [e.kind for e in delivery.events(document_id)]
    assert kinds == [EventKind.SENT, EventKind.REMINDER_SENT, EventKind.REMINDER_SENT]
    assert [m.to for m in delivery.email.sent] == ["anne.martin@example.org"] * 3


def test_a_reminder_on_the_next_channel(delivery: Delivery) -> None:
    document_id = _sent(delivery, remind_channel="next")
    delivery.clock.advance(days=7)
    DeliverySweep(delivery.service).run()
    delivery.run_jobs()
    assert [m.channel for m in delivery.messages(document_id)] == ["email", "sms"]
    assert delivery.sms.sent[0].to == "+33612345678"


def test_no_reminder_after_an_online_answer(delivery: Delivery) -> None:
    document_id = _sent(delivery)
    submit(delivery.runtime, _document(delivery, document_id), {"city": "Lyon"})
    delivery.clock.advance(days=8)
    assert DeliverySweep(delivery.service).run() == {"withheld:answered": 1}
    assert len(delivery.messages(document_id)) == 1


def test_no_reminder_while_a_scanned_page_waits_in_the_mailroom(delivery: Delivery) -> None:
    document_id = _sent(delivery)
    now = delivery.clock()
    with delivery.runtime.sessions() as session, session.begin():
        batch = ScanBatch(
            id=secrets.token_hex(16),
            source="upload",
            actor="clerk",
            status=BatchStatus.PROCESSING,
            pages_total=1,
            created_at=now,
        )
        session.add(batch)
        session.flush()
        file = ScanFile(
            batch_id=batch.id,
            position=0,
            filename="scan.png",
            media_type="image/png",
            content_key="k" * 64,
            size=1,
            pages=1,
        )
        session.add(file)
        session.flush()
        session.add(
            ScanPage(
                id=secrets.token_hex(16),
                batch_id=batch.id,
                file_id=file.id,
                file_page=0,
                sequence=1,
                status=PageStatus.READ,
                document_id=document_id,
                form_page=1,
                updated_at=now,
            )
        )
    delivery.clock.advance(days=8)
    assert DeliverySweep(delivery.service).run() == {"withheld:answered": 1}


def test_no_reminder_once_the_link_expired_or_was_revoked(delivery: Delivery, crm_url: str) -> None:
    document_id = _sent(delivery)
    delivery.runtime.issuing.revoke(document_id, actor="test")
    delivery.clock.advance(days=8)
    assert DeliverySweep(delivery.service).run() == {"withheld:closed": 1}
    # Another document whose link expires (60 days) before its 2nd reminder would be due.
    edit_crm(crm_url, "C000002", **REACHABLE)
    (other,) = delivery.issue(["C000002"], campaign="late")
    options = CampaignOptions(reminders=(7, 90))
    delivery.service.send_campaign("late", options)
    delivery.run_jobs()
    delivery.clock.advance(days=91)
    counts = DeliverySweep(delivery.service).run()
    assert counts["withheld:closed"] == 2
    assert [m.reminder for m in delivery.messages(other)] == [0]


def test_no_reminder_once_the_source_holds_confirmed_values(
    delivery: Delivery, crm_url: str
) -> None:
    document_id = _sent(delivery)
    # The call centre corrected the e-mail since the letter went out: confirmed elsewhere.
    edit_crm(crm_url, KEY, email="anne.martin@example.net")
    delivery.clock.advance(days=7)
    assert DeliverySweep(delivery.service).run() == {"withheld:source_confirms": 1}
    # A field the form asks to confirm that the source lacks: the form is still needed.
    edit_crm(crm_url, KEY, phone=None)
    assert DeliverySweep(delivery.service).run()["reminders"] == 1
    assert [m.reminder for m in delivery.messages(document_id)] == [0, 1]


def test_unchanged_source_does_not_stop_reminders(delivery: Delivery) -> None:
    document_id = _sent(delivery)
    delivery.clock.advance(days=7)
    assert DeliverySweep(delivery.service).run() == {"reminders": 1}
    assert delivery.messages(document_id)[1].channel == Channel.EMAIL.value


def test_a_form_without_the_flag_reminds_whatever_the_source_holds(
    delivery: Delivery, crm_url: str
) -> None:
    (document_id,) = delivery.issue([KEY], form="bank-details")
    delivery.service.send_campaign("spring", CampaignOptions(reminders=(7,)))
    delivery.run_jobs()
    edit_crm(crm_url, KEY, iban="FR7630006000011234567890189")
    delivery.clock.advance(days=7, minutes=1)
    assert DeliverySweep(delivery.service).run() == {"reminders": 1}
    assert dt.timedelta(days=7) <= delivery.clock() - delivery.messages(document_id)[0].created_at
