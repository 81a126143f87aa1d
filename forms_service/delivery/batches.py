"""A send job's batch of messages: one claim, one read of the records, one provider session.

`delivery.send_batch` (`DeliveryService.send_batch`) sends what a campaign, the sweep or the
reminders queue many of at once. The batch passes the consent gate in one transaction
(`gating.claim_batch`: its customers locked, its counts written), its rows, records and short
links are read in one session, and its messages are rendered, given their rate-limited slots
(one reservation per group and channel) and handed to the provider one after the other on the
provider's kept session.

Each message still moves `queued` -> `sending` before its hand-over and has its outcome
recorded after it, as a single send does, but `settings.record_every` messages at a time
(`FORMS_DELIVERY_RECORD_EVERY`): one transaction records the group just handed over and takes
the next, while a sender thread hands the group between them to the provider. A message thus
costs a share of a transaction instead of one, and its hand-over overlaps the transactions.
A worker killed mid-batch leaves at most two groups `sending` (the sweep marks them `unknown`,
never resent blindly; a report naming one settles it) and the rest `queued` (handed out again
by the sweep; their claim again keeps their one count).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.delivery.followup import FALLBACK_JOB, DeliveryStores
from forms_service.delivery.gating import (
    CLEARED,
    TAKE_DUE,
    back_to_queued,
    claim_batch,
    documents_of,
)
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
    record_sent_many,
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

    def render(
        self, message: Message, document: Document, record: Mapping[str, Any], short_link: str
    ) -> Outgoing: ...

    def short_links_of(self, session: Session, documents: Sequence[Document]) -> dict[str, str]: ...

    def provide(self, outgoing: Outgoing) -> SendResult: ...

    def enqueue(self, job: str, *message_ids: str) -> None: ...


@dataclass(frozen=True)
class HandedOver:
    """What the provider said of one message: its result, or the failure it raised."""

    message_id: str
    result: SendResult | None = None
    temporary: TemporaryFailure | None = None
    permanent: str | None = None


@dataclass(frozen=True)
class _ToRender:
    """A message of the batch with what its rendition shows."""

    message: Message
    document: Document
    record: Mapping[str, Any]
    short_link: str


@dataclass(eq=False)
class _Group:
    """Messages taken, handed over and recorded together (`settings.record_every`)."""

    prepared: list[Outgoing | HandedOver]
    slots: list[float | None] = field(default_factory=list)
    #: Taken (`sending`) and not handed over yet; the sender discards each it hands over.
    taken: set[str] = field(default_factory=set)
    #: Handed over (or failed unrendered), not recorded yet.
    done: list[HandedOver] = field(default_factory=list)
    future: Future[None] | None = None

    @property
    def ids(self) -> list[str]:
        return [outgoing.message_id for outgoing in self.prepared]


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
        """Take, hand over and record the cleared messages, group by group, in a pipeline.

        A group is `settings.record_every` messages. While the provider has one group (on
        the sender thread, which only talks to the provider), this thread renders the next,
        records the group handed over before and takes the next (`queued` -> `sending`) in
        one transaction: at most two groups are `sending` at any time.
        """
        every = self.service.settings.record_every
        loaded = self._load(cleared)
        outcomes: dict[str, str] = {}
        handing: deque[_Group] = deque()  # given to the sender, oldest first
        with ThreadPoolExecutor(1, thread_name_prefix="delivery-sender") as sender:
            try:
                for start in range(0, len(loaded), every):
                    prepared = self._render(loaded[start : start + every])
                    group = _Group(prepared, self._slots(prepared))
                    finished = self._finished(handing) if len(handing) == 2 else None
                    group.taken = self._step(finished, group.ids, outcomes)
                    group.future = sender.submit(self._send_group, group)
                    handing.append(group)
                while handing:
                    self._step(self._finished(handing), [], outcomes)
            finally:
                # An error stopping the batch: record what was handed over, give the rest back.
                for group in handing:
                    if group.future is not None:
                        group.future.cancel()
                        wait([group.future])
                    self._step(group, [], outcomes, release=group.taken)
        return outcomes

    @staticmethod
    def _finished(handing: deque[_Group]) -> _Group:
        """The oldest group given to the sender, once handed over (its error raised)."""
        group = handing[0]
        if group.future is not None:
            group.future.result()
        return handing.popleft()

    def _send_group(self, group: _Group) -> None:
        """Hand a group's taken messages to the provider in turn (the sender thread)."""
        for outgoing, slot in zip(group.prepared, group.slots, strict=True):
            if outgoing.message_id not in group.taken:
                continue
            if isinstance(outgoing, HandedOver):  # not rendered: fails, the batch goes on
                group.taken.discard(outgoing.message_id)
                group.done.append(outgoing)
                continue
            if slot is not None:
                self.service.rate.wait_until(slot)
            group.taken.discard(outgoing.message_id)  # its outcome is unknown until recorded
            group.done.append(self._provide(outgoing))

    def _load(self, message_ids: Sequence[str]) -> list[_ToRender]:
        """What the batch's messages are rendered from: rows, records, links, in one session."""
        service = self.service
        with service.sessions() as session:
            messages = {
                m.id: m for m in session.scalars(select(Message).where(Message.id.in_(message_ids)))
            }
            documents = documents_of(session, list(messages.values()))
            records = self._records(documents.values())
            links = service.short_links_of(session, list(documents.values()))
            session.commit()  # the short links made for documents that had none are kept
        loaded = []
        for message_id in message_ids:
            message = messages[message_id]
            document_id = message.document_id
            loaded.append(
                _ToRender(
                    message,
                    documents[document_id],
                    records.get(document_id) or {},
                    links[document_id],
                )
            )
        return loaded

    def _render(self, loaded: Sequence[_ToRender]) -> list[Outgoing | HandedOver]:
        """The messages rendered; one that cannot be comes back as its permanent failure.

        A template or a record the renderer refuses fails its message alone (its fallback is
        queued), and the batch goes on.
        """
        rendered: list[Outgoing | HandedOver] = []
        for each in loaded:
            try:
                rendered.append(
                    self.service.render(each.message, each.document, each.record, each.short_link)
                )
            except Exception as exc:  # one message's fault, not the batch's
                # The type only: a renderer's message may quote the record.
                log.error("message %s: not rendered (%s)", each.message.id, type(exc).__name__)
                rendered.append(HandedOver(each.message.id, permanent="not_rendered"))
        return rendered

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

    def _step(
        self,
        finished: _Group | None,
        take: Sequence[str],
        outcomes: dict[str, str],
        release: Collection[str] = (),
    ) -> set[str]:
        """One transaction: record a group handed over, take the next messages (`sending`).

        `release`: messages taken but never handed over, queued again as they were. A
        message taken by another run since the claim is `not_due`.
        """
        done = finished.done if finished is not None else []
        if not done and not take and not release:
            return set()
        service = self.service
        now = service.clock()
        with service.sessions() as session, session.begin():
            outcomes.update(self._record(session, done, now))
            taken = _take(session, take, now)
            if release:
                session.connection().execute(back_to_queued(*release))
        outcomes.update((message_id, "not_due") for message_id in take if message_id not in taken)
        for each in done:
            if each.permanent is not None:
                service.enqueue(FALLBACK_JOB, each.message_id)
        return taken

    def _record(
        self, session: Session, done: Sequence[HandedOver], now: dt.datetime
    ) -> dict[str, str]:
        sent: list[tuple[str, SendResult]] = [
            (d.message_id, d.result) for d in done if d.result is not None
        ]
        record_sent_many(session, sent, now)
        outcomes = dict.fromkeys((message_id for message_id, _ in sent), "sent")
        for each in done:
            if each.temporary is not None:
                outcome = record_temporary(
                    session, each.message_id, each.temporary, self.service.settings, now
                )
                if outcome == "retry":
                    log.warning("message %s: temporary failure, retried later", each.message_id)
                outcomes[each.message_id] = outcome
            elif each.result is None:
                reason = each.permanent or "permanent_failure"
                record_permanent(session, each.message_id, reason, now)
                log.info("message %s: permanent failure (%s)", each.message_id, reason)
                outcomes[each.message_id] = "failed"
        return outcomes


def _take(session: Session, message_ids: Sequence[str], now: dt.datetime) -> set[str]:
    """Move cleared messages `queued` -> `sending`: those due that nobody took meanwhile."""
    if not message_ids:
        return set()
    taken = session.connection().execute(TAKE_DUE, {"ids": list(message_ids), "now": now})
    return set(taken.scalars())


def _channel(outgoing: Outgoing) -> str:
    return (Channel.EMAIL if isinstance(outgoing, OutgoingEmail) else Channel.SMS).value
