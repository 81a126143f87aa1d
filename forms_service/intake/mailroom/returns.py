"""Flattened PDF returns read by the mailroom: their pages' outcome is written back to the return.

A PDF return with no fields left becomes a scan batch of its own (`ScanBatch.pdf_return_id`).
Once a page of it is identified, the return names the page's document; once the document's
paper submission is stored, the return names it too (status `scanned`). A return is one
customer's answer to one letter: a page whose code names another document than the return's
(the link it was uploaded on, its token, or its first identified page) is never read into
that other document's answer. It waits in the exception queue (`other_document`) with a
security event, and only an operator's assignment lets it go further.

Every return ends in a final status with an audit event `pdf_return_<status>`:
- `scanned` as soon as its document's paper submission is stored (the answer the customer
  sent is there; a stray page may still wait for an operator, and its outcome is shown per
  page);
- otherwise, once no page of its batch waits for a job or an operator (each is submitted
  or rejected): `assigned_elsewhere` when an operator assigned pages to other documents'
  answers, `rejected` when every page was set aside and nothing was read from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forms_service.audit import service as audit
from forms_service.core.i18n import N_
from forms_service.intake.mailroom.reasons import Reason
from forms_service.storage.model import (
    AnswerChannel,
    ChangeSet,
    Document,
    PdfReturn,
    PdfReturnStatus,
    SecurityEvent,
    Submission,
)
from forms_service.storage.scans import (
    FINAL_PAGE_STATUSES,
    PageStatus,
    ScanBatch,
    ScanPage,
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
) -> tuple[str, Reason] | None:
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
        Reason(
            N_(
                "this page's QR code names document %(reference)s, but the PDF return it came "
                "in answers another document (the link it was uploaded on, or its first "
                "page): it was not read into either answer; assign it only if it really "
                "belongs there"
            ),
            {"reference": document.reference},
        ),
    )


def submitted(
    session: Session, batch_ids: Iterable[str], submission: Submission, *, now: dt.datetime
) -> bool:
    """Name a scanned submission on the PDF returns whose pages it was read from.

    Returns:
        Whether a return was named: the submission is then a PDF return read by scan.
    """
    named = False
    for pdf_return in _awaiting(session, batch_ids):
        if pdf_return.document_id != submission.document_id:
            continue
        pdf_return.submission_id = submission.id
        named = True
        _conclude(session, pdf_return, PdfReturnStatus.SCANNED, now=now)
    return named


@dataclass(frozen=True)
class SettledPage:
    """What one page of a return's batch became: its status, and the answer it went into."""

    status: PageStatus
    document_id: str | None = None
    submission_id: str | None = None


def outcome_of(
    pages: Sequence[SettledPage], document_id: str | None
) -> tuple[PdfReturnStatus, str | None] | None:
    """The final status of a return whose document is `document_id`, and its submission.

    None while a page waits for its job or an operator. A page submitted into the return's
    document makes it `scanned` (with that submission); pages submitted only into other
    documents' answers make it `assigned_elsewhere`; no page submitted at all, `rejected`.
    """
    if not pages or any(p.status not in FINAL_PAGE_STATUSES for p in pages):
        return None
    submitted = [p for p in pages if p.status is PageStatus.SUBMITTED]
    own = [p.submission_id for p in submitted if p.document_id == document_id]
    if own:
        return PdfReturnStatus.SCANNED, own[0]
    if submitted:
        return PdfReturnStatus.ASSIGNED_ELSEWHERE, None
    return PdfReturnStatus.REJECTED, None


def settle(session: Session, batch_ids: Iterable[str], *, now: dt.datetime) -> None:
    """Give its final status to a PDF return of these batches whose every page is settled.

    Called in the transaction that settled a page (submitted with its document's answer, or
    rejected), after the page rows are written and before that transaction's own audit event
    (the returns are locked before the audit chain, as in every settling transaction). The
    return row's lock serialises two transactions settling the last pages of one return: the
    second sees the first's pages once it holds the lock.
    """
    for pdf_return in _awaiting(session, batch_ids):
        pages = [
            SettledPage(status, document_id, submission_id)
            for status, document_id, submission_id in session.execute(
                select(ScanPage.status, ScanPage.document_id, ScanPage.submission_id)
                .join(ScanBatch, ScanBatch.id == ScanPage.batch_id)
                .where(ScanBatch.pdf_return_id == pdf_return.id)
            )
        ]
        outcome = outcome_of(pages, pdf_return.document_id)
        if outcome is None:
            continue
        status, submission_id = outcome
        # Named already by `submitted`, unless the return's document was named after it.
        if pdf_return.submission_id is None and submission_id is not None:
            pdf_return.submission_id = submission_id
            _scanned_from_return(session, submission_id)
        _conclude(session, pdf_return, status, now=now, pages=pages)


def _scanned_from_return(session: Session, submission_id: str) -> None:
    """A paper answer found to come from a PDF return afterwards says so, as its change set."""
    paper, scan = AnswerChannel.PAPER.value, AnswerChannel.PDF_SCAN.value
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.channel == paper)
        .values(channel=scan)
    )
    session.execute(
        update(ChangeSet)
        .where(ChangeSet.submission_id == submission_id, ChangeSet.channel == paper)
        .values(channel=scan)
        .execution_options(synchronize_session="fetch")
    )


def _awaiting(session: Session, batch_ids: Iterable[str]) -> list[PdfReturn]:
    """The returns read by these batches that wait for their pages, locked (not the batches).

    Only the return rows are locked: the batches of other documents' pages are locked by
    their own page jobs first, and locking them here, after the document, could deadlock.
    """
    return list(
        session.execute(
            select(PdfReturn)
            .join(ScanBatch, ScanBatch.pdf_return_id == PdfReturn.id)
            .where(
                ScanBatch.id.in_(list(batch_ids)),
                PdfReturn.status == PdfReturnStatus.AWAITING_SCAN,
            )
            .order_by(PdfReturn.id)
            .with_for_update(of=PdfReturn)
        ).scalars()
    )


def _conclude(
    session: Session,
    pdf_return: PdfReturn,
    status: PdfReturnStatus,
    *,
    now: dt.datetime,
    pages: Sequence[SettledPage] = (),
) -> None:
    pdf_return.status = status
    detail: dict[str, object] = {"return": pdf_return.id, "status": status.value}
    if pdf_return.submission_id:
        detail["submission"] = pdf_return.submission_id
    if pages:
        detail["pages"] = {
            "submitted": sum(p.status is PageStatus.SUBMITTED for p in pages),
            "rejected": sum(p.status is PageStatus.REJECTED for p in pages),
        }
        elsewhere = {
            p.document_id
            for p in pages
            if p.status is PageStatus.SUBMITTED and p.document_id != pdf_return.document_id
        }
        if elsewhere:
            detail["documents"] = sorted(d for d in elsewhere if d)
    audit.record(
        session,
        f"pdf_return_{status.value}",
        actor="mailroom",
        at=now,
        document_id=pdf_return.document_id,
        detail=detail,
    )
