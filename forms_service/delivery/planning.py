"""Planning a campaign's batch: read the documents and records, ask the gate, queue the rows.

`plan_and_queue` is one batch of `DeliveryService.send_campaign` in one transaction: the
documents already started or closed are counted, the others planned in bulk by the gate
(delivery/gating.py) and, unless it is a dry run, given their message row (queued now,
queued for later with the rule that deferred it, or suppressed) and their history events.
A dry run counts the same and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from forms_service.connectors.interfaces import Connector
from forms_service.consent.capacity import Bookings
from forms_service.consent.interfaces import Verdict
from forms_service.definitions.service import DefinitionSet
from forms_service.delivery.answers import FACT_COLUMNS, DocumentFacts, is_open
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.followup import Sending
from forms_service.delivery.gating import apply_decision, plan_batch, plan_row
from forms_service.delivery.interfaces import Channel
from forms_service.delivery.model import SendPlan
from forms_service.storage.messages import Message
from forms_service.storage.model import Document


def plan_and_queue(
    service: Sending,
    ids: list[str],
    options: CampaignOptions,
    plan: SendPlan,
    bookings: Bookings,
    *,
    dry_run: bool,
) -> list[str]:
    """Plan one batch of documents (count it in `plan`); the messages to hand to jobs now."""
    now = service.clock()
    queued: list[str] = []
    with service.sessions() as session, session.begin():
        documents = [
            DocumentFacts(*row)  # plain rows: a plan reads no snapshot
            for row in session.execute(select(*FACT_COLUMNS).where(Document.id.in_(ids)))
        ]
        started = set(
            session.scalars(
                select(Message.document_id).where(
                    Message.document_id.in_(ids), Message.reminder == 0
                )
            )
        )
        records = records_of(service.definitions, service.connectors, documents)
        todo = []
        for document in documents:
            if document.id in started:
                plan.already += 1
            elif not is_open(document, now):
                plan.closed += 1
            else:
                todo.append(document)
        bookings.use(session, fresh=not dry_run)
        planned = plan_batch(
            service.gate, service.definitions, session, todo, records, options, now, bookings
        )
        for item in planned:
            document, reaches, chosen, decision = (
                item.document, item.reaches, item.chosen, item.decision
            )  # fmt: skip
            passed = reaches[: reaches.index(chosen)] if chosen else reaches
            for skipped in passed:
                plan.skipped[f"{skipped.channel.value}:{skipped.reason}"] += 1
            if chosen is None:
                plan.unreachable[str(reaches[0].reason)] += 1
            elif decision is None or decision.verdict is not Verdict.SUPPRESS:
                plan.channels[chosen.channel.value] += 1
            channel, column = plan_row(item)
            plan.count_gate(channel, column, decision.not_before if decision else None)
            if decision is not None and decision.verdict is not Verdict.SEND:
                plan.decisions[f"{decision.reason}: {decision.detail.get('rule', '')}"] += 1
            if dry_run:
                continue
            for skipped in passed:
                service.record_unreachable(session, document, skipped, 0, options.purpose, now)
            if chosen is None:
                service.record_no_channel_left(session, document, 0, now)
                continue
            message = service.queue_message(session, document, chosen, 0, options.purpose, now)
            if decision is not None and decision.verdict is not Verdict.SEND:
                apply_decision(session, message, decision, now)
            elif chosen.channel is not Channel.LETTER:  # letters wait for the printer
                queued.append(message.id)
        if dry_run:
            session.rollback()
        else:
            bookings.save()
    return queued


def records_of(
    definitions: DefinitionSet,
    connectors: Mapping[str, Connector],
    documents: Sequence[Document | DocumentFacts],
) -> dict[str, Mapping[str, Any]]:
    """Each document's current source record, read a batch at a time per form."""
    found: dict[str, Mapping[str, Any]] = {}
    by_form: dict[str, list[Document | DocumentFacts]] = {}
    for document in documents:
        by_form.setdefault(document.form_id, []).append(document)
    for form_id, group in by_form.items():
        definition = definitions[form_id]
        connector = connectors[definition.source.connector]
        records = connector.read_many(definition.source.record_type, [d.record_key for d in group])
        for document in group:
            if document.record_key in records:
                found[document.id] = records[document.record_key]
    return found
