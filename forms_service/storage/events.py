"""A document's history: one row per thing that happened to it, on which channel, when.

Every layer that sees something happen to a document records it here (issuing: issued;
delivery: sent, delivered, bounced, failed, fallback, reminder, printed, unreachable; the
online channel: link opened, identity answered; every intake channel: submitted; changes:
applied, rejected; consent: opted out; the consent gate: deferred, suppressed). The API, the back office and the dashboard read it.
Rows are only ever added. `detail` holds figures and codes, never personal data.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from forms_service.storage.model import Base, _enum


class EventKind(StrEnum):
    """What happened to a document."""

    ISSUED = "issued"
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    PRINTED = "printed"
    FALLBACK = "fallback"
    REMINDER_SENT = "reminder_sent"
    OPENED = "opened"
    IDENTITY_ANSWERED = "identity_answered"
    SUBMITTED = "submitted"
    APPLIED = "applied"
    REJECTED = "rejected"
    OPTED_OUT = "opted_out"
    #: The consent gate held a message back until a later time (the rule and its numbers).
    DEFERRED = "deferred"
    #: The consent gate stopped a message for good (the rule and its numbers).
    SUPPRESSED = "suppressed"


class DocumentEvent(Base):
    """One event of one document's history."""

    __tablename__ = "document_events"
    __table_args__ = (
        Index("ix_document_events_document_at", "document_id", "at"),
        Index("ix_document_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(32), ForeignKey("documents.id"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    #: email, sms, letter (outbound) or online, pdf, paper (answers); None when no channel.
    channel: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    #: The outbound message concerned, when there is one (delivery's message id).
    message_id: Mapped[str | None] = mapped_column(String(32))
    #: Codes and figures (reason codes, the next channel, a reminder's number): no personal data.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_event(
    session: Session,
    document_id: str,
    kind: EventKind,
    *,
    at: dt.datetime,
    channel: str | None = None,
    message_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> DocumentEvent:
    """Add an event to a document's history in the caller's transaction."""
    event = DocumentEvent(
        document_id=document_id,
        kind=kind,
        channel=channel,
        at=at,
        message_id=message_id,
        detail=dict(detail or {}),
    )
    session.add(event)
    return event
