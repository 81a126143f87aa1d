"""Reminders driven by the answer, and the delivery sweep that sends what is due.

A reminder n of a campaign with reminders [7, 21] is due `days[n-1]` days after the first
message was sent. It goes out only while the document waits for an answer: no submission on
any channel (online, PDF, paper), no PDF return and no scanned page waiting in the mailroom
for it, its link neither expired nor revoked, and (when the definition asks) the source does
not already hold the values the form asks to confirm (`source_confirms`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FormDefinition
from forms_service.delivery.answers import has_answer, is_open
from forms_service.delivery.channels import Reach, plan_channels
from forms_service.delivery.interfaces import Channel
from forms_service.delivery.service import DeliveryService
from forms_service.storage.messages import (
    GIVEN_UP_STATUSES,
    HANDED_STATUSES,
    DeliveryCampaign,
    Message,
    MessageStatus,
    among,
)
from forms_service.storage.model import Document

log = logging.getLogger(__name__)


def source_confirms(
    definition: FormDefinition, document: Document, record: Mapping[str, Any] | None
) -> bool:
    """Whether the source already holds the values the form asks to confirm.

    With `reminders: {skip_when_source_confirms: [fields]}`: every listed field has a value
    in the source now, and at least one of them differs from the document's snapshot: the
    record was updated since the document was issued (a call centre, another form), so the
    customer's details have been confirmed elsewhere. A value the field type refuses counts
    as not held. Without the flag, never.
    """
    fields = definition.reminders.skip_when_source_confirms
    if not fields or record is None:
        return False
    changed = False
    for name in fields:
        field = definition.field(name)
        if not field.maps_to:
            continue
        try:
            value = field.parse(record.get(field.maps_to))
        except FieldValueError:
            return False
        if value is None or value == "":
            return False
        if not field.same(value, document.snapshot.get(name)):
            changed = True
    return changed


class DeliverySweep:
    """One round: retries due, stalled sends marked unknown, reminders due queued."""

    def __init__(self, delivery: DeliveryService) -> None:
        self.delivery = delivery

    def run(self) -> Counter[str]:
        """Do one round; counts of what it did."""
        counts: Counter[str] = Counter()
        counts["unknown"] = self.stalled()
        counts["requeued"] = self.due_retries()
        counts.update(self.reminders())
        return +counts

    def stalled(self) -> int:
        """Mark `sending` rows older than the timeout `unknown` (never resent blindly)."""
        service = self.delivery
        now = service.clock()
        limit = now - service.settings.sending_timeout
        with service.sessions() as session, session.begin():
            changed = (
                session.connection()
                .execute(
                    update(Message)
                    .where(Message.status == MessageStatus.SENDING, Message.sending_at < limit)
                    .values(status=MessageStatus.UNKNOWN, reason="outcome_unknown", updated_at=now)
                )
                .rowcount
            )
        if changed:
            log.warning("delivery sweep: %d message(s) whose send outcome is unknown", changed)
        return int(changed or 0)

    def due_retries(self) -> int:
        """Hand retries whose time has come, and messages whose job may be lost, to jobs.

        A retry (a temporary failure) has no job until its `next_attempt_at`; a message with
        none is handed out again once it has waited `requeue_after` since it was queued or
        last handed out (its `updated_at`, moved on here): a job still in the broker's
        backlog is not doubled every round.
        """
        service = self.delivery
        now = service.clock()
        with service.sessions() as session, session.begin():
            ids = list(
                session.scalars(
                    select(Message.id).where(
                        Message.status == MessageStatus.QUEUED,
                        Message.channel != Channel.LETTER.value,
                        # A retry whose time has come (no job was queued for it), or a
                        # message whose job may have been lost.
                        (Message.next_attempt_at <= now)
                        | (
                            Message.next_attempt_at.is_(None)
                            & (Message.updated_at <= now - service.settings.requeue_after)
                        ),
                    )
                )
            )
            for start in range(0, len(ids), 500):
                session.execute(
                    update(Message)
                    .where(among(ids[start : start + 500], MessageStatus.QUEUED))
                    .values(updated_at=now, next_attempt_at=None)
                )
        service.enqueue_sends(ids)
        return len(ids)

    def reminders(self) -> Counter[str]:
        """Queue every reminder due now; counts of reminders queued and of those withheld."""
        service = self.delivery
        counts: Counter[str] = Counter()
        with service.sessions() as session:
            campaigns = [
                (row.name, list(row.reminders), row.remind_channel)
                for row in session.scalars(select(DeliveryCampaign))
                if row.reminders
            ]
        for name, days, remind_channel in campaigns:
            counts.update(self._campaign_reminders(name, days, remind_channel))
        return counts

    def _campaign_reminders(self, campaign: str, days: list[int], how: str) -> Counter[str]:
        service = self.delivery
        now = service.clock()
        counts: Counter[str] = Counter()
        queued: list[str] = []
        with service.sessions() as session, session.begin():
            options = service.options_of(session, campaign)
            # Per document: the last reminder number handed and when its first was sent.
            rows = session.execute(
                select(
                    Message.document_id,
                    func.max(Message.reminder),
                    func.min(Message.sent_at),
                )
                .where(Message.campaign == campaign)
                .group_by(Message.document_id)
            ).all()
            for document_id, last, first_sent in rows:
                if first_sent is None or last >= len(days):
                    continue
                first_sent = _aware(first_sent)
                if now < first_sent + dt.timedelta(days=days[last]):
                    continue
                document = session.get_one(Document, document_id)
                outcome = self._remind(session, document, last + 1, options, how, now)
                counts[outcome] += 1
                if outcome.startswith("queued:"):
                    queued.append(outcome.removeprefix("queued:"))
        service.enqueue_sends(queued)
        return Counter(
            {k if not k.startswith("queued:") else "reminders": v for k, v in counts.items()}
        )

    def _remind(
        self,
        session: Session,
        document: Document,
        number: int,
        options: Any,
        how: str,
        now: dt.datetime,
    ) -> str:
        service = self.delivery
        if has_answer(session, document.id):
            return "withheld:answered"
        if not is_open(document, now):
            return "withheld:closed"
        definition = service.definitions[document.form_id]
        connector = service.connectors[definition.source.connector]
        record = connector.read(definition.source.record_type, document.record_key)
        if source_confirms(definition, document, record):
            return "withheld:source_confirms"
        if record is None:
            return "withheld:record_gone"
        previous = list(
            session.scalars(
                select(Message)
                .where(Message.document_id == document.id, Message.reminder == number - 1)
                .order_by(Message.created_at)
            )
        )
        handed = [m for m in previous if m.status in HANDED_STATUSES]
        last_channel = handed[-1].channel if handed else None
        reaches = plan_channels(
            definition.contact,
            record,
            options.channels,
            honour_preference=not options.force,
            purpose=options.purpose,
        )
        given_up = {m.channel for m in previous if m.status in GIVEN_UP_STATUSES}
        candidates: list[Reach] = [r for r in reaches if r.channel.value not in given_up]
        if how == "next" and last_channel is not None:
            order = [r.channel.value for r in candidates]
            if last_channel in order:
                at = order.index(last_channel)
                candidates = candidates[at + 1 :] + candidates[: at + 1]
        elif last_channel is not None:
            candidates.sort(key=lambda r: r.channel.value != last_channel)
        chosen = next((r for r in candidates if r.usable), None)
        if chosen is None:
            return "withheld:no_channel"
        message = service.queue_message(session, document, chosen, number, options.purpose, now)
        session.flush()
        return f"queued:{message.id}"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
