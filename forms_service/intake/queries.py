"""Read submissions for the API and the back office: filtered pages, single answers, origins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms_service.core.errors import NotFound
from forms_service.storage.model import (
    AnswerChannel,
    ChangeSet,
    Document,
    PdfReturn,
    Submission,
    SubmissionStatus,
)
from forms_service.storage.scans import ScanPage


@dataclass(frozen=True)
class SubmissionFilter:
    """Which submissions to list.

    Attributes:
        form_id: only answers to this form.
        channel: only answers on this channel.
        status: only submissions in this status.
        received_after: only submissions received at or after this time.
        limit: page size (1..200).
        offset: rows to skip.
    """

    form_id: str | None = None
    channel: str | None = None
    status: SubmissionStatus | None = None
    received_after: dt.datetime | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 200:
            raise ValueError("limit must be between 1 and 200")
        if self.offset < 0:
            raise ValueError("offset must not be negative")


@dataclass(frozen=True)
class SubmissionView:
    """One submission with the document it answers (values are personal data)."""

    id: str
    document_id: str
    reference: str
    form_id: str
    channel: str
    status: SubmissionStatus
    locale: str
    received_at: dt.datetime
    opened_at: dt.datetime | None
    change_set_id: str | None
    values: Mapping[str, Any]


@dataclass(frozen=True)
class SubmissionPage:
    """A page of submissions, newest first, and how many match."""

    items: tuple[SubmissionView, ...]
    total: int


def _view(submission: Submission, document: Document, change_set_id: str | None) -> SubmissionView:
    return SubmissionView(
        id=submission.id,
        document_id=document.id,
        reference=document.reference,
        form_id=document.form_id,
        channel=submission.channel,
        status=submission.status,
        locale=submission.locale,
        received_at=submission.received_at,
        opened_at=submission.opened_at,
        change_set_id=change_set_id,
        values=dict(submission.values),
    )


def list_submissions(session: Session, wanted: SubmissionFilter) -> SubmissionPage:
    """Submissions matching `wanted`, newest first."""
    query = (
        select(Submission, Document, ChangeSet.id)
        .join(Document, Submission.document_id == Document.id)
        .outerjoin(ChangeSet, ChangeSet.submission_id == Submission.id)
    )
    if wanted.form_id:
        query = query.where(Document.form_id == wanted.form_id)
    if wanted.channel:
        query = query.where(Submission.channel == wanted.channel)
    if wanted.status:
        query = query.where(Submission.status == wanted.status)
    if wanted.received_after:
        query = query.where(Submission.received_at >= wanted.received_after)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(Submission.received_at.desc(), Submission.id)
        .limit(wanted.limit)
        .offset(wanted.offset)
    ).all()
    return SubmissionPage(
        items=tuple(_view(s, d, c) for s, d, c in rows),
        total=int(total),
    )


def get_submission(session: Session, submission_id: str) -> SubmissionView:
    """One submission by id.

    Raises:
        NotFound: no submission has this id.
    """
    row = session.execute(
        select(Submission, Document, ChangeSet.id)
        .join(Document, Submission.document_id == Document.id)
        .outerjoin(ChangeSet, ChangeSet.submission_id == Submission.id)
        .where(Submission.id == submission_id)
    ).first()
    if row is None:
        raise NotFound("no such submission", field="submission_id")
    submission, document, change_set_id = row
    return _view(submission, document, change_set_id)


@dataclass(frozen=True)
class ScannedPage:
    """A scanned page an answer was read from: its batch and place in it."""

    id: str
    batch_id: str
    sequence: int


@dataclass(frozen=True)
class AnswerOrigin:
    """Where one submission came from, and the records that prove it.

    Attributes:
        channel: the answer's channel (an `AnswerChannel` value).
        pdf_return_id: the PDF return the answer was read from (channels pdf, pdf_scan).
        pages: the scanned pages it was read from (channels pdf_scan, paper), in batch order.
    """

    channel: str
    pdf_return_id: str | None = None
    pages: tuple[ScannedPage, ...] = ()
    #: The returned PDF in the file store (never shown: the back office serves it by change set).
    pdf_file_key: str | None = None

    @property
    def batch_ids(self) -> tuple[str, ...]:
        """The scan batches of its pages, each once, in order."""
        return tuple(dict.fromkeys(p.batch_id for p in self.pages))

    @property
    def scanned(self) -> bool:
        """Whether its values were read from page images."""
        return self.channel in (AnswerChannel.PDF_SCAN, AnswerChannel.PAPER)


def origin_of(session: Session, submission_id: str) -> AnswerOrigin:
    """The origin of submission `submission_id` (indexed look-ups by its id).

    Raises:
        NotFound: no submission has this id.
    """
    channel = session.execute(
        select(Submission.channel).where(Submission.id == submission_id)
    ).scalar_one_or_none()
    if channel is None:
        raise NotFound("no such submission", field="submission_id")
    found = session.execute(
        select(PdfReturn.id, PdfReturn.file_key)
        .where(PdfReturn.submission_id == submission_id)
        .order_by(PdfReturn.received_at, PdfReturn.id)
        .limit(1)
    ).one_or_none()
    return_id, file_key = found if found is not None else (None, None)
    pages = tuple(
        ScannedPage(page_id, batch_id, sequence)
        for page_id, batch_id, sequence in session.execute(
            select(ScanPage.id, ScanPage.batch_id, ScanPage.sequence)
            .where(ScanPage.submission_id == submission_id)
            .order_by(ScanPage.batch_id, ScanPage.sequence)
        )
    )
    return AnswerOrigin(
        channel=channel, pdf_return_id=return_id, pages=pages, pdf_file_key=file_key
    )
