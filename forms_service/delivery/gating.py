"""Delivery's side of the consent gate: customers of documents, batch plans, decisions' rows.

Every message passes the gate twice: when a campaign plans it (`plan_batch`: consent picks
the channel, then caps, calendars and capacity say now, later or never) and again when a
worker claims it, just before the hand-over (`claim` for one message, `claim_batch` for a
send job's batch), where the customer is locked so that two workers never let more through
than a cap allows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session, defer, sessionmaker

from forms_service.consent.capacity import Bookings
from forms_service.consent.gate import CONSENT_WITHDRAWN, Contact, Gate
from forms_service.consent.interfaces import ConsentState, Decision, Verdict, customer_key
from forms_service.consent.pressure import (
    Counted,
    count_contact,
    count_contacts,
    lock_customers,
    uncount_contact,
)
from forms_service.definitions.model import ContactMapping
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.answers import DocumentFacts, opted_out_among
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.channels import Reach, Reason, plan_channels, reach
from forms_service.delivery.interfaces import Channel, Purpose
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import MESSAGE_IDS, Message, MessageStatus, among
from forms_service.storage.model import Document

#: Reasons a channel is refused by the customer (the dry run's "suppressed by consent").
CONSENT_REASONS = frozenset({Reason.NOT_OPTED_IN, CONSENT_WITHDRAWN})
#: A commercial message's customer unsubscribed (an `opted_out` event in its history).
OPTED_OUT = "opted_out"


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
        claimed = session.connection().execute(to_sending(now, message_id)).rowcount
        if claimed != 1:
            return "not_due"
        count_contact(session, message.id, customer, message.channel, message.purpose, now)
    return "claimed"


#: What `claim_batch` says of a message the gate lets go (its count written, the row still
#: `queued`: the sender moves it to `sending` right before its own hand-over).
CLEARED = "cleared"


def claim_batch(
    sessions: sessionmaker[Session],
    definitions: DefinitionSet,
    gate: Gate,
    message_ids: Sequence[str],
    clock: Callable[[], dt.datetime],
) -> dict[str, str]:
    """Ask the gate again for a batch of messages, in one transaction: id -> outcome.

    As `claim` does for one: the batch's customers are locked (in order, so that two
    batches never deadlock), the time is read then, each customer's counted messages are
    read once and the batch decided together (`Gate.decide` counts the batch's own sends
    against the caps). A message let go is counted here and `cleared`; the others are
    `deferred`, `suppressed` (the ledger, a cap, or an opt-out) or `not_due`. A cleared row
    stays `queued` until its own hand-over: a crash leaves it for the sweep to hand out again,
    and a claim again keeps its one count.
    """
    outcomes = {message_id: "unknown_message" for message_id in message_ids}
    with sessions() as session, session.begin():
        found = []
        for message in session.scalars(select(Message).where(Message.id.in_(message_ids))):
            refused = unclaimable(message)
            outcomes[message.id] = refused or "not_due"
            if refused is None:
                found.append(message)
        documents = documents_of(session, found)
        customers = {m.id: customer_of(definitions, documents[m.document_id]) for m in found}
        lock_customers(session, customers.values())
        now = clock()
        due = [
            m
            for m in _queued_rows(session, [m.id for m in found])
            if m.next_attempt_at is None or m.next_attempt_at <= now
        ]
        cleared = []
        for message, decision in _decisions(session, gate, due, customers, now):
            outcomes[message.id] = _apply(session, message, decision, now)
            if outcomes[message.id] == CLEARED:
                cleared.append(
                    Counted(message.id, customers[message.id], message.channel, message.purpose)
                )
        if cleared:  # the sweep's requeue waits from here
            ids = [c.message_id for c in cleared]
            session.connection().execute(_TOUCHED, {"ids": ids, "now": now})
        count_contacts(session, cleared, now)
    return outcomes


_TOUCHED: Final = (
    update(Message).where(Message.id.in_(MESSAGE_IDS)).values(updated_at=bindparam("now"))
)


def unclaimable(message: Message) -> str | None:
    """Why a send would not claim the row (a letter, or no longer queued); None: it may."""
    if message.channel == Channel.LETTER.value:
        return "awaiting_print"
    if message.status is not MessageStatus.QUEUED:
        return f"not_queued:{message.status.value}"
    return None


def _queued_rows(session: Session, message_ids: Sequence[str]) -> list[Message]:
    """The queued rows among `message_ids`, read again once their customers are ours."""
    return list(
        session.scalars(
            select(Message)
            .where(among(message_ids, MessageStatus.QUEUED))
            .execution_options(populate_existing=True)
        )
    )


def documents_of(session: Session, messages: Sequence[Message]) -> dict[str, Document]:
    """Document id -> the document, for the documents of `messages` (one query)."""
    ids = {m.document_id for m in messages}
    # Sending reads neither the issue snapshot nor the challenge digests (two JSON columns,
    # most of a document's loading): not loaded, and never loaded one by one later.
    query = (
        select(Document)
        .where(Document.id.in_(ids))
        .options(
            defer(Document.snapshot, raiseload=True),
            defer(Document.challenge_digests, raiseload=True),
        )
    )
    return {d.id: d for d in session.scalars(query)}


def _decisions(
    session: Session,
    gate: Gate,
    due: Sequence[Message],
    customers: Mapping[str, str],
    now: dt.datetime,
) -> list[tuple[Message, Decision]]:
    """Each due message's decision: an opt-out or the ledger's withdrawal first, then the caps."""
    opted = opted_out_among(
        session, [m.document_id for m in due if m.purpose == Purpose.COMMERCIAL.value]
    )
    withdrawn: set[str] = set()
    for (purpose, channel), group in _by_purpose_and_channel(due).items():
        states = gate.consent(session, {customers[m.id] for m in group}, purpose, channel)
        withdrawn.update(
            m.id for m in group if states.get(customers[m.id]) is ConsentState.WITHDRAWN
        )
    refused: dict[str, Decision] = {}
    for message in due:
        if message.document_id in opted:
            refused[message.id] = Decision(Verdict.SUPPRESS, OPTED_OUT, {"rule": "opt_out"})
        elif message.id in withdrawn:  # since the plan
            refused[message.id] = Decision(Verdict.SUPPRESS, CONSENT_WITHDRAWN, {"rule": "consent"})
    contacts = [
        Contact(m.id, customers[m.id], m.channel, m.purpose) for m in due if m.id not in refused
    ]
    past = gate.past(session, {c.customer for c in contacts}, now, exclude=[m.id for m in due])
    decided = {**gate.decide(contacts, now, past), **refused}
    return [(m, decided[m.id]) for m in due]


def _by_purpose_and_channel(messages: Sequence[Message]) -> dict[tuple[str, str], list[Message]]:
    groups: dict[tuple[str, str], list[Message]] = {}
    for message in messages:
        groups.setdefault((message.purpose, message.channel), []).append(message)
    return groups


def _apply(session: Session, message: Message, decision: Decision, now: dt.datetime) -> str:
    """Record one decision of a batch: cleared (the caller counts it), deferred, suppressed."""
    if decision.verdict is Verdict.SEND:  # its updated_at set with the batch's (_TOUCHED)
        return CLEARED
    if decision.reason == OPTED_OUT:  # as a single send records it (no event)
        message.status = MessageStatus.SUPPRESSED
        message.reason = OPTED_OUT
        message.updated_at = now
    else:
        apply_decision(session, message, decision, now)
    uncount_contact(session, message.id)  # counted by an earlier claim that never sent it
    return "deferred" if decision.verdict is Verdict.DEFER else "suppressed"


def to_sending(now: dt.datetime, *message_ids: str) -> Update:
    """The UPDATE that takes queued messages (`queued` -> `sending`, one more attempt)."""
    return _taking(list(message_ids), now)


def _taking(message_ids: Any, now: Any) -> Update:
    return (
        update(Message)
        .where(among(message_ids, MessageStatus.QUEUED))
        .values(
            status=MessageStatus.SENDING,
            attempts=Message.attempts + 1,
            sending_at=now,
            updated_at=now,
        )
    )


#: `to_sending` for a group of a batch, of those due, built once: executed with
#: `{"ids": [...], "now": now}`, it returns the ids taken (a statement built for each group
#: cost several times the database's own work).
TAKE_DUE: Final = (
    _taking(MESSAGE_IDS, bindparam("now"))
    .where(Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= bindparam("now")))
    .returning(Message.id)
)


def back_to_queued(*message_ids: str) -> Update:
    """The UPDATE that gives back messages taken but never handed over (`to_sending` undone)."""
    return (
        update(Message)
        .where(among(message_ids, MessageStatus.SENDING))
        .values(status=MessageStatus.QUEUED, attempts=Message.attempts - 1, sending_at=None)
    )
