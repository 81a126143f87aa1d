"""Reading documents' histories: one document's events, and the counts behind the metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms_service.core.errors import NotFound
from forms_service.storage.events import DocumentEvent
from forms_service.storage.messages import Message
from forms_service.storage.model import Document


@dataclass(frozen=True)
class HistoryEntry:
    """One event of a document's history, as the API and the back office show it."""

    kind: str
    at: dt.datetime
    channel: str | None
    message_id: str | None
    detail: Mapping[str, Any]


def document_history(session: Session, document_id: str) -> list[HistoryEntry]:
    """The document's events, oldest first; NotFound when there is no such document."""
    if session.get(Document, document_id) is None:
        raise NotFound("unknown document", field="document")
    rows = session.scalars(
        select(DocumentEvent)
        .where(DocumentEvent.document_id == document_id)
        .order_by(DocumentEvent.at, DocumentEvent.id)
    )
    return [
        HistoryEntry(
            kind=row.kind.value,
            at=row.at,
            channel=row.channel,
            message_id=row.message_id,
            detail=dict(row.detail or {}),
        )
        for row in rows
    ]


def event_counts(session: Session) -> dict[tuple[str, str], int]:
    """(kind, channel) -> events recorded ("" when the event has no channel)."""
    rows = session.execute(
        select(DocumentEvent.kind, DocumentEvent.channel, func.count()).group_by(
            DocumentEvent.kind, DocumentEvent.channel
        )
    )
    return {(kind.value, channel or ""): int(count) for kind, channel, count in rows}


def message_counts(session: Session) -> dict[tuple[str, str], int]:
    """(status, channel) -> messages now in that status."""
    rows = session.execute(
        select(Message.status, Message.channel, func.count()).group_by(
            Message.status, Message.channel
        )
    )
    return {(status.value, channel): int(count) for status, channel, count in rows}
