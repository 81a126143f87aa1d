"""The closed loop in figures: per campaign, form and channel, from issue to applied.

Every figure is computed from the rows themselves (no counters kept on the side), so that it
always agrees with them; `tests/integration/test_delivery_dashboard.py` recomputes each one
from the raw rows.

What a stage means, for one document:
- issued: the document exists (`documents`);
- sent: a message left on some channel (an event `sent`, or `printed` for a letter);
- delivered: a delivery report said so (`delivered`), a letter was handed to the printer
  (`printed`), or an e-mail was taken by the relay and no bounce came back (SMTP relays
  report failures, not deliveries);
- opened: the link was opened (`documents.opened_at`, or an `opened` event);
- answered: a submission exists, on any channel;
- applied: a change set of it was applied, wholly or partly, or its answer changed nothing.

A document counts under the channel of the last message sent before its first answer (the
one that brought the answer), else of the last message sent; "none" when no message was sent
by the service (a PDF the integrator sent itself).

Held back by the consent gate: documents with a message deferred (`deferred` events) or
suppressed (`suppressed`), and per reason and rule (`frequency_capped: commercial-3-per-30d`)
how many such decisions were taken.

Straight-through: answered documents whose change set was settled without any clerk's
decision (every line applied automatically, or nothing to change).
Time to answer: from the first message sent (else the issue) to the first submission.
Time to apply: from the first submission to the change set's closing as applied.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.delivery.interfaces import Channel
from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    FieldChangeRow,
    Submission,
)

#: The stages of the funnel, in order.
STAGES = ("issued", "sent", "delivered", "opened", "answered", "applied")
#: A document no message of the service's went to.
NO_CHANNEL = "none"
#: Change sets that count as applied: the answer reached the source (or had nothing to change).
_APPLIED = (
    ChangeSetStatus.APPLIED,
    ChangeSetStatus.PARTIALLY_APPLIED,
    ChangeSetStatus.NO_CHANGE,
)
_SENT_KINDS = (EventKind.SENT, EventKind.PRINTED, EventKind.REMINDER_SENT)
#: How channels are listed: the richest first, then what the service did not send.
_ORDER = {"email": 0, "sms": 1, "letter": 2, NO_CHANNEL: 3}
#: Documents read per statement (the IN lists of the facts' queries).
_CHUNK = 500


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation between ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class FunnelRow:
    """The figures of one (campaign, form, channel).

    Times are in seconds; None when no document has the two ends.
    """

    campaign: str
    form_id: str
    channel: str
    issued: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    answered: int = 0
    applied: int = 0
    straight_through: int = 0
    bounced: int = 0
    failed: int = 0
    fallbacks: int = 0
    deferred: int = 0
    suppressed: int = 0
    #: `reason: rule` -> the gate's decisions (deferrals and suppressions).
    held: Counter[str] = field(default_factory=Counter)
    answer_seconds: list[float] = field(default_factory=list, repr=False)
    apply_seconds: list[float] = field(default_factory=list, repr=False)

    def stage(self, name: str) -> int:
        """The count at one stage of `STAGES`."""
        return int(getattr(self, name))

    @property
    def response_rate(self) -> float | None:
        """Answered over issued."""
        return self.answered / self.issued if self.issued else None

    @property
    def straight_through_rate(self) -> float | None:
        """Answers settled with no clerk over answers settled."""
        return self.straight_through / self.applied if self.applied else None

    @property
    def answer_p50(self) -> float | None:
        return percentile(self.answer_seconds, 50)

    @property
    def answer_p90(self) -> float | None:
        return percentile(self.answer_seconds, 90)

    @property
    def apply_p50(self) -> float | None:
        return percentile(self.apply_seconds, 50)

    @property
    def apply_p90(self) -> float | None:
        return percentile(self.apply_seconds, 90)


@dataclass
class _Facts:
    """What the rows say of one document."""

    issued_at: dt.datetime
    opened_at: dt.datetime | None
    sends: list[tuple[dt.datetime, str]] = field(default_factory=list)
    kinds: set[EventKind] = field(default_factory=set)
    email_sent: bool = False
    fallbacks: int = 0
    held: Counter[str] = field(default_factory=Counter)
    first_answer: dt.datetime | None = None
    applied_at: dt.datetime | None = None
    settled: bool = False
    by_clerk: bool = False


@dataclass(frozen=True)
class CampaignSummary:
    """One campaign in the list: its documents and how many answered."""

    campaign: str
    forms: tuple[str, ...]
    issued: int
    answered: int
    first_issued_at: dt.datetime


def campaigns(session: Session) -> list[CampaignSummary]:
    """Every campaign, newest first, with its forms, documents and answers."""
    rows = session.execute(
        select(Document.campaign, Document.form_id, Document.id, Document.issued_at)
    ).all()
    answered = set(session.execute(select(Submission.document_id).distinct()).scalars())
    grouped: dict[str, list[tuple[str, str, dt.datetime]]] = defaultdict(list)
    for campaign, form_id, document_id, issued_at in rows:
        grouped[campaign].append((form_id, document_id, issued_at))
    summaries = [
        CampaignSummary(
            campaign=name,
            forms=tuple(sorted({form for form, _, _ in docs})),
            issued=len(docs),
            answered=sum(1 for _, doc, _ in docs if doc in answered),
            first_issued_at=min(at for _, _, at in docs),
        )
        for name, docs in grouped.items()
    ]
    return sorted(summaries, key=lambda s: (s.first_issued_at, s.campaign), reverse=True)


def funnel(
    session: Session, *, campaign: str | None = None, form_id: str | None = None
) -> list[FunnelRow]:
    """The figures per (campaign, form, channel), for one campaign or form or all."""
    query = select(
        Document.id, Document.campaign, Document.form_id, Document.issued_at, Document.opened_at
    )
    if campaign is not None:
        query = query.where(Document.campaign == campaign)
    if form_id is not None:
        query = query.where(Document.form_id == form_id)
    documents = session.execute(query).all()
    facts = {
        doc_id: _Facts(issued_at=issued_at, opened_at=opened_at)
        for doc_id, _, _, issued_at, opened_at in documents
    }
    ids = list(facts)
    for chunk in _chunks(ids):
        _read_events(session, chunk, facts)
        _read_answers(session, chunk, facts)
    rows: dict[tuple[str, str, str], FunnelRow] = {}
    for doc_id, doc_campaign, doc_form, _, _ in documents:
        fact = facts[doc_id]
        channel = _channel_of(fact)
        key = (doc_campaign, doc_form, channel)
        row = rows.get(key)
        if row is None:
            row = rows[key] = FunnelRow(campaign=doc_campaign, form_id=doc_form, channel=channel)
        _count(row, fact)
    return sorted(rows.values(), key=lambda r: (r.campaign, r.form_id, _ORDER.get(r.channel, 9)))


def totals(rows: Iterable[FunnelRow], *, channel: str = "all") -> FunnelRow:
    """The rows added up (one campaign's channels, say)."""
    rows = list(rows)
    total = FunnelRow(
        campaign=rows[0].campaign if rows else "",
        form_id=rows[0].form_id if rows and len({r.form_id for r in rows}) == 1 else "",
        channel=channel,
    )
    for row in rows:
        for name in (
            *STAGES,
            "straight_through",
            "bounced",
            "failed",
            "fallbacks",
            "deferred",
            "suppressed",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.held.update(row.held)
        total.answer_seconds.extend(row.answer_seconds)
        total.apply_seconds.extend(row.apply_seconds)
    return total


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _read_events(session: Session, ids: list[str], facts: dict[str, _Facts]) -> None:
    for doc_id, kind, channel, at in session.execute(
        select(
            DocumentEvent.document_id,
            DocumentEvent.kind,
            DocumentEvent.channel,
            DocumentEvent.at,
        ).where(DocumentEvent.document_id.in_(ids))
    ):
        fact = facts[doc_id]
        kind = EventKind(kind)
        fact.kinds.add(kind)
        if kind in _SENT_KINDS:
            fact.sends.append((at, channel or NO_CHANNEL))
            if channel == Channel.EMAIL:
                fact.email_sent = True
        elif kind is EventKind.FALLBACK:
            fact.fallbacks += 1
        elif kind is EventKind.OPENED and fact.opened_at is None:
            fact.opened_at = at
    for doc_id, detail in session.execute(
        select(DocumentEvent.document_id, DocumentEvent.detail).where(
            DocumentEvent.document_id.in_(ids),
            DocumentEvent.kind.in_((EventKind.DEFERRED, EventKind.SUPPRESSED)),
        )
    ):
        detail = detail or {}
        facts[doc_id].held[f"{detail.get('reason', '')}: {detail.get('rule', '')}"] += 1


def _read_answers(session: Session, ids: list[str], facts: dict[str, _Facts]) -> None:
    for doc_id, received_at in session.execute(
        select(Submission.document_id, Submission.received_at).where(
            Submission.document_id.in_(ids)
        )
    ):
        fact = facts[doc_id]
        if fact.first_answer is None or received_at < fact.first_answer:
            fact.first_answer = received_at
    settled: dict[str, tuple[dt.datetime | None, str]] = {}
    for cs_id, doc_id, closed_at in session.execute(
        select(ChangeSet.id, ChangeSet.document_id, ChangeSet.closed_at).where(
            ChangeSet.document_id.in_(ids), ChangeSet.status.in_(_APPLIED)
        )
    ):
        fact = facts[doc_id]
        fact.settled = True
        if closed_at is not None and (fact.applied_at is None or closed_at < fact.applied_at):
            fact.applied_at = closed_at
        settled[cs_id] = (closed_at, doc_id)
    if not settled:
        return
    reviewed = session.execute(
        select(FieldChangeRow.change_set_id)
        .where(
            FieldChangeRow.change_set_id.in_(list(settled)),
            FieldChangeRow.first_reviewer.is_not(None),
        )
        .distinct()
    ).scalars()
    for cs_id in reviewed:
        facts[settled[cs_id][1]].by_clerk = True


def _channel_of(fact: _Facts) -> str:
    """The channel of the last message before the first answer, else of the last one."""
    sends = sorted(fact.sends)
    if not sends:
        return NO_CHANNEL
    if fact.first_answer is not None:
        before = [channel for at, channel in sends if at <= fact.first_answer]
        if before:
            return before[-1]
    return sends[-1][1]


def _count(row: FunnelRow, fact: _Facts) -> None:
    row.issued += 1
    sent = bool(fact.sends)
    row.sent += sent
    bounced = EventKind.BOUNCED in fact.kinds
    row.bounced += bounced
    row.failed += EventKind.FAILED in fact.kinds
    row.fallbacks += fact.fallbacks
    row.deferred += EventKind.DEFERRED in fact.kinds
    row.suppressed += EventKind.SUPPRESSED in fact.kinds
    row.held.update(fact.held)
    delivered = (
        EventKind.DELIVERED in fact.kinds
        or EventKind.PRINTED in fact.kinds
        or (fact.email_sent and not bounced)
    )
    row.delivered += delivered
    row.opened += fact.opened_at is not None
    if fact.first_answer is None:
        return
    row.answered += 1
    start = min(at for at, _ in fact.sends) if sent else fact.issued_at
    row.answer_seconds.append(max(0.0, (fact.first_answer - start).total_seconds()))
    if fact.settled:
        row.applied += 1
        row.straight_through += not fact.by_clerk
        if fact.applied_at is not None:
            row.apply_seconds.append(
                max(0.0, (fact.applied_at - fact.first_answer).total_seconds())
            )
