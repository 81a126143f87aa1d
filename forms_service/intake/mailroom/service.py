"""Mailroom use cases: receive a batch (stored first), read each page as a job, complete answers.

A batch's files go to the file store and its pages to the database before any job runs; one
job per page decodes, identifies and reads it; when every page of a document is read, the
paper submission is stored and handed to the change-set proposal. Every page ends either
submitted, or in the exception queue (with a code and a reason) until an operator assigns
it to a document or rejects it: nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.clock import Clock, utc_now
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.errors import InvalidInput, NotFound
from forms_service.intake.mailroom import returns
from forms_service.intake.mailroom.files import (
    PageProblem,
    count_pages,
    load_page,
    media_type_of,
)
from forms_service.intake.mailroom.model import (
    PENDING_PAGE_STATUSES,
    BatchStatus,
    PageStatus,
    ScanBatch,
    ScanFile,
    ScanPage,
)
from forms_service.intake.mailroom.operators import OperatorActions
from forms_service.intake.mailroom.reading import (
    BlankOf,
    GeometryOf,
    Identity,
    PageException,
    ReadingSettings,
    answer_of,
    identify,
    letter_document,
    page_png,
    read_scanned_page,
)
from forms_service.issuing.layout import LAYOUTS, LayoutVersions
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.tokens import LinkSigner, new_document_id
from forms_service.jobs.interfaces import JobQueue
from forms_service.storage.filestore import FileStore
from forms_service.storage.model import (
    Document,
    DocumentStatus,
    PdfReturn,
    Submission,
    SubmissionStatus,
)
from ocr.interfaces import OcrEngine

log = logging.getLogger(__name__)

#: Called after commit with a new submission's id (the change-set proposal).
ProposeHook = Callable[[str], object]

READ_PAGE_JOB = "mailroom.read_page"
#: Page problems that need no operator: the page is kept, set aside as rejected.
SET_ASIDE = frozenset({"covering_letter"})
#: A page read, waiting for the document's other pages after its batch ended.
MISSING_PAGES = "missing_pages"
#: Batch sources.
SOURCES = ("upload", "api", "cli", "watch", "pdf_return")
MAX_FILES = 200


@dataclass(frozen=True)
class Upload:
    """One file handed to the mailroom: its name (as the scanner named it) and its bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class ReceivedBatch:
    """A stored batch: its id and how many pages were queued."""

    id: str
    pages: int
    files: int


