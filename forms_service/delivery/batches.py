"""A send job's batch of messages: one claim, one read of the records, one provider session.

`delivery.send_batch` (`DeliveryService.send_batch`) sends what a campaign, the sweep or the
reminders queue many of at once. The batch passes the consent gate in one transaction
(`gating.claim_batch`: its customers locked, its counts written), its records and short links
are read and its messages rendered in one session, its rate-limited slots reserved in one
transaction per channel, and its messages handed to the provider one after the other on the
provider's kept session.

Each message still moves `queued` -> `sending` before its hand-over and has its outcome
recorded after it, as a single send does: that write is the one transaction a message costs,
shared with the record of the message before it. A worker killed mid-batch thus leaves at
most one message `sending` (the sweep marks it `unknown`, never resent blindly) and the rest
`queued` (handed out again by the sweep; their claim again keeps their one count).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.delivery.followup import FALLBACK_JOB, DeliveryStores
from forms_service.delivery.gating import CLEARED, claim_batch, documents_of, to_sending
from forms_service.delivery.interfaces import (
    Channel,
    OutgoingEmail,
    OutgoingSms,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from forms_service.delivery.model import DeliverySettings
from forms_service.delivery.outcomes import (
    permanent_reason,
    record_permanent,
    record_sent,
    record_temporary,
)
from forms_service.delivery.ratelimit import SendRate
from forms_service.storage.messages import Message
from forms_service.storage.model import Document

log = logging.getLogger(__name__)

Outgoing = OutgoingEmail | OutgoingSms


class BatchSending(DeliveryStores, Protocol):
    """What a batch needs of the delivery service (delivery/service.py)."""

    @property
    def settings(self) -> DeliverySettings: ...

    @property
    def rate(self) -> SendRate: ...

    def outgoing(
        self, session: Session, message: Message, document: Document, record: Mapping[str, Any]
    ) -> Outgoing: ...

    def provide(self, outgoing: Outgoing) -> SendResult: ...

    def enqueue(self, job: str, *message_ids: str) -> None: ...


@dataclass(frozen=True)
class HandedOver:
    """What the provider said of one message: its result, or the failure it raised."""

    message_id: str
    result: SendResult | None = None
    temporary: TemporaryFailure | None = None
    permanent: str | None = None


class BatchSender:
    """Sends batches of queued messages for one delivery service."""

    def __init__(self, service: BatchSending) -> None:
        self.service = service

    def send(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Send the queued and due messages among `message_ids`: id -> what happened.

        The outcomes are a single send's: sent, retry, dead_lettered, failed, deferred,
        suppressed, not_due, not_queued:<status>, awaiting_print, unknown_message.
        """
        service = self.service
        ids = list(dict.fromkeys(message_ids))
        outcomes = claim_batch(
            service.sessions, service.definitions, service.gate, ids, service.clock
        )
        cleared = [i for i in ids if outcomes[i] == CLEARED]
        if cleared:
            outcomes.update(self._hand_over(cleared))
        return outcomes

    def _hand_over(self, cleared: Sequence[str]) -> dict[str, str]:
        """Render every cleared message, then take, hand over and record each in turn."""
        prepared = self._prepare(cleared)
        slots = self._slots(prepared)
        outcomes: dict[str, str] = {}
        done: HandedOver | None = None
        try:
            for outgoing, slot in zip(prepared, slots, strict=True):
                taken = self._step(done, outgoing.message_id, outcomes)
                done = None
                if not taken:  # another run took it since the claim
                    outcomes[outgoing.message_id] = "not_due"
                    continue
                if isinstance(outgoing, HandedOver):  # not rendered: failed, the batch goes on
                    done = outgoing
                    continue
                if slot is not None:
                    self.service.rate.wait_until(slot)
                done = self._provide(outgoing)
        finally:
            self._step(done, None, outcomes)
        return outcomes

    def _prepare(self, message_ids: Sequence[str]) -> list[Outgoing | HandedOver]:
        """The batch's messages rendered: its rows, records and short links read in one session.

        A message that cannot be rendered (a template or a record the renderer refuses) comes
        back as its permanent failure, so that it fails alone and its fallback is queued.
        """
        service = self.service
        with service.sessions() as session:
            messages = {
                m.id: m for m in session.scalars(select(Message).where(Message.id.in_(message_ids)))
            }
            documents = documents_of(session, list(messages.values()))
            records = self._records(documents.values())
            prepared: list[Outgoing | HandedOver] = []
            for i in message_ids:
                message = messages[i]
                try:
                    prepared.append(
                        service.outgoing(
                            session,
                            message,
                            documents[message.document_id],
                            records.get(message.document_id) or {},
                        )
                    )
                except Exception as exc:  # one message's fault, not the batch's
                    # The type only: a renderer's message may quote the record.
                    log.error("message %s: not rendered (%s)", i, type(exc).__name__)
                    prepared.append(HandedOver(i, permanent="not_rendered"))
            session.commit()  # the short links the contexts created are kept
        return prepared

    def _records(self, documents: Iterable[Document]) -> dict[str, Mapping[str, Any]]:
        """Document id -> its record, read one query per source and record type."""
        by_source: dict[tuple[str, str], list[Document]] = defaultdict(list)
        for document in documents:
            source = self.service.definitions[document.form_id].source
            by_source[(source.connector, source.record_type)].append(document)
        found: dict[str, Mapping[str, Any]] = {}
        for (connector, record_type), group in by_source.items():
            records = self.service.connectors[connector].read_many(
                record_type, sorted({d.record_key for d in group})
            )
            found.update({d.id: records[d.record_key] for d in group if d.record_key in records})
        return found

    def _slots(self, prepared: Sequence[Outgoing | HandedOver]) -> list[float | None]:
        """Each message's send slot, the batch's slots reserved at once per rate-limited channel."""
        rates = self.service.settings.rates
        channels = [None if isinstance(o, HandedOver) else _channel(o) for o in prepared]
        first: dict[str, float] = {}
        for channel in dict.fromkeys(c for c in channels if c is not None):
            rate = rates.get(channel, 0.0)
            if rate > 0:
                first[channel] = self.service.rate.reserve(channel, rate, channels.count(channel))
        slots: list[float | None] = []
        used: dict[str, int] = defaultdict(int)
        for each in channels:
            if each is None or each not in first:
                slots.append(None)
                continue
            slots.append(first[each] + used[each] / rates[each])
            used[each] += 1
        return slots

    def _provide(self, outgoing: Outgoing) -> HandedOver:
        try:
            return HandedOver(outgoing.message_id, result=self.service.provide(outgoing))
        except TemporaryFailure as exc:
            return HandedOver(outgoing.message_id, temporary=exc)
        except PermanentFailure as exc:
            return HandedOver(outgoing.message_id, permanent=permanent_reason(exc))

    def _step(self, done: HandedOver | None, take: str | None, outcomes: dict[str, str]) -> bool:
        """One transaction: record the message just handed over, take the next (`sending`)."""
        if done is None and take is None:
            return False
        service = self.service
        now = service.clock()
        with service.sessions() as session, session.begin():
            if done is not None:
                outcomes[done.message_id] = self._record(session, done, now)
            taken = take is not None and _take(session, take, now)
        if done is not None and done.permanent is not None:
            service.enqueue(FALLBACK_JOB, done.message_id)
        return taken

    def _record(self, session: Session, done: HandedOver, now: dt.datetime) -> str:
        if done.result is not None:
            record_sent(session, done.message_id, done.result, now)
            return "sent"
        if done.temporary is not None:
            outcome = record_temporary(
                session, done.message_id, done.temporary, self.service.settings, now
            )
            if outcome == "retry":
                log.warning("message %s: temporary failure, retried later", done.message_id)
            return outcome
        reason = done.permanent or "permanent_failure"
        record_permanent(session, done.message_id, reason, now)
        log.info("message %s: permanent failure (%s)", done.message_id, reason)
        return "failed"


def _take(session: Session, message_id: str, now: dt.datetime) -> bool:
    """Move a cleared message `queued` -> `sending` (it is due and nobody took it meanwhile)."""
    due = Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now)
    taken = session.connection().execute(to_sending(message_id, now).where(due)).rowcount
    return bool(taken == 1)


def _channel(outgoing: Outgoing) -> str:
    return (Channel.EMAIL if isinstance(outgoing, OutgoingEmail) else Channel.SMS).value
