"""What the mailroom screens and the API show: batches, per-page progress, the exception queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, joinedload

from forms_service.connectors.interfaces import Connector, Selection, SourceUnavailable
from forms_service.core.errors import NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.issuing.tokens import normalise_reference
from forms_service.storage.model import (
    FINAL_PDF_RETURN_STATUSES,
    Document,
    PdfReturn,
    PdfReturnStatus,
)
from forms_service.storage.scans import (
    FINAL_PAGE_STATUSES,
    PageStatus,
    ScanBatch,
    ScanPage,
)

#: Columns a person's name may be searched in, in the source records.
NAME_COLUMNS = ("last_name", "name", "company_name")
MAX_HITS = 20


@dataclass(frozen=True)
class ReturnSummary:
    """The PDF return a batch reads, as an operator sees it: which, how and when it came.

    No personal data: the return's id, the channel it came by (a customer's upload on their
    link, or the API), when, its status, its document's reference once known.
    """

    id: str
    status: PdfReturnStatus
    via: str
    received_at: dt.datetime
    reference: str | None
    submission_id: str | None

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the return."""
        return self.status in FINAL_PDF_RETURN_STATUSES


@dataclass(frozen=True)
class PageView:
    """One page as an operator sees it."""

    id: str
    batch_id: str
    sequence: int
    filename: str
    file_page: int
    status: PageStatus
    exception: str | None
    reason: str | None
    #: How to say `reason` in a screen's language (intake/mailroom/reasons.py); None when
    #: the page was recorded before details were stored.
    reason_detail: Mapping[str, Any] | None
    document_id: str | None
    reference: str | None
    form_id: str | None
    form_page: int | None
    submission_id: str | None
    has_image: bool
    attempts: int
    updated_at: dt.datetime
    resolved_by: str | None
    #: The PDF return the page came in, when its batch reads one.
    pdf_return: ReturnSummary | None = None
    #: Whether a thumbnail is kept, or can be made once from the page's image.
    has_thumbnail: bool = False
    #: When the page was settled (by an operator, or by the mailroom setting it aside).
    resolved_at: dt.datetime | None = None

    @property
    def set_aside(self) -> bool:
        """Whether the mailroom set the page aside by itself (a blank page, a covering letter)."""
        return self.status is PageStatus.REJECTED and self.resolved_by == "mailroom"


@dataclass(frozen=True)
class BatchView:
    """A batch and its progress: pages per status, and whether any job is still running."""

    id: str
    source: str
    actor: str
    status: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    pages_total: int
    counts: Mapping[str, int]
    files: tuple[str, ...] = ()
    pages: tuple[PageView, ...] = ()
    #: The flattened PDF return the batch reads (source `pdf_return`), None for scans.
    pdf_return: ReturnSummary | None = None
    #: Its name (an operator's, the scanner's, or its first file's) and where it comes from.
    name: str | None = None
    name_source: str | None = None

    @property
    def done(self) -> int:
        """Pages whose job has run (read, submitted, waiting for an operator, rejected)."""
        return self.pages_total - self.counts.get("queued", 0) - self.counts.get("processing", 0)

    @property
    def percent(self) -> int:
        """Share of pages whose job has run, 0..100."""
        return 100 if not self.pages_total else round(100 * self.done / self.pages_total)


@dataclass(frozen=True)
class DocumentHit:
    """A document an operator may assign a page to."""

    document_id: str
    reference: str
    form_id: str
    form_title: str
    record_key: str
    status: str
    name: str


def _page_view(
    page: ScanPage,
    references: Mapping[str, str],
    returns: Mapping[str, ReturnSummary] | None = None,
) -> PageView:
    return PageView(
        id=page.id,
        batch_id=page.batch_id,
        sequence=page.sequence,
        filename=page.file.filename,
        file_page=page.file_page,
        status=page.status,
        exception=page.exception,
        reason=page.reason,
        reason_detail=page.reason_detail,
        document_id=page.document_id,
        reference=references.get(page.document_id or ""),
        form_id=page.form_id,
        form_page=page.form_page,
        submission_id=page.submission_id,
        has_image=bool(page.image_key),
        attempts=page.attempts,
        updated_at=page.updated_at,
        resolved_by=page.resolved_by,
        pdf_return=(returns or {}).get(page.batch_id),
        has_thumbnail=bool(page.thumb_key or page.image_key),
        resolved_at=page.resolved_at,
    )


def _references(session: Session, pages: Sequence[ScanPage]) -> dict[str, str]:
    ids = {p.document_id for p in pages if p.document_id}
    if not ids:
        return {}
    rows = session.execute(select(Document.id, Document.reference).where(Document.id.in_(ids)))
    return {row.id: row.reference for row in rows}


