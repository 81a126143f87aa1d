"""After the send: reports, fallback, unknown outcomes (letters: delivery/letters.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from forms_service.connectors.interfaces import Connector
from forms_service.consent.gate import CONSENT_WITHDRAWN, Contact, Gate
from forms_service.consent.interfaces import ConsentState, Decision, Verdict
from forms_service.consent.pressure import lock_customers
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.answers import DocumentFacts, has_answer, is_open
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.channels import Reach, plan_channels
from forms_service.delivery.gating import apply_decision, customer_of
from forms_service.delivery.interfaces import (
    PERMANENT_STATUSES,
    Channel,
    DeliveryReport,
    ForgedReport,
    Purpose,
)
from forms_service.delivery.model import REPORT_TRANSITIONS
from forms_service.delivery.outcomes import record_sent_event
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import GIVEN_UP_STATUSES, Message, MessageStatus
from forms_service.storage.model import Document


class DeliveryStores(Protocol):
    """What every part of sending reads through the delivery service (delivery/service.py)."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def definitions(self) -> DefinitionSet: ...

    @property
    def connectors(self) -> Mapping[str, Connector]: ...

    @property
    def gate(self) -> Gate: ...

    def clock(self) -> dt.datetime: ...


class Sending(DeliveryStores, Protocol):
    """What the follow-up needs of the delivery service (delivery/service.py)."""

    def options_of(self, session: Session, campaign: str) -> CampaignOptions: ...

    def queue_message(
        self,
        session: Session,
        document: Document | DocumentFacts,
        chosen: Reach,
        reminder: int,
        purpose: Purpose,
        now: dt.datetime,
    ) -> Message: ...

    def record_unreachable(
        self,
        session: Session,
        document: Document | DocumentFacts,
        passed: Reach,
        reminder: int,
        purpose: Purpose,
        now: dt.datetime,
    ) -> None: ...

    def record_no_channel_left(
        self,
        session: Session,
        document: Document | DocumentFacts,
        reminder: int,
        now: dt.datetime,
    ) -> None: ...

    def enqueue(self, job: str, *message_ids: str) -> None: ...


#: The jobs this module hands work to (runtime.JOBS).
SEND_JOB = "delivery.send"
SEND_BATCH_JOB = "delivery.send_batch"
FALLBACK_JOB = "delivery.fallback"


