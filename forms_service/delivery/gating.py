"""Delivery's side of the consent gate: customers of documents, batch plans, decisions' rows.

Every message passes the gate twice: when a campaign plans it (`plan_batch`: consent picks
the channel, then caps, calendars and capacity say now, later or never) and again when a
worker claims it, just before the hand-over (`DeliveryService.send_message`), where the
customer is locked so that two workers never let more through than a cap allows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from forms_service.consent.capacity import Bookings
from forms_service.consent.gate import CONSENT_WITHDRAWN, Contact, Gate
from forms_service.consent.interfaces import ConsentState, Decision, Verdict, customer_key
from forms_service.consent.pressure import count_contact, lock_customers
from forms_service.definitions.model import ContactMapping
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.answers import DocumentFacts
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.channels import Reach, Reason, plan_channels, reach
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import Message, MessageStatus
from forms_service.storage.model import Document

#: Reasons a channel is refused by the customer (the dry run's "suppressed by consent").
CONSENT_REASONS = frozenset({Reason.NOT_OPTED_IN, CONSENT_WITHDRAWN})


def customer_of(definitions: DefinitionSet, document: Document | DocumentFacts) -> str:
    """The customer key of a document: its form's source and its record key."""
    source = definitions[document.form_id].source
    return customer_key(source.connector, source.record_type, document.record_key)


@dataclass(frozen=True)
class PlannedSend:
    """One document of a batch: its channels' reaches, the one chosen, the gate's decision."""

    document: DocumentFacts
    reaches: list[Reach]
    chosen: Reach | None
    decision: Decision | None


def plan_batch(
    gate: Gate,
    definitions: DefinitionSet,
    session: Session,
    documents: Sequence[DocumentFacts],
    records: Mapping[str, Mapping[str, Any]],
    options: CampaignOptions,
    now: dt.datetime,
    bookings: Bookings | None,
) -> list[PlannedSend]:
    """Choose each document's channel (consent first) and decide its send, in bulk.

    The ledger is read once per channel, the customers' past contacts once for the batch.
    """
    purpose = options.purpose.value
    customers = {d.id: customer_of(definitions, d) for d in documents}
    states = {
        channel.value: gate.consent(session, set(customers.values()), purpose, channel.value)
        for channel in options.channels
    }
    chosen_of: dict[str, tuple[list[Reach], Reach | None]] = {}
    for document in documents:
        record = records.get(document.id)
        if record is None:
            reaches = [Reach(c, None, Reason.RECORD_GONE) for c in options.channels]
        else:
            contact = definitions[document.form_id].contact
            reaches = plan_channels(
                contact,
                record,
                options.channels,
                honour_preference=not options.force,
                purpose=options.purpose,
            )
            customer = customers[document.id]
            if any(customer in states[r.channel.value] for r in reaches):
                reaches = [
                    _with_ledger(contact, record, r, options, states[r.channel.value].get(customer))
                    for r in reaches
                ]
        chosen_of[document.id] = (reaches, next((r for r in reaches if r.usable), None))
    contacts = [
        Contact(document.id, customers[document.id], chosen.channel.value, purpose)
        for document in documents
        if (chosen := chosen_of[document.id][1]) is not None
    ]
    past = gate.past(session, {c.customer for c in contacts}, now)
    decisions = gate.decide(contacts, now, past, bookings)
    return [
        PlannedSend(
            document, chosen_of[document.id][0], chosen_of[document.id][1],
            decisions.get(document.id),
        )
        for document in documents
    ]  # fmt: skip


def _with_ledger(
    contact: ContactMapping | None,
    record: Mapping[str, Any],
    found: Reach,
    options: CampaignOptions,
    state: ConsentState | None,
) -> Reach:
    """The ledger's state wins over the CRM's opt-in column; none known: the column's."""
    if state is ConsentState.WITHDRAWN:
        return Reach(found.channel, None, CONSENT_WITHDRAWN)
    if state is ConsentState.GRANTED and found.reason == Reason.NOT_OPTED_IN and contact:
        freed = dataclasses.replace(
            contact, opt_in={k: v for k, v in contact.opt_in.items() if k != found.channel.value}
        )
        return reach(freed, record, found.channel, options.purpose)
    return found