class MailroomService(OperatorActions):
    """Receives scan batches, reads their pages, and lets operators settle exceptions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        files: FileStore,
        definitions: Mapping[str, FormDefinition],
        codes: PageCodes,
        jobs: JobQueue,
        engine: Callable[[], OcrEngine],
        *,
        propose: ProposeHook | None = None,
        clock: Clock = utc_now,
        reading: ReadingSettings | None = None,
        geometry: GeometryOf | None = None,
        signer: LinkSigner | None = None,
        blank: BlankOf | None = None,
        layouts: LayoutVersions = LAYOUTS,
    ) -> None:
        self.sessions = sessions
        self.files = files
        self.definitions = definitions
        self.codes = codes
        self.jobs = jobs
        self.engine = engine
        self.propose = propose
        self.clock = clock
        self.reading = reading or ReadingSettings()
        #: Every layout version pages may have been printed with.
        self.layouts = layouts
        self.geometry = geometry or layouts.geometry
        self.signer = signer
        self.blank = blank

    # -- intake ----------------------------------------------------------------------------

    def receive(
        self,
        uploads: Sequence[Upload],
        *,
        source: str,
        actor: str,
        pdf_return_id: str | None = None,
    ) -> ReceivedBatch:
        """Store a batch and its files, then queue one job per page.

        Every file is checked for its format first: a batch with a file that is not a PDF,
        TIFF, PNG or JPEG is refused whole (nothing stored). A file that cannot be opened
        (protected PDF, corrupt TIFF) is kept as one page whose job reports the error.
        `pdf_return_id` names the flattened PDF return the batch reads (see returns.py).

        Raises:
            InvalidInput: no file, too many files, an empty or unsupported file.
        """
        if source not in SOURCES:
            raise InvalidInput(f"unknown batch source {source!r}", field="source")
        if not uploads:
            raise InvalidInput("send at least one scanned file", field="files")
        if len(uploads) > MAX_FILES:
            raise InvalidInput(f"at most {MAX_FILES} files per batch", field="files")
        media = []
        for upload in uploads:
            if not upload.content:
                raise InvalidInput("the file is empty", field=_safe_name(upload.filename))
            media.append(media_type_of(upload.content, _safe_name(upload.filename)))
        # Files first: a database row never points to a file that is not stored.
        keys = [
            self.files.put(u.content, suffix=_suffix(m))
            for u, m in zip(uploads, media, strict=True)
        ]
        counts = [count_pages(u.content, m) for u, m in zip(uploads, media, strict=True)]
        now = self.clock()
        batch_id = new_document_id()
        page_ids: list[str] = []
        with self.sessions() as session, session.begin():
            batch = ScanBatch(
                id=batch_id,
                source=source,
                actor=actor,
                status=BatchStatus.PROCESSING,
                pages_total=sum(counts),
                created_at=now,
                pdf_return_id=pdf_return_id,
            )
            session.add(batch)
            sequence = 0
            for position, (upload, media_type, key, pages) in enumerate(
                zip(uploads, media, keys, counts, strict=True), start=1
            ):
                stored = ScanFile(
                    batch=batch,
                    position=position,
                    filename=_safe_name(upload.filename),
                    media_type=media_type,
                    content_key=key,
                    size=len(upload.content),
                    pages=pages,
                )
                session.add(stored)
                for index in range(pages):
                    sequence += 1
                    page = ScanPage(
                        id=new_document_id(),
                        batch=batch,
                        file=stored,
                        file_page=index,
                        sequence=sequence,
                        status=PageStatus.QUEUED,
                        readings={},
                        attempts=0,
                        updated_at=now,
                    )
                    session.add(page)
                    page_ids.append(page.id)
            session.flush()
            audit.record(
                session,
                "scan_batch_received",
                actor=actor,
                at=now,
                detail={
                    "batch": batch_id,
                    "files": len(uploads),
                    "pages": sequence,
                    "source": source,
                },
            )
        self._queue(page_ids)
        return ReceivedBatch(batch_id, len(page_ids), len(uploads))

    def receive_return(self, pdf_return: PdfReturn, content: bytes) -> ReceivedBatch:
        """Take a flattened PDF return (no fields left) from the PDF channel as a scan batch.

        The batch names the return, so that what its pages become is written back to it.
        """
        return self.receive(
            [Upload(f"pdf-return-{pdf_return.id}.pdf", content)],
            source="pdf_return",
            actor="pdf_return",
            pdf_return_id=pdf_return.id,
        )

    def _queue(self, page_ids: Iterable[str]) -> None:
        for page_id in page_ids:
            try:
                self.jobs.enqueue(READ_PAGE_JOB, page_id)
            except Exception:  # the page stays queued; `requeue` sends it again
                log.exception("cannot queue scan page %s", page_id)

    def requeue(self, *, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> int:
        """Send again the jobs of pages still queued or processing after `older_than`.

        A broker that lost a message or a worker that died mid-page leaves such pages; the
        job itself is idempotent, so sending it twice is harmless.
        """
        limit = self.clock() - older_than
        with self.sessions() as session:
            ids = list(
                session.execute(
                    select(ScanPage.id).where(
                        ScanPage.status.in_(PENDING_PAGE_STATUSES), ScanPage.updated_at <= limit
                    )
                ).scalars()
            )
        with self.sessions() as session, session.begin():
            for page in session.execute(select(ScanPage).where(ScanPage.id.in_(ids))).scalars():
                page.status = PageStatus.QUEUED
                page.updated_at = self.clock()
        self._queue(ids)
        return len(ids)

    # -- the page job ----------------------------------------------------------------------

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
            page.status = PageStatus.PROCESSING
            page.attempts += 1
            page.updated_at = self.clock()
            file_key, media_type, index = (
                page.file.content_key,
                page.file.media_type,
                page.file_page,
            )
            assigned = _assigned_identity(page)
        image_key: str | None = None
        try:
            gray = load_page(self.files.get(file_key), media_type, index)
            image_key = self.files.put(page_png(gray), suffix=".png")
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
            )
        except (PageProblem, PageException) as exc:
            document_id = getattr(exc, "document_id", None)
            return self._settle_exception(page_id, exc.code, exc.reason, image_key, document_id)
        except Exception:  # one broken page must not stop the batch; it waits for a person
            log.exception("scan page %s could not be read", page_id)
            return self._settle_exception(
                page_id,
                "internal_error",
                "the page could not be read because of an internal error: assign it to retry",
                image_key,
                None,
            )
        return self._settle_read(page_id, image_key, result.identity, result.zones, result.rotation)

    def _identify(self, payload: str) -> Identity:
        with self.sessions() as session:
            return identify(
                payload,
                codes=self.codes,
                find_document=lambda document_id: session.get(Document, document_id),
                definitions=self.definitions,
                letter_of=self._letter_of,
                layouts=self.layouts,
            )

    def _letter_of(self, payload: str) -> str | None:
        return letter_document(payload, self.signer, self.clock()) if self.signer else None

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
        self, page_id: str, code: str, reason: str, image_key: str | None, document_id: str | None
    ) -> PageStatus:
        with self.sessions() as session, session.begin():
            self._lock_batch_of(session, page_id)
            page = session.get(ScanPage, page_id, with_for_update=True)
            assert page is not None  # noqa: S101 - read at the start of the job
            if page.status not in PENDING_PAGE_STATUSES:
                return page.status  # settled by another run of the job meanwhile
            page.status = PageStatus.EXCEPTION
            page.exception = code
            page.reason = reason[:500]
            page.image_key = image_key or page.image_key
            page.document_id = page.document_id or document_id
            page.updated_at = self.clock()
            if code in SET_ASIDE:
                # Kept and shown in the batch, but no operator needs to look at it.
                page.status = PageStatus.REJECTED
                page.resolved_by = "mailroom"
                page.resolved_at = page.updated_at
            status = page.status
            self._finish_batch(session, page.batch_id)
        return status

    def _settle_read(
        self,
        page_id: str,
        image_key: str | None,
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
            page.document_id = identity.document_id
            page.form_id = identity.form_id
            page.form_version = identity.version
            page.form_page = identity.page
            page.layout_version = identity.layout
            page.readings = {"zones": list(zones), "rotation": rotation}
            page.updated_at = self.clock()
            page.exception = None
            page.reason = None
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
                page.exception, page.reason = problem
            else:
                page.status = PageStatus.READ
                submission_id = self._complete(session, document, page)
                if submission_id:
                    submitted.append(submission_id)
            status = page.status
            self._finish_batch(session, page.batch_id)
        self._propose(submitted)
        return status

    def _complete(self, session: Session, document: Document, page: ScanPage) -> str | None:
        """Store the document's paper answer once all its pages are read.

        The pages may come in different batches: a page left waiting for its other pages
        (exception `missing_pages`) joins them when they arrive, and leaves the queue.
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
        definition = self.definitions[document.form_id]
        # The pages the layout of this page's print has (another layout may flow differently).
        expected = {p.number for p in self.geometry(definition, page.layout_version or 1).pages}
        present = {p.form_page for p in pages}
        forced = any(p.assigned_by for p in pages)
        if not expected <= present and not forced:
            return None
        zones = [zone for p in pages for zone in p.readings.get("zones", [])]
        answer = answer_of(definition, zones)
        now = self.clock()
        submission = Submission(
            id=new_document_id(),
            document_id=document.id,
            channel=Channel.PAPER.value,
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
        returns.submitted(session, {p.batch_id for p in pages}, submission)
        if document.status in (DocumentStatus.ISSUED, DocumentStatus.OPENED):
            document.status = DocumentStatus.ANSWERED
        for read in pages:
            read.status = PageStatus.SUBMITTED
            read.exception = None
            read.reason = None
            read.submission_id = submission.id
            read.updated_at = now
        session.flush()
        audit.record(
            session,
            "submitted",
            actor="mailroom",
            at=now,
            document_id=document.id,
            detail={
                "channel": Channel.PAPER.value,
                "submission": submission.id,
                "batches": sorted({p.batch_id for p in pages}),
                "pages": sorted(present),
            },
        )
        return submission.id

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
            page.reason = (
                f"page {page.form_page} of {total} arrived without the document's other pages: "
                "assign it to submit what was received, or reject it"
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


def _duplicate(session: Session, page: ScanPage, document: Document) -> tuple[str, str] | None:
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
            f"page {page.form_page} of document {document.reference} is already in this batch "
            f"(page {other.sequence})",
        )
    if other is not None:
        return (
            "page_of_another_batch",
            f"page {page.form_page} of document {document.reference} was already received in "
            "another batch",
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
        how = f"an answer ({pending}) is being processed" if pending else "its answer was processed"
        return ("already_answered", f"document {document.reference}: {how}")
    return None


def _suffix(media_type: str) -> str:
    return {
        "application/pdf": ".pdf",
        "image/tiff": ".tiff",
        "image/png": ".png",
        "image/jpeg": ".jpg",
    }.get(media_type, "")


def _safe_name(filename: str) -> str:
    """A file name as shown to operators: no directories, printable, at most 255 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name or "scan")[:255]
