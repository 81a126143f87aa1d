"""Mailroom use cases: receive a batch (stored first), read each page as a job, complete answers.

A batch's files go to the file store and its pages to the database before any job runs
(here); one job per page decodes, identifies and reads it (pages.py); when every page of a
document is read, the paper submission is stored and handed to the change-set proposal
(completion.py). Every page ends either submitted, or in the exception queue (with a code
and a reason) until an operator assigns it to a document or rejects it (operators.py):
nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import InvalidInput
from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.intake.mailroom import naming
from forms_service.intake.mailroom.bulk import BulkActions
from forms_service.intake.mailroom.files import MAX_PAGES, count_pages, media_type_of
from forms_service.intake.mailroom.operators import OperatorActions
from forms_service.intake.mailroom.pages import PageJob, ProposeHook
from forms_service.intake.mailroom.reading import BlankOf, GeometryOf, ReadingSettings
from forms_service.issuing.layout import LAYOUTS, LayoutVersions
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.tokens import LinkSigner, new_document_id
from forms_service.jobs.interfaces import JobQueue
from forms_service.storage.filestore import FileStore
from forms_service.storage.model import PdfReturn, PdfReturnStatus
from forms_service.storage.scans import (
    PENDING_PAGE_STATUSES,
    BatchStatus,
    PageStatus,
    ScanBatch,
    ScanFile,
    ScanPage,
)
from ocr.interfaces import OcrEngine

log = logging.getLogger(__name__)

READ_PAGE_JOB = "mailroom.read_page"
#: Batch sources.
SOURCES = ("upload", "api", "cli", "watch", "pdf_return")
MAX_FILES = 200


#: Default of MAILROOM_MAX_BATCH_BYTES: a day's scans of a mailroom, not a customer's upload.
MAX_BATCH_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One file handed to the mailroom: its name (as the scanner named it) and its content.

    Attributes:
        filename: the name the scanner gave it.
        content: its bytes, for a small file already in memory.
        path: the file on disk instead (an upload spooled by the web server, a file given
            to the CLI): counted, hashed and stored in chunks, never read whole.
    """

    filename: str
    content: bytes = b""
    path: Path | None = None

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return self.path.stat().st_size if self.path is not None else len(self.content)

    @property
    def source(self) -> bytes | Path:
        """What the page counter and the file store read: the path, or the bytes."""
        return self.path if self.path is not None else self.content

    def head(self, size: int = 16) -> bytes:
        """Its first bytes (the format is told by them)."""
        if self.path is None:
            return self.content[:size]
        with self.path.open("rb") as handle:
            return handle.read(size)


class BatchTooLarge(InvalidInput):
    """A batch over the mailroom's size limit (MAILROOM_MAX_BATCH_BYTES): nothing stored."""

    status = 413
    code = "batch_too_large"


def megabytes(size: int) -> str:
    """A size in MB as operators read it (one decimal under 10 MB)."""
    value = size / (1024 * 1024)
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def refuse_too_large(size: int, limit: int) -> BatchTooLarge:
    """The refusal of a batch of `size` bytes over `limit`, both figures in MB."""
    return BatchTooLarge(
        N_("the batch is %(size)s MB, over the mailroom's limit of %(limit)s MB: split it"),
        field="files",
        params={"size": megabytes(size), "limit": megabytes(limit)},
    )


@dataclass(frozen=True)
class ReceivedBatch:
    """A stored batch: its id and how many pages were queued."""

    id: str
    pages: int
    files: int


@dataclass(frozen=True)
class Recovered:
    """What one recovery run did: PDF returns given their batch, pages whose job was sent again."""

    returns: int
    pages: int


