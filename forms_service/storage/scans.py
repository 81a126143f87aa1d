"""Stored scan batches, their files and pages, and the clerks' corrections of OCR readings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forms_service.storage.model import Base, _enum


class BatchStatus(StrEnum):
    """Where a batch is: its pages are being read, or every page has an outcome."""

    PROCESSING = "processing"
    DONE = "done"


class PageStatus(StrEnum):
    """Where one scanned page is.

    queued -> processing -> read (identified and read, waiting for the document's other
    pages) -> submitted; or -> exception (an operator assigns or rejects it). An operator's
    assignment puts the page back in the queue; a rejected page stays, marked rejected.
    """

    QUEUED = "queued"
    PROCESSING = "processing"
    READ = "read"
    SUBMITTED = "submitted"
    EXCEPTION = "exception"
    REJECTED = "rejected"


#: Pages that need nothing more from the service or an operator.
FINAL_PAGE_STATUSES = frozenset({PageStatus.SUBMITTED, PageStatus.REJECTED})
#: Pages whose job has not run (yet).
PENDING_PAGE_STATUSES = frozenset({PageStatus.QUEUED, PageStatus.PROCESSING})


class ScanBatch(Base):
    """What the mailroom dropped at once: one or more files, stored before any processing."""

    __tablename__ = "scan_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), index=True)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    finished_at: Mapped[dt.datetime | None]
    #: The flattened PDF return (`pdf_returns.id`) this batch reads, for source `pdf_return`.
    pdf_return_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: The batch's name: an operator's, or the scanner's (a PDF's /Title, the first file's
    #: name); `name_source` says which ("operator", "scanner_title", "file_name").
    name: Mapped[str | None] = mapped_column(String(120))
    name_source: Mapped[str | None] = mapped_column(String(16))

    files: Mapped[list[ScanFile]] = relationship(
        back_populates="batch", order_by="ScanFile.position"
    )
    pages: Mapped[list[ScanPage]] = relationship(
        back_populates="batch", order_by="ScanPage.sequence"
    )


class ScanFile(Base):
    """One uploaded file of a batch, kept in the file store under `content_key`."""

    __tablename__ = "scan_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("scan_batches.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    content_key: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=0)

    batch: Mapped[ScanBatch] = relationship(back_populates="files")


class ScanPage(Base):
    """One page of a batch: one job, its progress, what it was identified as and read."""

    __tablename__ = "scan_pages"
    __table_args__ = (
        Index("ix_scan_pages_document_page", "document_id", "form_page"),
        # A batch's pages of one status in order: its set-aside and exception lists, paged.
        Index("ix_scan_pages_batch_status", "batch_id", "status", "sequence"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("scan_batches.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("scan_files.id"), index=True)
    #: Page index inside its file (0-based).
    file_page: Mapped[int] = mapped_column(Integer)
    #: Position inside the batch (1-based), as the operator counts pages.
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[PageStatus] = mapped_column(_enum(PageStatus), index=True)
    #: The page raster (PNG) once decoded, for the operator and the crops.
    image_key: Mapped[str | None] = mapped_column(String(80))
    #: A small PNG of the page (THUMBNAIL_WIDTH px wide), made once when it is decoded.
    thumb_key: Mapped[str | None] = mapped_column(String(80))
    document_id: Mapped[str | None] = mapped_column(String(32))
    form_id: Mapped[str | None] = mapped_column(String(64))
    form_version: Mapped[int | None] = mapped_column(Integer)
    form_page: Mapped[int | None] = mapped_column(Integer)
    #: The layout version the page was printed with (from its code, or its document's).
    layout_version: Mapped[int | None] = mapped_column(Integer)
    #: Set by an operator's assignment: identification is skipped when the page is read again.
    assigned_by: Mapped[str | None] = mapped_column(String(128))
    #: Why the page waits for an operator (a stable code) and the reason shown to them.
    exception: Mapped[str | None] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    #: The reason as {"message": msgid, "params": {...}} (and "rejected": an operator's own
    #: words), for the screens to say it in their language (intake/mailroom/reasons.py).
    #: None on pages recorded before it existed: their reason is shown as recorded.
    reason_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: field -> {"value", "kind", "confidence", "crop", "warnings", "engine"}.
    readings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submission_id: Mapped[str | None] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[dt.datetime | None]

    batch: Mapped[ScanBatch] = relationship(back_populates="pages")
    file: Mapped[ScanFile] = relationship()


class ScanPageAction(Base):
    """Who did what to a page of a batch, and when: the batch's history as operators read it.

    Every operator action (assign, reject, requeue, "not blank", a batch renamed) and every
    page the mailroom set aside by itself is one row, in the transaction of the action; the
    audit chain records the same events for the record.
    """

    __tablename__ = "scan_page_actions"
    __table_args__ = (
        Index("ix_scan_page_actions_batch_at", "batch_id", "at"),
        Index("ix_scan_page_actions_page", "page_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("scan_batches.id"))
    #: None for an action on the whole batch (renamed).
    page_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OcrCorrection(Base):
    """A value read from paper and what a clerk decided it says: production's accuracy measure."""

    __tablename__ = "ocr_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    document_id: Mapped[str] = mapped_column(String(32), index=True)
    change_set_id: Mapped[str | None] = mapped_column(String(32))
    form_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(64))
    field_type: Mapped[str] = mapped_column(String(32))
    read_value: Mapped[str | None] = mapped_column(Text)
    corrected_value: Mapped[str | None] = mapped_column(Text)
    #: Whether the clerk kept the value as read (a confirmation is a correct reading).
    correct: Mapped[bool] = mapped_column(default=False)
    confidence: Mapped[float] = mapped_column(default=0.0)
    engine: Mapped[str] = mapped_column(String(32))
    clerk: Mapped[str] = mapped_column(String(64))
