"""Read submissions for the API and the back office: filtered pages and single answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms_service.errors import NotFound
from forms_service.storage.model import ChangeSet, Document, Submission, SubmissionStatus


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
