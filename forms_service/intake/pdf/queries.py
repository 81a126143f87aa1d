"""What the API shows of a returned PDF: what it became, and for a flattened one its scan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.core.errors import NotFound
from forms_service.storage.model import PdfReturn, PdfReturnStatus
from forms_service.storage.scans import PageStatus, ScanBatch, ScanPage


@dataclass(frozen=True)
class ReturnPage:
    """One page of a flattened return as the mailroom settled it (no personal data)."""

    sequence: int
    status: PageStatus
    exception: str | None
    #: The document the page was identified as or assigned to (another one's, possibly).
    document_id: str | None = None


@dataclass(frozen=True)
class ReturnView:
    """A returned PDF: its document and submission once known, and the mailroom's pages."""

    id: str
    status: PdfReturnStatus
    document_id: str | None
    submission_id: str | None
    via: str
    received_at: dt.datetime
    batch_id: str | None
    pages: tuple[ReturnPage, ...]


def pdf_return(session: Session, return_id: str) -> ReturnView:
    """One returned PDF by id.

    Raises:
        NotFound: no such return.
    """
    row = session.get(PdfReturn, return_id)
    if row is None:
        raise NotFound("unknown PDF return", field="return_id")
    batch_id = session.execute(
        select(ScanBatch.id).where(ScanBatch.pdf_return_id == row.id)
    ).scalar_one_or_none()
    pages = (
        session.execute(
            select(ScanPage.sequence, ScanPage.status, ScanPage.exception, ScanPage.document_id)
            .where(ScanPage.batch_id == batch_id)
            .order_by(ScanPage.sequence)
        ).all()
        if batch_id is not None
        else []
    )
    return ReturnView(
        id=row.id,
        status=row.status,
        document_id=row.document_id,
        submission_id=row.submission_id,
        via=row.via,
        received_at=row.received_at,
        batch_id=batch_id,
        pages=tuple(ReturnPage(s, st, e, d) for s, st, e, d in pages),
    )