class FollowUp:
    """What happens to a document's messages once they are sent, for one delivery service."""

    def __init__(self, service: Sending) -> None:
        self.service = service

    def record_report(self, report: DeliveryReport) -> None:
        """Record a provider's report on its message and in the document's history.

        Raises ForgedReport (nothing changed) when the report names no message of ours or
        the wrong channel. A report that comes too late for the message's status (a
        "delivered" after a hard bounce, the same report twice) changes nothing. A permanent
        status falls back to the next channel (the `delivery.fallback` job).
        """
        new_status, sources = REPORT_TRANSITIONS[report.status]
        now = self.service.clock()
        with self.service.sessions() as session, session.begin():
            # Locked (PostgreSQL), so that the hand-over's record (outcomes.record_sent_many)
            # and this report agree on which of them writes the `sent` event.
            message = session.get(Message, report.message_id, with_for_update=True)
            if message is None or message.channel != report.channel.value:
                raise ForgedReport("the report names no message of this service")
            if message.status not in sources:
                return
            # The report's own time (a bounce's Date, to the second; another clock) never
            # puts it before the hand-over in the history.
            at = report.at
            handed_over = message.sent_at or message.sending_at
            if message.status in (MessageStatus.SENDING, MessageStatus.UNKNOWN):
                # It came before the hand-over was recorded (or the worker died first): it
                # shows the message went out, so the history says `sent` before the report.
                handed_over = handed_over or min(at, now)
                message.sent_at = message.sent_at or handed_over
                record_sent_event(session, message, handed_over, attempt=message.attempts)
            if handed_over is not None and at < handed_over:
                at = handed_over
            message.status = new_status
            message.updated_at = now
            if report.code:
                message.reason = report.code[:64]
            kind = EventKind.DELIVERED
            if new_status is MessageStatus.DELIVERED:
                message.delivered_at = at
            elif new_status is MessageStatus.ACCEPTED:
                kind = EventKind.SENT
            else:
                kind = EventKind.BOUNCED
                if new_status is MessageStatus.FAILED:
                    message.failed_at = at
            if new_status is not MessageStatus.ACCEPTED:
                record_event(
                    session,
                    message.document_id,
                    kind,
                    at=at,
                    channel=message.channel,
                    message_id=message.id,
                    detail={
                        "status": report.status.value,
                        "code": report.code,
                        "reminder": message.reminder,
                    },
                )
        if report.status in PERMANENT_STATUSES:
            self.service.enqueue(FALLBACK_JOB, report.message_id)

    def fall_back(self, message_id: str) -> str:
        """After `message_id` failed for good: queue the document on its next usable channel.

        The channels after the failed one in the document's order are tried in turn; those
        the record cannot use are marked unreachable; the one chosen is queued and the
        history says FALLBACK (from, to, reason). Idempotent: a second run finds the row.
        """
        now = self.service.clock()
        with self.service.sessions() as session, session.begin():
            failed = session.get(Message, message_id)
            if failed is None or failed.status is not MessageStatus.FAILED:
                return "nothing_to_do"
            document = session.get_one(Document, failed.document_id)
            if not is_open(document, now) or has_answer(session, document.id):
                return "closed"
            options = self.service.options_of(session, document.campaign)
            definition = self.service.definitions[document.form_id]
            connector = self.service.connectors[definition.source.connector]
            record = connector.read(definition.source.record_type, document.record_key)
            siblings = list(
                session.scalars(
                    select(Message).where(
                        Message.document_id == document.id, Message.reminder == failed.reminder
                    )
                )
            )
            if any(m.status not in GIVEN_UP_STATUSES for m in siblings):
                return "already_fallen_back"  # a message on another channel is under way
            tried = {m.channel for m in siblings}
            reaches = (
                plan_channels(
                    definition.contact,
                    record,
                    options.channels,
                    honour_preference=not options.force,
                    purpose=options.purpose,
                )
                if record is not None
                else []
            )
            for candidate in reaches:
                if candidate.channel.value in tried:
                    continue
                if not candidate.usable:
                    self.service.record_unreachable(
                        session, document, candidate, failed.reminder, options.purpose, now
                    )
                    continue
                try:
                    with session.begin_nested():
                        queued = self.service.queue_message(
                            session, document, candidate, failed.reminder, options.purpose, now
                        )
                        session.flush()
                except IntegrityError:
                    return "already_fallen_back"
                record_event(
                    session,
                    document.id,
                    EventKind.FALLBACK,
                    at=now,
                    channel=candidate.channel.value,
                    message_id=queued.id,
                    detail={
                        "from": failed.channel,
                        "to": candidate.channel.value,
                        "reason": failed.reason,
                        "failed_message": failed.id,
                        "reminder": failed.reminder,
                    },
                )
                new_id = queued.id
                break
            else:
                self.service.record_no_channel_left(session, document, failed.reminder, now)
                return "no_channel_left"
        self.service.enqueue(SEND_JOB, new_id)
        return f"fallback:{candidate.channel.value}"

    def resolve_unknown(self, message_id: str, *, sent: bool, actor: str) -> str:
        """Settle an `unknown` message from the provider's own log (a person's decision).

        sent: recorded as sent (history SENT, detail resolved_by); not sent: queued again,
        and the next job sends it.
        """
        now = self.service.clock()
        with self.service.sessions() as session, session.begin():
            message = session.get(Message, message_id)
            if message is None:
                raise NotFound("unknown message", field="message")
            if message.status is not MessageStatus.UNKNOWN:
                raise InvalidInput(
                    f"the message is {message.status.value}, not unknown", field="message"
                )
            message.updated_at = now
            if not sent:
                message.status = MessageStatus.QUEUED
                message.next_attempt_at = None
            else:
                message.status = MessageStatus.SENT
                message.sent_at = message.sending_at or now
                record_sent_event(session, message, message.sent_at, resolved_by=actor[:64])
        if not sent:
            self.service.enqueue(SEND_JOB, message_id)
            return "queued again"
        return "recorded as sent"

    # -- letters -------------------------------------------------------------------------

    def release_letters(self, campaign: str | None) -> dict[str, str]:
        """The due queued letters (of `campaign`, else all) the gate lets go to the printer.

        Each letter passes the gate again (in bulk, the customers locked): a letter deferred
        by capacity or a cap stays queued until its time, one whose consent was withdrawn
        since the plan is suppressed. Returns {message id: customer key} of those to print;
        each is counted against its customer's caps when recorded as printed.
        """
        service = self.service
        now = service.clock()
        with service.sessions() as session, session.begin():
            query = (
                select(Message)
                .where(
                    Message.channel == Channel.LETTER.value,
                    Message.status == MessageStatus.QUEUED,
                    Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now),
                )
                .order_by(Message.created_at, Message.id)
            )
            if campaign is not None:
                query = query.where(Message.campaign == campaign)
            letters = list(session.scalars(query))
            documents = {
                d.id: d
                for d in session.scalars(
                    select(Document).where(Document.id.in_([m.document_id for m in letters]))
                )
            }
            customers = {
                m.id: customer_of(service.definitions, documents[m.document_id]) for m in letters
            }
            lock_customers(session, customers.values())
            gate = service.gate
            past = gate.past(session, set(customers.values()), now, exclude=list(customers))
            decisions = gate.decide(
                [Contact(m.id, customers[m.id], m.channel, m.purpose) for m in letters], now, past
            )
            for purpose in {m.purpose for m in letters}:  # consent withdrawn since the plan
                states = gate.consent(session, set(customers.values()), purpose, "letter")
                for m in letters:
                    if (
                        m.purpose == purpose
                        and states.get(customers[m.id]) is ConsentState.WITHDRAWN
                    ):
                        decisions[m.id] = Decision(
                            Verdict.SUPPRESS, CONSENT_WITHDRAWN, {"rule": "consent"}
                        )
            released: dict[str, str] = {}
            for message in letters:
                decision = decisions[message.id]
                if decision.verdict is not Verdict.SEND:
                    apply_decision(session, message, decision, now)
                    continue
                released[message.id] = customers[message.id]
        return released