def _returns(session: Session, batch_ids: Sequence[str]) -> dict[str, ReturnSummary]:
    """The PDF returns these batches read, by batch id (batches of scans have none)."""
    if not batch_ids:
        return {}
    rows = session.execute(
        select(ScanBatch.id, PdfReturn, Document.reference)
        .join(PdfReturn, PdfReturn.id == ScanBatch.pdf_return_id)
        .outerjoin(Document, Document.id == PdfReturn.document_id)
        .where(ScanBatch.id.in_(list(set(batch_ids))))
    ).all()
    return {
        batch_id: ReturnSummary(
            id=found.id,
            status=found.status,
            via=found.via,
            received_at=found.received_at,
            reference=reference,
            submission_id=found.submission_id,
        )
        for batch_id, found, reference in rows
    }


def pdf_return(session: Session, return_id: str) -> tuple[ReturnSummary, BatchView | None]:
    """A PDF return for the mailroom's screen, and the batch that reads it (if it has one).

    Raises:
        NotFound: no such return.
    """
    batch_id = session.execute(
        select(ScanBatch.id).where(ScanBatch.pdf_return_id == return_id).limit(1)
    ).scalar_one_or_none()
    if batch_id is not None:
        view = batch(session, batch_id)
        assert view.pdf_return is not None  # noqa: S101 - the batch names it
        return view.pdf_return, view
    found = session.get(PdfReturn, return_id)
    if found is None:
        raise NotFound("unknown PDF return", field="return_id")
    reference = (
        session.execute(
            select(Document.reference).where(Document.id == found.document_id)
        ).scalar_one_or_none()
        if found.document_id
        else None
    )
    summary = ReturnSummary(
        found.id, found.status, found.via, found.received_at, reference, found.submission_id
    )
    return summary, None


