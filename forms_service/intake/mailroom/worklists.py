"""A batch as its screen shows it, one screen at a time, and its pages' thumbnails.

Its pages, what was set aside, its exceptions by code.

A batch may hold hundreds of pages: every list here is paged and each screen costs the same
few queries whatever the batch's size (tests/integration/test_mailroom_workload.py counts them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import cv2
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from forms_service.core.errors import NotFound
from forms_service.intake.mailroom import actions
from forms_service.intake.mailroom.queries import (
    BatchView,
    PageView,
    _batch_view,
    _counts,
    _page_view,
    _references,
    _returns,
)
from forms_service.intake.mailroom.reading import page_thumbnail
from forms_service.storage.filestore import FileStore
from forms_service.storage.scans import PageStatus, ScanBatch, ScanPage

#: Pages per screen of a batch.
PAGE_SIZE = 100


def summary(session: Session, batch_id: str) -> BatchView:
    """A batch with its counts and files, without its pages.

    Raises:
        NotFound: no such batch.
    """
    found = session.get(ScanBatch, batch_id)
    if found is None:
        raise NotFound("unknown batch", field="batch")
    returns = _returns(session, [batch_id] if found.pdf_return_id else [])
    view = _batch_view(found, _counts(session, [batch_id])[batch_id], returns)
    return replace(view, files=tuple(f.filename for f in found.files))


def pages(
    session: Session,
    batch_id: str,
    *,
    statuses: Iterable[PageStatus] = (),
    set_aside: bool | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> tuple[list[PageView], int]:
    """One screen of a batch's pages in batch order, and how many match in all.

    `statuses` keeps pages in those statuses; `set_aside` True keeps only the pages the
    mailroom set aside by itself (blank, near-blank, covering letters), False leaves them out.
    """
    query = select(ScanPage).where(ScanPage.batch_id == batch_id)
    wanted = list(statuses)
    if wanted:
        query = query.where(ScanPage.status.in_(wanted))
    by_mailroom = (ScanPage.status == PageStatus.REJECTED) & (
        ScanPage.resolved_by == actions.MAILROOM
    )
    if set_aside is True:
        query = query.where(by_mailroom)
    elif set_aside is False:
        query = query.where(~by_mailroom | ScanPage.resolved_by.is_(None))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    found = list(
        session.execute(
            query.options(joinedload(ScanPage.file))
            .order_by(ScanPage.sequence)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    references = _references(session, found)
    return [_page_view(p, references) for p in found], int(total)


def exception_codes(session: Session, batch_id: str | None = None) -> dict[str, int]:
    """How many pages wait per exception code (in one batch, or in all)."""
    query = (
        select(ScanPage.exception, func.count())
        .where(ScanPage.status == PageStatus.EXCEPTION)
        .group_by(ScanPage.exception)
    )
    if batch_id:
        query = query.where(ScanPage.batch_id == batch_id)
    return {str(code): int(count) for code, count in session.execute(query) if code}


def thumbnail(sessions: sessionmaker[Session], files: FileStore, page_id: str) -> bytes:
    """A page's thumbnail from the file store, made once from its image if it has none yet.

    Pages are given theirs when decoded; a page decoded before thumbnails existed gets its
    own on its first request, kept for every later one.

    Raises:
        NotFound: no such page, or one never decoded (no image).
    """
    with sessions() as session:
        page = session.get(ScanPage, page_id)
        if page is None or not (page.thumb_key or page.image_key):
            raise NotFound("this page has no image", field="page")
        thumb_key, image_key = page.thumb_key, page.image_key
    if thumb_key:
        return files.get(thumb_key)
    assert image_key is not None  # noqa: S101 - checked above
    gray = cv2.imdecode(np.frombuffer(files.get(image_key), np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise NotFound("this page has no image", field="page")
    content = page_thumbnail(np.asarray(gray, dtype=np.uint8))
    key = files.put(content, suffix=".png")
    with sessions() as session, session.begin():
        stored = session.get(ScanPage, page_id)
        if stored is not None and not stored.thumb_key:
            stored.thumb_key = key
    return content


def batch_of(session: Session, page_id: str) -> str:
    """The batch a page belongs to.

    Raises:
        NotFound: no such page.
    """
    found = session.execute(
        select(ScanPage.batch_id).where(ScanPage.id == page_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("unknown scan page", field="page")
    return str(found)
