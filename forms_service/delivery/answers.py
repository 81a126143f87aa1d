"""Whether a document still waits for an answer: what stops fallbacks and reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.model import (
    Document,
    DocumentStatus,
    PdfReturn,
    PdfReturnStatus,
    Submission,
)
from forms_service.storage.scans import PageStatus, ScanPage


@dataclass(frozen=True)
class DocumentFacts:
    """What planning a send reads of a document (not its snapshot): a plain row."""

    id: str
    form_id: str
    record_key: str
    campaign: str
    status: DocumentStatus
    revoked_at: dt.datetime | None
    expires_at: dt.datetime


#: The columns of `DocumentFacts`, in order.
FACT_COLUMNS = (
    Document.id,
    Document.form_id,
    Document.record_key,
    Document.campaign,
    Document.status,
    Document.revoked_at,
    Document.expires_at,
)


def is_open(document: Document | DocumentFacts, now: dt.datetime) -> bool:
    """Whether the document's link still works: not answered, closed, revoked or expired."""
    return (
        document.status in (DocumentStatus.ISSUED, DocumentStatus.OPENED)
        and document.revoked_at is None
        and document.expires_at > now
    )


def has_answer(session: Session, document_id: str) -> bool:
    """Whether any answer exists for the document, on any channel, even one not yet read.

    A submission (online, PDF, paper), an accepted PDF return, or a scanned page assigned to
    the document that an operator has not rejected (waiting in the mailroom).
    """
    if session.scalars(select(Submission.id).where(Submission.document_id == document_id)).first():
        return True
    returned = session.scalars(
        select(PdfReturn.id).where(
            PdfReturn.document_id == document_id, PdfReturn.status != PdfReturnStatus.REJECTED
        )
    ).first()
    if returned is not None:
        return True
    page = session.scalars(
        select(ScanPage.id).where(
            ScanPage.document_id == document_id, ScanPage.status != PageStatus.REJECTED
        )
    ).first()
    return page is not None


def opted_out_among(session: Session, document_ids: Collection[str]) -> set[str]:
    """The documents among `document_ids` whose customer opted out (one query per 500)."""
    ids = sorted(set(document_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            session.scalars(
                select(DocumentEvent.document_id).where(
                    DocumentEvent.document_id.in_(ids[start : start + 500]),
                    DocumentEvent.kind == EventKind.OPTED_OUT,
                )
            )
        )
    return found


def opted_out(session: Session, document_id: str) -> bool:
    """Whether the document's customer opted out (an `opted_out` event in its history).

    The consent issue's unsubscribe page records the event; commercial messages are then
    suppressed, service messages still go.
    """
    return document_id in opted_out_among(session, [document_id])