def apply_decision(
    session: Session, message: Message, decision: Decision, now: dt.datetime
) -> None:
    """Record a deferral or a suppression on the row and in the document's history.

    A deferred message stays queued with `next_attempt_at` = when it may go: the sweep's
    due retries hand it to a job then, and the gate is asked again.
    """
    if decision.verdict is Verdict.SEND:
        return
    detail = {"reason": decision.reason, "reminder": message.reminder, **decision.detail}
    if decision.verdict is Verdict.DEFER and decision.not_before is not None:
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = decision.not_before
        detail["until"] = decision.not_before.isoformat()
        kind = EventKind.DEFERRED
    else:
        message.status = MessageStatus.SUPPRESSED
        kind = EventKind.SUPPRESSED
    message.reason = (decision.reason or "")[:64]
    message.updated_at = now
    record_event(
        session,
        message.document_id,
        kind,
        at=now,
        channel=message.channel,
        message_id=message.id,
        detail=detail,
    )


def plan_row(planned: PlannedSend) -> tuple[str, str]:
    """The dry run's channel and column of one planned document."""
    if planned.chosen is None:
        first = planned.reaches[0]
        column = "suppressed_consent" if first.reason in CONSENT_REASONS else "unreachable"
        return first.channel.value, column
    channel = planned.chosen.channel.value
    decision = planned.decision
    if decision is None or decision.verdict is Verdict.SEND:
        return channel, "sendable_now"
    if decision.verdict is Verdict.SUPPRESS:
        return channel, "suppressed_cap"
    return channel, "capacity" if decision.reason == "capacity" else "deferred"


def claim(
    sessions: sessionmaker[Session],
    definitions: DefinitionSet,
    gate: Gate,
    message_id: str,
    clock: Callable[[], dt.datetime],
) -> str:
    """Ask the gate again and claim the message (`queued` -> `sending`), in one transaction.

    The time is read once the customer is locked: a claim that waited for another's sees
    that one's send as past, never as after its own "now" (which would push the first free
    moment beyond the cap's window, and suppress instead of defer).

    The customer is locked first (PostgreSQL; SQLite has one writer at a time): two
    workers claiming messages of one customer decide one after the other, each seeing
    the other's count, which is written here with the claim. A crash after this commit
    leaves the message `sending` and counted once; a claim again keeps its one count.
    """
    with sessions() as session, session.begin():
        message = session.get(Message, message_id)
        if message is None or message.status is not MessageStatus.QUEUED:
            return "not_due"
        document = session.get_one(Document, message.document_id)
        customer = customer_of(definitions, document)
        lock_customers(session, [customer])
        now = clock()
        session.refresh(message)
        due = message.next_attempt_at is None or message.next_attempt_at <= now
        if message.status is not MessageStatus.QUEUED or not due:
            return "not_due"
        contact = Contact(message.id, customer, message.channel, message.purpose)
        withdrawn = gate.consent(session, [customer], message.purpose, message.channel)
        if withdrawn.get(customer) is ConsentState.WITHDRAWN:  # since the plan
            decision = Decision(Verdict.SUPPRESS, CONSENT_WITHDRAWN, {"rule": "consent"})
        else:
            past = gate.past(session, [customer], now, exclude=[message.id])
            decision = gate.decide([contact], now, past)[message.id]
        if decision.verdict is not Verdict.SEND:
            apply_decision(session, message, decision, now)
            return "deferred" if decision.verdict is Verdict.DEFER else "suppressed"
        claimed = (
            session.connection()
            .execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
                .values(
                    status=MessageStatus.SENDING,
                    attempts=Message.attempts + 1,
                    sending_at=now,
                    updated_at=now,
                )
            )
            .rowcount
        )
        if claimed != 1:
            return "not_due"
        count_contact(session, message.id, customer, message.channel, message.purpose, now)
    return "claimed"
