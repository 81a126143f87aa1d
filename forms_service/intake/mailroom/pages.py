"""The page job: decode, identify and read one scanned page, then settle it in one transaction.

Every page ends read (and submitted with its document's other pages, completion.py) or in
the exception queue with a code and a reason. Each settling transaction takes its locks in
one order (the batch, the document, the pages, a PDF return), so that the page jobs of one
batch cannot deadlock, and checks the page again, so that a job delivered twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.core.clock import Clock
from forms_service.core.errors import NotFound
from forms_service.core.i18n import N_
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.mailroom import actions, completion, reasons, returns
from forms_service.intake.mailroom.actions import Action
from forms_service.intake.mailroom.completion import MISSING_PAGES
from forms_service.intake.mailroom.files import PageProblem, blank_problem, load_page
from forms_service.intake.mailroom.identification import (
    Identity,
    PageException,
    identify,
    letter_document,
    short_link_document,
)
from forms_service.intake.mailroom.reading import (
    BlankOf,
    GeometryOf,
    ReadingSettings,
    page_png,
    page_thumbnail,
    read_scanned_page,
)
from forms_service.intake.mailroom.reasons import Reason
from forms_service.issuing.layout import LayoutVersions
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.tokens import LinkSigner
from forms_service.storage.filestore import FileStore
from forms_service.storage.model import Document, DocumentStatus, Submission, SubmissionStatus
from forms_service.storage.scans import (
    PENDING_PAGE_STATUSES,
    BatchStatus,
    PageStatus,
    ScanBatch,
    ScanPage,
)
from ocr.interfaces import OcrEngine
from ocr.manual import Alignment

log = logging.getLogger(__name__)

#: Called after commit with a new submission's id (the change-set proposal).
ProposeHook = Callable[[str], object]
#: Page problems that need no operator: the page is kept, set aside as rejected (a covering
#: letter sent back, a blank sheet: nothing on it but dust, see files.is_blank; a near-blank
#: one: the back of a sheet, a separator, see files.blank_problem).
SET_ASIDE = frozenset({"covering_letter", "blank_page", "near_blank_page"})
#: Runs of a page's job that may start without settling it (a worker killed or lost while
#: reading it) before the page goes to an operator instead: a page that kills its worker
#: every time would otherwise be sent again by every `requeue`, and its batch (and the PDF
#: return it may read) would never end.
MAX_ATTEMPTS = 3
#: The exception of a page whose job started MAX_ATTEMPTS times without settling it.
WORKER_LOST = "worker_lost"


class PageJob:
    """The job `mailroom.read_page`; mixed into MailroomIntake, which provides the rest."""

    sessions: sessionmaker[Session]
    files: FileStore
    definitions: Mapping[str, FormDefinition]
    codes: PageCodes
    engine: Callable[[], OcrEngine]
    propose: ProposeHook | None
    clock: Clock
    reading: ReadingSettings
    layouts: LayoutVersions
    geometry: GeometryOf
    signer: LinkSigner | None
    blank: BlankOf | None

    def read_page(self, page_id: str) -> PageStatus:
        """Decode, identify and read one page; complete its document's answer when whole.

        Idempotent: a page already read (a job delivered twice) is left as it is, and so
        is one another run of the job settled while this one was reading it. Any problem
        with the page puts it in the exception queue with its reason; the batch goes on
        with its other pages.
        """
        with self.sessions() as session, session.begin():
            page = session.get(ScanPage, page_id, with_for_update=True)
            if page is None:
                raise NotFound("unknown scan page", field="page")
            if page.status not in PENDING_PAGE_STATUSES:
                return page.status
            lost = page.attempts >= MAX_ATTEMPTS
            if not lost:
                page.status = PageStatus.PROCESSING
                page.attempts += 1
                page.updated_at = self.clock()
            file_key, media_type, index = (
                page.file.content_key,
                page.file.media_type,
                page.file_page,
            )
            assigned = _assigned_identity(page)
            # How the operator who assigned the page chose to align it (operators.assign).
            alignment = Alignment(page.readings.get("alignment", Alignment.SQUARES.value))
            turn = page.readings.get("turn")
            # An operator said this page is not blank (operators.not_blank): read it anyway.
            not_blank = bool(page.readings.get("not_blank"))
            # A flattened PDF return answers on the PDF channel: its PDF-only fields count.
            channel = Channel.PDF if page.batch.pdf_return_id else Channel.PAPER
        if lost:
            return self._settle_exception(
                page_id,
                WORKER_LOST,
                Reason(
                    N_(
                        "reading this page was started %(attempts)s times and never finished "
                        "(its worker stopped each time): assign it to try again, or reject it"
                    ),
                    {"attempts": MAX_ATTEMPTS},
                ),
                None,
                None,
            )
        image_key: str | None = None
        thumb_key: str | None = None
        try:
            gray = load_page(self.files.get(file_key), media_type, index, check_blank=False)
            # Kept before anything is decided, blank pages too: the screens show them.
            image_key = self.files.put(page_png(gray), suffix=".png")
            thumb_key = self.files.put(page_thumbnail(gray), suffix=".png")
            problem = None if not_blank else blank_problem(gray)
            if problem is not None:
                raise problem
            result = read_scanned_page(
                gray,
                identify_payload=self._identify,
                assigned=assigned,
                definitions=self.definitions,
                engine=self.engine(),
                files=self.files,
                settings=self.reading,
                geometry=self.geometry,
                blank=self.blank,
                alignment=alignment if assigned else Alignment.SQUARES,
                turn=turn if assigned else None,
                channel=channel,
            )
        except (PageProblem, PageException) as exc:
            document_id = getattr(exc, "document_id", None)
            return self._settle_exception(
                page_id, exc.code, exc.why, image_key, document_id, thumb_key
            )
        except Exception:  # one broken page must not stop the batch; it waits for a person
            log.exception("scan page %s could not be read", page_id)
            return self._settle_exception(
                page_id,
                "internal_error",
                Reason(
                    N_(
                        "the page could not be read because of an internal error: assign it to retry"
                    )
                ),
                image_key,
                None,
                thumb_key,
            )
        return self._settle_read(
            page_id, image_key, thumb_key, result.identity, result.zones, result.rotation
        )

    def _identify(self, payload: str) -> Identity:
        with self.sessions() as session:
            return identify(
                payload,
                codes=self.codes,
                find_document=lambda document_id: session.get(Document, document_id),
                definitions=self.definitions,
                letter_of=lambda payload: self._letter_of(session, payload),
                layouts=self.layouts,
            )

    def _letter_of(self, session: Session, payload: str) -> str | None:
        if self.signer is None:
            return None
        return letter_document(
            payload,
            self.signer,
            self.clock(),
            short_link=lambda code: short_link_document(session, code),
        )

    @staticmethod
    def _lock_batch_of(session: Session, page_id: str) -> None:
        """Lock the page's batch first, before the document, the pages and the audit chain.

        Every transaction that settles a page takes its locks in that one order, so that
        two page jobs of one batch cannot deadlock.
        """
        batch_id = session.execute(
            select(ScanPage.batch_id).where(ScanPage.id == page_id)
        ).scalar_one()
        session.get(ScanBatch, batch_id, with_for_update=True)

    def _settle_exception(
        self,
        page_id: str,
        code: str,
        reason: Reason,
        image_key: str | None,
        document_id: str | None,
        thumb_key: str | None = None,
    ) -> PageStatus:
        with self.sessions() as session, session.begin():
            self._lock_batch_of(session, page_id)
            page = session.get(ScanPage, page_id, with_for_update=True)
            assert page is not None  # noqa: S101 - read at the start of the job
            if page.status not in PENDING_PAGE_STATUSES:
                return page.status  # settled by another run of the job meanwhile
            page.status = PageStatus.EXCEPTION
            page.exception = code
            reasons.record(page, reason)
            page.image_key = image_key or page.image_key
            page.thumb_key = thumb_key or page.thumb_key
            page.document_id = page.document_id or document_id
            page.updated_at = self.clock()
            if code in SET_ASIDE:
                # Kept and shown in the batch, but no operator needs to look at it.
                page.status = PageStatus.REJECTED
                page.resolved_by = actions.MAILROOM
                page.resolved_at = page.updated_at
                returns.settle(session, [page.batch_id], now=page.updated_at)
                actions.record(
                    session,
                    page.batch_id,
                    Action.SET_ASIDE,
                    actor=actions.MAILROOM,
                    at=page.updated_at,
                    page_id=page.id,
                    detail={"exception": code},
                )
            status = page.status
            self._finish_batch(session, page.batch_id)
        return status

    def _settle_read(
        self,
        page_id: str,
        image_key: str | None,
        thumb_key: str | None,
        identity: Identity,
        zones: Sequence[Mapping[str, Any]],
        rotation: int,
    ) -> PageStatus:
        submitted: list[str] = []
        with self.sessions() as session, session.begin():
            self._lock_batch_of(session, page_id)
            # The document row is the lock that serialises the pages of one document.
            document = session.get(Document, identity.document_id, with_for_update=True)
            page = session.get(ScanPage, page_id, with_for_update=True)
            assert page is not None and document is not None  # noqa: S101 - identified
            if page.status not in PENDING_PAGE_STATUSES:
                # Another run of this job settled the page while this one read it (a job
                # handed out again to a second worker, e.g. after a visibility timeout):
                # its result stands, or the page would be flagged as its own duplicate.
                return page.status
            page.image_key = image_key
            page.thumb_key = thumb_key
            page.document_id = identity.document_id
            page.form_id = identity.form_id
            page.form_version = identity.version
            page.form_page = identity.page
            page.layout_version = identity.layout
            page.readings = {"zones": list(zones), "rotation": rotation}
            page.updated_at = self.clock()
            page.exception = None
            reasons.record(page, None)
            assigned = bool(page.assigned_by)
            pdf_return = returns.return_of_batch(session, page.batch_id)
            problem = (
                returns.identified(
                    session, pdf_return, document, assigned=assigned, now=page.updated_at
                )
                if pdf_return is not None
                else None
            )
            if problem is None and not assigned:
                problem = _duplicate(session, page, document)
            if problem is not None:
                page.status = PageStatus.EXCEPTION
                page.exception, why = problem
                reasons.record(page, why)
            else:
                page.status = PageStatus.READ
                submission_id = completion.complete(
                    session,
                    document,
                    page,
                    definitions=self.definitions,
                    geometry=self.geometry,
                    clock=self.clock,
                )
                if submission_id:
                    submitted.append(submission_id)
            status = page.status
            self._finish_batch(session, page.batch_id)
        self._propose(submitted)
        return status

    def _finish_batch(self, session: Session, batch_id: str) -> None:
        """Once no page of the batch waits for its job, flag documents with missing pages."""
        batch = session.get(ScanBatch, batch_id, with_for_update=True)
        assert batch is not None  # noqa: S101 - pages belong to a batch
        pending = session.execute(
            select(func.count())
            .select_from(ScanPage)
            .where(ScanPage.batch_id == batch_id, ScanPage.status.in_(PENDING_PAGE_STATUSES))
        ).scalar_one()
        if pending:
            return
        now = self.clock()
        # Locked, and the status checked again once a concurrent completion has committed.
        waiting = session.execute(
            select(ScanPage)
            .where(ScanPage.batch_id == batch_id, ScanPage.status == PageStatus.READ)
            .with_for_update()
        ).scalars()
        for page in waiting:
            definition = self.definitions.get(page.form_id or "")
            layout = page.layout_version or 1
            total = len(self.geometry(definition, layout).pages) if definition else 0
            page.status = PageStatus.EXCEPTION
            page.exception = MISSING_PAGES
            reasons.record(
                page,
                Reason(
                    N_(
                        "page %(page)s of %(total)s arrived without the document's other "
                        "pages: assign it to submit what was received, or reject it"
                    ),
                    {"page": page.form_page or 0, "total": total},
                ),
            )
            page.updated_at = now
        if batch.status is not BatchStatus.DONE:
            batch.status = BatchStatus.DONE
            batch.finished_at = now

    def _propose(self, submission_ids: Sequence[str]) -> None:
        if self.propose is None:
            return
        for submission_id in submission_ids:
            try:
                self.propose(submission_id)
            except Exception:  # the submission is stored; the proposal is retried later
                log.exception("cannot propose submission %s", submission_id)


def _assigned_identity(page: ScanPage) -> Identity | None:
    if not page.assigned_by or not page.document_id or not page.form_id:
        return None
    return Identity(
        page.document_id,
        page.form_id,
        page.form_version or 0,
        page.form_page or 1,
        page.layout_version or 1,
    )


def _duplicate(session: Session, page: ScanPage, document: Document) -> tuple[str, Reason] | None:
    """Why a freshly read page cannot join its document's answer, if it cannot."""
    other = session.execute(
        select(ScanPage)
        .where(
            ScanPage.document_id == document.id,
            ScanPage.form_page == page.form_page,
            ScanPage.id != page.id,
            ScanPage.status.in_((PageStatus.READ, PageStatus.SUBMITTED)),
        )
        .limit(1)
    ).scalar_one_or_none()
    if other is not None and other.batch_id == page.batch_id:
        return (
            "duplicate_page",
            Reason(
                N_(
                    "page %(page)s of document %(reference)s is already in this batch "
                    "(page %(sequence)s)"
                ),
                {
                    "page": page.form_page or 0,
                    "reference": document.reference,
                    "sequence": other.sequence,
                },
            ),
        )
    if other is not None:
        return (
            "page_of_another_batch",
            Reason(
                N_("page %(page)s of document %(reference)s was already received in another batch"),
                {"page": page.form_page or 0, "reference": document.reference},
            ),
        )
    pending = session.execute(
        select(Submission.channel)
        .where(
            Submission.document_id == document.id,
            Submission.status.in_((SubmissionStatus.RECEIVED, SubmissionStatus.IN_REVIEW)),
        )
        .limit(1)
    ).scalar_one_or_none()
    if pending is not None or document.status is DocumentStatus.CLOSED:
        if pending:
            return (
                "already_answered",
                Reason(
                    N_("document %(reference)s: an answer (%(channel)s) is being processed"),
                    {"reference": document.reference, "channel": pending},
                ),
            )
        return (
            "already_answered",
            Reason(
                N_("document %(reference)s: its answer was processed"),
                {"reference": document.reference},
            ),
        )
    return None
