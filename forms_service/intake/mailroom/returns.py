"""Flattened PDF returns read by the mailroom: their pages' outcome is written back to the return.

A PDF return with no fields left becomes a scan batch of its own (`ScanBatch.pdf_return_id`).
Once a page of it is identified, the return names the page's document; once the document's
paper submission is stored, the return names it too (status `scanned`). A return is one
customer's answer to one letter: a page whose code names another document than the return's
(the link it was uploaded on, its token, or its first identified page) is never read into
that other document's answer. It waits in the exception queue (`other_document`) with a
security event, and only an operator's assignment lets it go further.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.intake.mailroom.model import ScanBatch
from forms_service.storage.model import (
    Document,
    PdfReturn,
    PdfReturnStatus,
    SecurityEvent,
    Submission,
)

#: The exception of a page of a PDF return whose code names another document.
OTHER_DOCUMENT = "other_document"


def return_of_batch(session: Session, batch_id: str) -> PdfReturn | None:
    """The PDF return a batch reads (locked), or None for a batch of paper scans."""
    return_id = session.execute(
        select(ScanBatch.pdf_return_id).where(ScanBatch.id == batch_id)
    ).scalar_one_or_none()
    if return_id is None:
        return None
    return session.get(PdfReturn, return_id, with_for_update=True)


def identified(
    session: Session,
    pdf_return: PdfReturn,
    document: Document,
    *,
    assigned: bool,
    now: dt.datetime,
) -> tuple[str, str] | None:
    """Name the page's document on its return; why the page cannot join it, if it cannot.

    Called under the batch lock, so two pages of one return are settled one after the
    other and the first identified page names a return that had no document yet.
    An operator's assignment (`assigned`) is a person's decision and is not refused.
    """
    if pdf_return.document_id is None:
        pdf_return.document_id = document.id
        return None
    if pdf_return.document_id == document.id or assigned:
        return None
    session.add(
        SecurityEvent(
            at=now,
            kind="pdf_other_document",
            document_id=pdf_return.document_id,
            client=None,
            detail=f"a page of return {pdf_return.id} names another document",
        )
    )
    return (
        OTHER_DOCUMENT,
        f"this page's QR code names document {document.reference}, but the PDF return it "
        "came in answers another document (the link it was uploaded on, or its first page): "
        "it was not read into either answer; assign it only if it really belongs there",
    )


def submitted(session: Session, batch_ids: Iterable[str], submission: Submission) -> None:
    """Name a paper submission on the PDF returns whose pages it was read from."""
    returns = session.execute(
        select(PdfReturn)
        .join(ScanBatch, ScanBatch.pdf_return_id == PdfReturn.id)
        .where(
            ScanBatch.id.in_(list(batch_ids)),
            PdfReturn.document_id == submission.document_id,
            PdfReturn.status == PdfReturnStatus.AWAITING_SCAN,
        )
        .with_for_update()
    ).scalars()
    for pdf_return in returns:
        pdf_return.submission_id = submission.id
        pdf_return.status = PdfReturnStatus.SCANNED
