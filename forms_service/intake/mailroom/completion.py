"""A document's paper submission: stored once every page of it is read, from all their readings.

The pages of one document may come in several batches (or several PDF returns); the pages a
document needs are those of the layout version it was printed with.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.audit import service as audit
from forms_service.core.clock import Clock
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.mailroom import reasons, returns
from forms_service.intake.mailroom.answers import answer_of
from forms_service.intake.mailroom.reading import GeometryOf
from forms_service.issuing.tokens import new_document_id
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import (
    AnswerChannel,
    Document,
    DocumentStatus,
    Submission,
    SubmissionStatus,
)
from forms_service.storage.scans import PENDING_PAGE_STATUSES, PageStatus, ScanPage

#: A page read, waiting for the document's other pages after its batch ended.
MISSING_PAGES = "missing_pages"


def complete(
    session: Session,
    document: Document,
    page: ScanPage,
    *,
    definitions: Mapping[str, FormDefinition],
    geometry: GeometryOf,
    clock: Clock,
) -> str | None:
    """Store the document's paper answer once all its pages are read.

    The pages may come in different batches: a page left waiting for its other pages
    (exception `missing_pages`) joins them when they arrive, and leaves the queue. Called
    under the lock of the document row, which serialises the pages of one document.

    Returns:
        The new submission's id, or None while pages are missing.
    """
    waiting = (ScanPage.status == PageStatus.EXCEPTION) & (ScanPage.exception == MISSING_PAGES)
    pages = list(
        session.execute(
            select(ScanPage)
            .where(
                ScanPage.document_id == document.id,
                (ScanPage.status == PageStatus.READ) | waiting,
            )
            .order_by(ScanPage.form_page)
            .with_for_update()
        ).scalars()
    )
    definition = definitions[document.form_id]
    # The pages the layout of this page's print has (another layout may flow differently).
    expected = {p.number for p in geometry(definition, page.layout_version or 1).pages}
    present = {p.form_page for p in pages}
    forced = any(p.assigned_by for p in pages)
    if not expected <= present and not forced:
        return None
    if not expected <= present and _pages_on_their_way(session, document.id):
        # Pages an operator assigned together (bulk.py) are read one by one: the last read
        # submits them all, not the first one alone.
        return None
    zones = [zone for p in pages for zone in p.readings.get("zones", [])]
    # Pages of a flattened PDF return answer on the PDF channel, letters on paper.
    from_pdf = any(p.batch.pdf_return_id for p in pages)
    answer = answer_of(
        definition, zones, document.snapshot, Channel.PDF if from_pdf else Channel.PAPER
    )
    now = clock()
    submission = Submission(
        id=new_document_id(),
        document_id=document.id,
        channel=AnswerChannel.PAPER.value,
        status=SubmissionStatus.RECEIVED,
        raw_values=answer.raw_values,
        values=answer.values,
        base={k: document.snapshot.get(k) for k in answer.values},
        evidence=answer.evidence,
        locale="fr",
        opened_at=None,
        received_at=now,
    )
    session.add(submission)
    session.flush()
    record_event(
        session,
        document.id,
        EventKind.SUBMITTED,
        at=now,
        channel=submission.channel,
        detail={"submission": submission.id},
    )
    batch_ids = {p.batch_id for p in pages}
    if returns.submitted(session, batch_ids, submission, now=now):
        # Pages of a returned PDF: the answer is a PDF return read by scan, not a letter.
        submission.channel = AnswerChannel.PDF_SCAN.value
    if document.status in (DocumentStatus.ISSUED, DocumentStatus.OPENED):
        document.status = DocumentStatus.ANSWERED
    for read in pages:
        read.status = PageStatus.SUBMITTED
        read.exception = None
        reasons.record(read, None)
        read.submission_id = submission.id
        read.updated_at = now
    session.flush()
    # Pages assigned here to another document may settle the returns they came in.
    returns.settle(session, batch_ids, now=now)
    audit.record(
        session,
        "submitted",
        actor="mailroom",
        at=now,
        document_id=document.id,
        detail={
            "channel": submission.channel,
            "submission": submission.id,
            "batches": sorted(batch_ids),
            "pages": sorted(present),
        },
    )
    return submission.id


def _pages_on_their_way(session: Session, document_id: str) -> bool:
    """Whether a page of the document is queued or being read (assigned to it by an operator)."""
    return (
        session.execute(
            select(ScanPage.id)
            .where(
                ScanPage.document_id == document_id,
                ScanPage.status.in_(PENDING_PAGE_STATUSES),
            )
            .limit(1)
        ).first()
        is not None
    )
