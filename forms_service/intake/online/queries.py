"""The online channel's reads: a link's document and its answers, in one Core statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.orm import Session

from forms_service.storage.model import Document, Submission, SubmissionStatus
from forms_service.storage.service import columns_of, detached

#: Submissions still open to a repeated submit returning them unchanged.
PENDING = (SubmissionStatus.RECEIVED, SubmissionStatus.IN_REVIEW)

# The statements are on the tables (Core).
SUBMISSIONS = cast(Table, Submission.__table__)
DOCUMENTS = cast(Table, Document.__table__)

# The link read, with Core statements built once: a link's document, and for `open_link` its
# answers in the same statement, made into detached ORM objects (storage.service.detached).
# The ORM's own loading of the same rows (session, identity map, load context) was about a
# quarter of the CPU of a form or challenge page.
_DOCUMENT_KEYS = tuple(column.key for column in columns_of(Document))
_ANSWER_PREFIX = "answer_"
_ANSWER_KEYS = tuple(
    (column.key, column.key.removeprefix(_ANSWER_PREFIX))
    for column in columns_of(Submission, prefix=_ANSWER_PREFIX)
)
READ_DOCUMENT = select(*columns_of(Document)).where(DOCUMENTS.c.id == bindparam("document_id"))
READ_DOCUMENT_AND_ANSWERS = (
    select(*columns_of(Document), *columns_of(Submission, prefix=_ANSWER_PREFIX))
    .select_from(DOCUMENTS.outerjoin(SUBMISSIONS, SUBMISSIONS.c.document_id == DOCUMENTS.c.id))
    .where(DOCUMENTS.c.id == bindparam("document_id"))
)


def pending_answer(session: Session, document_id: str) -> Submission | None:
    """The earliest answer of a document still waiting to be processed, if any."""
    return session.execute(
        select(Submission)
        .where(Submission.document_id == document_id, Submission.status.in_(PENDING))
        .order_by(Submission.received_at)
        .limit(1)
    ).scalar_one_or_none()


def answers_of(session: Session, document_id: str) -> list[Submission]:
    """Every answer of a document."""
    # A document has a handful of submissions at most (each answer closes or replaces the last).
    return list(session.scalars(select(Submission).where(Submission.document_id == document_id)))


def document_of(row: Row[Any]) -> Document:
    """The document of a row of `READ_DOCUMENT` or `READ_DOCUMENT_AND_ANSWERS`."""
    mapping = row._mapping
    return detached(Document, {key: mapping[key] for key in _DOCUMENT_KEYS})


def answers_in(rows: Sequence[Row[Any]]) -> list[Submission]:
    """The answers in the rows of `READ_DOCUMENT_AND_ANSWERS` (none for a document without)."""
    return [_answer_of_row(row) for row in rows if row.answer_id]


def _answer_of_row(row: Row[Any]) -> Submission:
    mapping = row._mapping
    return detached(Submission, {key: mapping[label] for label, key in _ANSWER_KEYS})


def shown_answer(answers: list[Submission]) -> Submission | None:
    """The earliest pending answer, else the latest one."""
    pending = [s for s in answers if s.status in PENDING]
    if pending:
        return min(pending, key=lambda s: s.received_at)
    return max(answers, key=lambda s: s.received_at, default=None)