def _counts(session: Session, batch_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {b: {} for b in batch_ids}
    if not batch_ids:
        return counts
    rows = session.execute(
        select(ScanPage.batch_id, ScanPage.status, func.count())
        .where(ScanPage.batch_id.in_(batch_ids))
        .group_by(ScanPage.batch_id, ScanPage.status)
    )
    for batch_id, status, count in rows:
        counts[batch_id][PageStatus(status).value] = int(count)
    return counts


def _batch_view(
    batch: ScanBatch, counts: Mapping[str, int], returns: Mapping[str, ReturnSummary]
) -> BatchView:
    return BatchView(
        id=batch.id,
        source=batch.source,
        actor=batch.actor,
        status=batch.status.value,
        created_at=batch.created_at,
        finished_at=batch.finished_at,
        pages_total=batch.pages_total,
        counts=dict(counts),
        pdf_return=returns.get(batch.id),
        name=batch.name,
        name_source=batch.name_source,
    )


def batches(session: Session, *, limit: int = 50, offset: int = 0) -> list[BatchView]:
    """The latest batches, newest first, with their page counts per status."""
    found = list(
        session.execute(
            select(ScanBatch).order_by(ScanBatch.created_at.desc()).limit(limit).offset(offset)
        ).scalars()
    )
    ids = [b.id for b in found]
    counts = _counts(session, ids)
    returns = _returns(session, [b.id for b in found if b.pdf_return_id])
    return [_batch_view(b, counts[b.id], returns) for b in found]


def batch(
    session: Session, batch_id: str, *, limit: int | None = None, offset: int = 0
) -> BatchView:
    """One batch with its pages' progress: every page, or `limit` of them from `offset`.

    Raises:
        NotFound: no such batch.
    """
    found = session.get(ScanBatch, batch_id)
    if found is None:
        raise NotFound("unknown batch", field="batch")
    if limit is None:
        pages = list(found.pages)
    else:
        pages = list(
            session.execute(
                select(ScanPage)
                .options(joinedload(ScanPage.file))
                .where(ScanPage.batch_id == batch_id)
                .order_by(ScanPage.sequence)
                .limit(limit)
                .offset(offset)
            ).scalars()
        )
    references = _references(session, pages)
    returns = _returns(session, [batch_id] if found.pdf_return_id else [])
    view = _batch_view(found, _counts(session, [batch_id])[batch_id], returns)
    return replace(
        view,
        files=tuple(f.filename for f in found.files),
        pages=tuple(_page_view(p, references, returns) for p in pages),
    )


def page(session: Session, page_id: str) -> PageView:
    """One page. Raises NotFound."""
    found = session.get(ScanPage, page_id)
    if found is None:
        raise NotFound("unknown scan page", field="page")
    return _page_view(found, _references(session, [found]))


def exceptions(
    session: Session,
    *,
    limit: int = 50,
    offset: int = 0,
    batch_id: str | None = None,
    exception: str | None = None,
) -> tuple[list[PageView], int]:
    """Pages waiting for an operator, oldest first, and how many there are in all.

    `batch_id` and `exception` keep the pages of one batch, or with one exception code.
    """
    query = select(ScanPage).where(ScanPage.status == PageStatus.EXCEPTION)
    if batch_id:
        query = query.where(ScanPage.batch_id == batch_id)
    if exception:
        query = query.where(ScanPage.exception == exception)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = list(
        session.execute(
            query.options(joinedload(ScanPage.file))
            .order_by(ScanPage.updated_at, ScanPage.sequence)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    references = _references(session, pages)
    returns = _returns(session, [p.batch_id for p in pages])
    return [_page_view(p, references, returns) for p in pages], int(total)


def image_key(session: Session, page_id: str) -> str:
    """The file store key of a page's image. Raises NotFound."""
    found = session.get(ScanPage, page_id)
    if found is None or not found.image_key:
        raise NotFound("this page has no image", field="page")
    return found.image_key


def crop_belongs_to_scan(session: Session, key: str) -> bool:
    """Whether a file store key is a crop or page image of a scanned page (not any file)."""
    if session.execute(select(ScanPage.id).where(ScanPage.image_key == key).limit(1)).first():
        return True
    pattern = f'%"crop": "{key}"%'
    hit = session.execute(
        select(ScanPage.id).where(cast(ScanPage.readings, String).like(pattern)).limit(1)
    ).first()
    return hit is not None


def is_final(status: PageStatus) -> bool:
    """Whether nothing more will happen to a page."""
    return status in FINAL_PAGE_STATUSES


def search_documents(
    session: Session,
    text: str,
    definitions: Mapping[str, FormDefinition],
    connectors: Mapping[str, Connector],
    locale: str = "fr",
) -> list[DocumentHit]:
    """Documents matching a reference, a record key or a customer's last name.

    The name is looked up in the source systems (it is not stored with documents); a source
    that cannot answer is skipped. Form titles are in `locale`.
    """
    text = " ".join(text.split())
    if not text or len(text) > 100:
        return []
    found: dict[str, Document] = {}
    reference = normalise_reference(text)
    for document in session.execute(
        select(Document).where(
            (Document.reference == reference)
            | (Document.record_key == text)
            | (Document.id == text)
        )
    ).scalars():
        found[document.id] = document
    names: dict[tuple[str, str], str] = {}
    for definition in definitions.values():
        source = definition.source
        connector = connectors.get(source.connector)
        if connector is None:
            continue
        try:
            columns = set(connector.columns(source.record_type))
            column = next((c for c in NAME_COLUMNS if c in columns), None)
            if column is None:
                continue
            keys = set()
            for variant in {text, text.upper(), text.title()}:
                selection = Selection.parse_where(f"{column}^='{variant}'")
                for key in connector.keys(source.record_type, selection):
                    keys.add(key)
                    if len(keys) >= MAX_HITS:
                        break
        except (SourceUnavailable, ValueError, KeyError):
            continue
        if not keys:
            continue
        for document in session.execute(
            select(Document)
            .where(Document.form_id == definition.id, Document.record_key.in_(keys))
            .limit(MAX_HITS)
        ).scalars():
            found[document.id] = document
    hits = []
    for document in list(found.values())[:MAX_HITS]:
        form = definitions.get(document.form_id)
        hits.append(
            DocumentHit(
                document_id=document.id,
                reference=document.reference,
                form_id=document.form_id,
                form_title=form.title_in(locale) if form else document.form_id,
                record_key=document.record_key,
                status=document.status.value,
                name=_name(document, form, connectors, names),
            )
        )
    return hits


def _name(
    document: Document,
    definition: FormDefinition | None,
    connectors: Mapping[str, Connector],
    cache: dict[tuple[str, str], str],
) -> str:
    if definition is None:
        return ""
    connector = connectors.get(definition.source.connector)
    cache_key = (definition.source.connector, document.record_key)
    if connector is None or cache_key in cache:
        return cache.get(cache_key, "")
    try:
        record = connector.read(definition.source.record_type, document.record_key) or {}
    except SourceUnavailable:
        record = {}
    parts = [str(record.get(c) or "") for c in ("title", "first_name", "last_name", "name")]
    cache[cache_key] = " ".join(p for p in parts if p)
    return cache[cache_key]