class MailroomIntake(PageJob, OperatorActions, BulkActions):
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
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.sessions = sessions
        #: Largest batch taken, all its files together (MAILROOM_MAX_BATCH_BYTES).
        self.max_batch_bytes = max_batch_bytes
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
        name: str | None = None,
    ) -> ReceivedBatch:
        """Store a batch and its files, then queue one job per page.

        Every file is checked for its format first: a batch with a file that is not a PDF,
        TIFF, PNG or JPEG is refused whole (nothing stored). A file that cannot be opened
        (protected PDF, corrupt TIFF) is kept as one page whose job reports the error.
        `pdf_return_id` names the flattened PDF return the batch reads (see returns.py).
        `name` is the operator's name for the batch; without one it is named by its scanner
        (the first file's PDF /Title or TIFF DocumentName) or its first file's name
        (naming.py).

        Raises:
            InvalidInput: no file, too many files or pages, an empty or unsupported file.
            BatchTooLarge: the files together are over `max_batch_bytes` (413).
        """
        if source not in SOURCES:
            raise InvalidInput(
                N_("unknown batch source %(source)r"), field="source", params={"source": source}
            )
        if not uploads:
            raise InvalidInput(N_("send at least one scanned file"), field="files")
        if name and len(" ".join(name.split())) > naming.MAX_NAME:
            raise InvalidInput(
                N_("at most %(max)s characters"), field="name", params={"max": naming.MAX_NAME}
            )
        if len(uploads) > MAX_FILES:
            raise InvalidInput(
                N_("at most %(max)s files per batch"), field="files", params={"max": MAX_FILES}
            )
        sizes = [upload.size for upload in uploads]
        if sum(sizes) > self.max_batch_bytes:
            raise refuse_too_large(sum(sizes), self.max_batch_bytes)
        media = []
        for upload, size in zip(uploads, sizes, strict=True):
            if not size:
                raise InvalidInput(N_("the file is empty"), field=_safe_name(upload.filename))
            media.append(media_type_of(upload.head(), _safe_name(upload.filename)))
        counts = _page_counts(uploads, media)
        batch_name, name_source = naming.batch_name(
            name, uploads[0].filename, uploads[0].source, media[0]
        )
        # Files first: a database row never points to a file that is not stored.
        keys = [self._store(u, _suffix(m)) for u, m in zip(uploads, media, strict=True)]
        now = self.clock()
        batch_id = new_document_id()
        page_ids: list[str] = []
        with self.sessions() as session, session.begin():
            if pdf_return_id is not None:
                existing = _batch_of_return(session, pdf_return_id)
                if existing is not None:  # taken already (a resumed hand-over): one batch
                    return existing
            batch = ScanBatch(
                id=batch_id,
                source=source,
                actor=actor,
                status=BatchStatus.PROCESSING,
                pages_total=sum(counts),
                created_at=now,
                pdf_return_id=pdf_return_id,
                name=batch_name,
                name_source=name_source,
            )
            session.add(batch)
            sequence = 0
            for position, (upload, media_type, key, pages, size) in enumerate(
                zip(uploads, media, keys, counts, sizes, strict=True), start=1
            ):
                stored = ScanFile(
                    batch=batch,
                    position=position,
                    filename=_safe_name(upload.filename),
                    media_type=media_type,
                    content_key=key,
                    size=size,
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
                    "name": batch_name,
                },
            )
        self._queue(page_ids)
        return ReceivedBatch(batch_id, len(page_ids), len(uploads))

    def _store(self, upload: Upload, suffix: str) -> str:
        if upload.path is not None:
            return self.files.put_file(upload.path, suffix=suffix)
        return self.files.put(upload.content, suffix=suffix)

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

    def receive_stranded_returns(self, *, older_than: dt.timedelta) -> int:
        """Give their batch to flattened PDF returns stored without one, older than `older_than`.

        A return is stored first and handed to the mailroom after its commit; a crash or a
        database failure in between leaves it `awaiting_scan` with no batch, which nothing
        would ever read. Its file is in the file store: it becomes its batch now.
        """
        limit = self.clock() - older_than
        with self.sessions() as session:
            stranded = list(
                session.execute(
                    select(PdfReturn)
                    .outerjoin(ScanBatch, ScanBatch.pdf_return_id == PdfReturn.id)
                    .where(
                        PdfReturn.status == PdfReturnStatus.AWAITING_SCAN,
                        PdfReturn.received_at <= limit,
                        ScanBatch.id.is_(None),
                    )
                    .order_by(PdfReturn.received_at)
                ).scalars()
            )
            session.expunge_all()
        for pdf_return in stranded:
            try:
                self.receive_return(pdf_return, self.files.get(pdf_return.file_key))
            except Exception:  # the next run tries again; the others go on
                log.exception("cannot hand PDF return %s to the mailroom", pdf_return.id)
        return len(stranded)

    def _queue(self, page_ids: Iterable[str]) -> None:
        for page_id in page_ids:
            try:
                self.jobs.enqueue(READ_PAGE_JOB, page_id)
            except Exception:  # the page stays queued; `requeue` sends it again
                log.exception("cannot queue scan page %s", page_id)

    def requeue(self, *, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> int:
        """Send again the jobs of pages still queued or processing after `older_than`.

        A broker that lost a message or a worker that died mid-page leaves such pages; the
        job itself is idempotent, so sending it twice is harmless. Flattened PDF returns left
        without their batch (`receive_stranded_returns`) are given one first. Returns the
        number of pages sent again (`recover` also counts the returns).
        """
        return self.recover(older_than=older_than).pages

    def recover(self, *, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> Recovered:
        """`requeue`, with what it did: the stranded returns given a batch, the pages sent again.

        Safe to run from several processes at once (the workers' sweeps, the CLI): the pages
        are claimed in one transaction with their rows locked (SKIP LOCKED on PostgreSQL,
        BEGIN IMMEDIATE on SQLite) and stamped, so a page is sent again by one run only, and
        not again before `older_than` has passed once more.
        """
        limit = self.clock() - older_than
        # Their pages are queued as they are made, after `limit`: not sent twice below.
        returns = self.receive_stranded_returns(older_than=older_than)
        with self.sessions() as session, session.begin():
            pages = list(
                session.execute(
                    select(ScanPage)
                    .where(ScanPage.status.in_(PENDING_PAGE_STATUSES), ScanPage.updated_at <= limit)
                    .order_by(ScanPage.updated_at, ScanPage.id)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            now = self.clock()
            for page in pages:
                page.status = PageStatus.QUEUED
                page.updated_at = now
            ids = [page.id for page in pages]
            if ids:
                audit.record(
                    session,
                    "scan_pages_requeued",
                    actor="requeue",
                    at=now,
                    detail={
                        "pages": len(ids),
                        "batches": len({page.batch_id for page in pages}),
                    },
                )
        self._queue(ids)
        return Recovered(returns=returns, pages=len(ids))


def _batch_of_return(session: Session, pdf_return_id: str) -> ReceivedBatch | None:
    """The batch that already reads a PDF return, the return's row locked meanwhile."""
    if session.get(PdfReturn, pdf_return_id, with_for_update=True) is None:
        raise InvalidInput(N_("unknown PDF return"), field="pdf_return_id")
    found = session.execute(
        select(ScanBatch).where(ScanBatch.pdf_return_id == pdf_return_id).limit(1)
    ).scalar_one_or_none()
    if found is None:
        return None
    return ReceivedBatch(found.id, found.pages_total, len(found.files))


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


def _page_counts(uploads: Sequence[Upload], media: Sequence[str]) -> list[int]:
    """The pages of each file; refused when the batch would hold more than MAX_PAGES.

    Raises:
        InvalidInput: naming the file with which the batch goes over the limit.
    """
    counts: list[int] = []
    for upload, media_type in zip(uploads, media, strict=True):
        counts.append(count_pages(upload.source, media_type, limit=MAX_PAGES - sum(counts)))
        if sum(counts) > MAX_PAGES:
            raise InvalidInput(
                N_("a batch holds at most %(max)s pages: split this file or the batch"),
                field=_safe_name(upload.filename),
                params={"max": MAX_PAGES},
            )
    return counts
