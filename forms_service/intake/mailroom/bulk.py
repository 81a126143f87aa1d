"""Operators' actions on many pages at once: assign to one document, reject, read again.

A batch of hundreds of pages leaves its exceptions in runs (the pages of one letter whose
code was torn, a stack of foreign sheets): an operator ticks them and acts once. Each page is
settled in its own transaction by the one-page action (operators.py), which takes the locks
in the page jobs' order and records who did it; a page another operator settled meanwhile is
skipped and named in the outcome, never an error for the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.core.errors import Conflict, FormsError, InvalidInput, NotFound
from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.intake.mailroom.operators import find_document
from forms_service.intake.mailroom.reading import GeometryOf
from forms_service.issuing.layout import UnknownLayoutVersion
from forms_service.storage.scans import PageStatus, ScanBatch, ScanPage
from ocr.manual import Alignment

#: Most pages one bulk action takes (a screen of the exception queue is 50).
MAX_BULK = 200


@dataclass(frozen=True)
class Skipped:
    """A page a bulk action left as it was, and why (a FormsError's message and figures)."""

    page_id: str
    sequence: int | None
    message: str
    params: Mapping[str, object]


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did: the pages it settled, those it left and why."""

    done: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class _Selected:
    id: str
    batch_id: str
    sequence: int
    status: PageStatus
    document_id: str | None
    form_page: int | None


class BulkActions:
    """Bulk assign, reject and requeue; mixed into MailroomIntake, which provides the rest."""

    sessions: sessionmaker[Session]
    definitions: Mapping[str, FormDefinition]
    geometry: GeometryOf

    clock: Callable[[], dt.datetime]
    _assign_in: Callable[..., None]
    reject: Callable[..., None]
    requeue_page: Callable[..., None]

    def _queue(self, page_ids: Iterable[str]) -> None:
        raise NotImplementedError

    def assign_pages(self, page_ids: Sequence[str], document: str, *, actor: str) -> BulkOutcome:
        """Assign the selected pages to one document (by reference or id), in batch order.

        A page already identified as a page of that document keeps its page number; the
        others take the form's other pages in the order they lie in their batch (the pages
        of a letter are scanned together). Each is read again with that identity.

        Raises:
            InvalidInput: no page, too many, or more pages waiting than the form has.
            NotFound: no such document. Conflict: the document was withdrawn.
        """
        selected = self._selected(page_ids)
        with self.sessions() as session:
            found = find_document(session, document)
            if found is None:
                raise NotFound("no document with this reference", field="document")
            reference, document_id = found.reference, found.id
            definition = self.definitions.get(found.form_id)
            if definition is None:
                raise NotFound("the document's form is no longer served", field="document")
            try:
                numbers = [
                    p.number for p in self.geometry(definition, found.layout_version or 1).pages
                ]
            except UnknownLayoutVersion as exc:
                raise Conflict(exc.message, field="document", params=exc.params) from exc
        waiting = [p for p in selected if p.status is PageStatus.EXCEPTION]
        if len(waiting) > len(numbers):
            raise InvalidInput(
                N_(
                    "document %(reference)s has %(pages)s page(s): select at most that many "
                    "pages to assign to it"
                ),
                field="pages",
                params={"reference": reference, "pages": len(numbers)},
            )
        plan = _page_numbers(waiting, document_id, numbers)
        done: list[str] = []
        skipped: list[Skipped] = []
        now = self.clock()
        # One transaction: no page of the letter is read (and its answer submitted without
        # the others, as an operator's assignment forces) before all are assigned.
        with self.sessions() as session, session.begin():
            for batch_id in sorted({page.batch_id for page in selected}):
                session.get(ScanBatch, batch_id, with_for_update=True)
            for page in selected:
                try:
                    # Each check comes before the page is changed: a refusal leaves it as it was.
                    self._assign_in(
                        session,
                        page.id,
                        document_id,
                        form_page=plan.get(page.id),
                        actor=actor,
                        alignment=Alignment.SQUARES.value,
                        turn=None,
                        now=now,
                    )
                except (Conflict, NotFound) as exc:
                    skipped.append(_skipped(page, exc))
                else:
                    done.append(page.id)
        self._queue(done)
        return BulkOutcome(tuple(done), tuple(skipped))

    def reject_pages(self, page_ids: Sequence[str], reason: str, *, actor: str) -> BulkOutcome:
        """Reject the selected pages with one reason (each kept, as `reject`).

        Raises:
            InvalidInput: no page, too many, no reason or one too long.
        """
        selected = self._selected(page_ids)
        return self._each(selected, lambda page: self.reject(page.id, reason, actor=actor))

    def requeue_pages(self, page_ids: Sequence[str], *, actor: str) -> BulkOutcome:
        """Have the selected pages read again from their scans (each as `requeue_page`).

        Raises:
            InvalidInput: no page, or too many.
        """
        selected = self._selected(page_ids)
        return self._each(selected, lambda page: self.requeue_page(page.id, actor=actor))

    def _selected(self, page_ids: Sequence[str]) -> list[_Selected]:
        ids = list(dict.fromkeys(i for i in page_ids if i))
        if not ids:
            raise InvalidInput(N_("select at least one page"), field="pages")
        if len(ids) > MAX_BULK:
            raise InvalidInput(
                N_("at most %(max)s pages at once"), field="pages", params={"max": MAX_BULK}
            )
        with self.sessions() as session:
            rows = session.execute(
                select(
                    ScanPage.id,
                    ScanPage.sequence,
                    ScanPage.status,
                    ScanPage.document_id,
                    ScanPage.form_page,
                    ScanPage.batch_id,
                ).where(ScanPage.id.in_(ids))
            ).all()
        found = {
            row.id: _Selected(
                row.id, row.batch_id, row.sequence, row.status, row.document_id, row.form_page
            )
            for row in rows
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound("unknown scan page", field="pages")
        # In batch order: the pages of one letter follow each other.
        return sorted(found.values(), key=lambda page: (page.batch_id, page.sequence))

    @staticmethod
    def _each(selected: Sequence[_Selected], act: Callable[[_Selected], None]) -> BulkOutcome:
        done: list[str] = []
        skipped: list[Skipped] = []
        for page in selected:
            try:
                act(page)
            except (Conflict, NotFound) as exc:
                skipped.append(_skipped(page, exc))
            else:
                done.append(page.id)
        return BulkOutcome(tuple(done), tuple(skipped))


def _skipped(page: _Selected, error: FormsError) -> Skipped:
    return Skipped(page.id, page.sequence, error.message, dict(error.params or {}))


def _page_numbers(
    pages: Sequence[_Selected], document_id: str, numbers: Sequence[int]
) -> dict[str, int]:
    """Each waiting page's form page, in batch order.

    Its own when already read as a page of this document, else the form's next page not taken.
    """
    plan: dict[str, int] = {}
    taken: set[int] = set()
    for page in pages:
        number = page.form_page
        if (
            page.document_id == document_id
            and number is not None
            and number in numbers
            and number not in taken
        ):
            plan[page.id] = number
            taken.add(number)
    free = iter(n for n in numbers if n not in taken)
    for page in pages:
        if page.id not in plan:
            plan[page.id] = next(free)
    return plan
