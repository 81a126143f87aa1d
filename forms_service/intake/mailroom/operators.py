"""What mailroom operators do with pages and batches: assign, reject, read again, not blank, name.

A waiting page is assigned to a document or rejected, or read again; a page the mailroom set
aside as blank may be said not blank; a batch may be named.

Each action is an audit event and a line of its batch's history (actions.py), with who and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.core.errors import Conflict, InvalidInput, NotFound
from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.intake.mailroom import actions, naming, reasons, returns
from forms_service.intake.mailroom.actions import Action
from forms_service.intake.mailroom.reading import GeometryOf
from forms_service.issuing.layout import UnknownLayoutVersion
from forms_service.issuing.tokens import normalise_reference
from forms_service.storage.model import Document, DocumentStatus
from forms_service.storage.scans import BatchStatus, PageStatus, ScanBatch, ScanPage
from ocr.manual import Alignment

MAX_REASON = 200
#: Exceptions of pages the mailroom sets aside as blank, which an operator may read again.
BLANK_CODES = frozenset({"blank_page", "near_blank_page"})
#: The ways an operator may have an assigned page aligned.
ALIGNMENTS = tuple(a.value for a in Alignment)
#: Quarter turns (degrees counter-clockwise) an operator may give a page aligned on its frame.
TURNS = (0, 90, 180, 270)


class OperatorActions:
    """The exception queue's actions; mixed into MailroomIntake, which provides the rest."""

    sessions: sessionmaker[Session]
    definitions: Mapping[str, FormDefinition]
    geometry: GeometryOf
    clock: Callable[[], dt.datetime]

    def _queue(self, page_ids: Iterable[str]) -> None:
        raise NotImplementedError

    def assign(
        self,
        page_id: str,
        document: str,
        *,
        form_page: int | None = None,
        actor: str,
        alignment: str = Alignment.SQUARES.value,
        turn: int | None = None,
    ) -> None:
        """An operator says which document (by reference or id) and page a page is.

        The page is read again with that identity, skipping its code and the duplicate
        checks (the operator's decision is recorded), then submitted with the document's
        other pages read in the batch. `alignment` is how it is aligned: on its corner
        squares (as every page), or, for a page they cannot align, on its code alone or on
        the scan's frame, every value then going to a clerk (reading.read_aligned); with
        the frame, `turn` says how many degrees the scan is turned counter-clockwise to
        stand upright (0, 90, 180, 270), when the printed boxes cannot tell.

        Raises:
            NotFound: no such page or document.
            Conflict: the page is not waiting for an operator.
            InvalidInput: the form has no such page, no such alignment or turn.
        """
        if alignment not in ALIGNMENTS:
            raise InvalidInput(
                N_("choose how the page is aligned: %(choices)s"),
                field="alignment",
                params={"choices": ", ".join(ALIGNMENTS)},
            )
        if turn is not None and (turn not in TURNS or alignment != Alignment.FRAME.value):
            raise InvalidInput(
                N_(
                    "a page aligned on the edges of the scan is turned by 0, 90, 180 or 270 degrees"
                ),
                field="turn",
            )
        now = self.clock()
        with self.sessions() as session, session.begin():
            self._assign_in(
                session,
                page_id,
                document,
                form_page=form_page,
                actor=actor,
                alignment=alignment,
                turn=turn,
                now=now,
            )
        self._queue([page_id])

    def _assign_in(
        self,
        session: Session,
        page_id: str,
        document: str,
        *,
        form_page: int | None,
        actor: str,
        alignment: str,
        turn: int | None,
        now: dt.datetime,
    ) -> None:
        """`assign`'s work inside the caller's transaction; the caller queues the page after.

        Every check is made before the page is changed: a refusal leaves it as it was.
        """
        # The batch first, as the page jobs lock it (see PageJob._lock_batch_of in pages.py).
        batch = self._lock_batch(session, page_id)
        page = session.get(ScanPage, page_id, with_for_update=True)
        if page is None:
            raise NotFound("unknown scan page", field="page")
        if page.status is not PageStatus.EXCEPTION:
            raise Conflict(f"this page is {page.status.value}, not waiting", field="page")
        found = find_document(session, document)
        if found is None:
            raise NotFound("no document with this reference", field="document")
        if found.status is DocumentStatus.REVOKED:
            raise Conflict(f"document {found.reference} was withdrawn", field="document")
        definition = self.definitions.get(found.form_id)
        if definition is None:
            raise NotFound("the document's form is no longer served", field="document")
        # A page whose code was read keeps its layout; otherwise it is taken to be the
        # letter as issued (documents issued before layout versions: version 1).
        layout = page.layout_version or found.layout_version or 1
        try:
            numbers = [p.number for p in self.geometry(definition, layout).pages]
        except UnknownLayoutVersion as exc:
            raise Conflict(exc.message, field="document", params=exc.params) from exc
        number = form_page or page.form_page or 1
        if number not in numbers:
            raise InvalidInput(
                N_("the form has pages %(first)s to %(last)s"),
                field="form_page",
                params={"first": numbers[0], "last": numbers[-1]},
            )
        page.document_id = found.id
        page.form_id = found.form_id
        page.form_version = definition.version
        page.form_page = number
        page.layout_version = layout
        # An operator's "not blank" stands: the page is not set aside again when read.
        kept = {"not_blank": True} if page.readings.get("not_blank") else {}
        page.readings = {"alignment": alignment, "turn": turn, **kept}
        page.assigned_by = actor
        page.status = PageStatus.QUEUED
        page.attempts = 0  # counted again from the operator's decision (pages.MAX_ATTEMPTS)
        page.resolved_by = actor
        page.resolved_at = now
        page.updated_at = now
        previous = page.exception
        batch.status = BatchStatus.PROCESSING
        audit.record(
            session,
            "scan_page_assigned",
            actor=actor,
            at=now,
            document_id=found.id,
            detail={
                "page": page_id,
                "form_page": number,
                "exception": previous,
                "alignment": alignment,
                "turn": turn,
            },
        )
        actions.record(
            session,
            batch.id,
            Action.ASSIGNED,
            actor=actor,
            at=now,
            page_id=page_id,
            detail={"reference": found.reference, "form_page": number, "exception": previous},
        )

    def reject(self, page_id: str, reason: str, *, actor: str) -> None:
        """An operator sets a page aside for good (kept, never read again), saying why.

        Raises:
            NotFound: no such page. Conflict: not waiting. InvalidInput: no reason.
        """
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput(N_("say why the page is rejected"), field="reason")
        if len(reason) > MAX_REASON:
            raise InvalidInput(
                N_("at most %(max)s characters"), field="reason", params={"max": MAX_REASON}
            )
        now = self.clock()
        with self.sessions() as session, session.begin():
            # The batch first, then the page and its PDF return, as the page jobs lock them.
            batch = self._lock_batch(session, page_id)
            page = session.get(ScanPage, page_id, with_for_update=True)
            if page is None:
                raise NotFound("unknown scan page", field="page")
            if page.status is not PageStatus.EXCEPTION:
                raise Conflict(f"this page is {page.status.value}, not waiting", field="page")
            actions.record(
                session,
                batch.id,
                Action.REJECTED,
                actor=actor,
                at=now,
                page_id=page_id,
                detail={"exception": page.exception, "reason": reason},
            )
            page.status = PageStatus.REJECTED
            reasons.record_rejection(page, reason)
            page.resolved_by = actor
            page.resolved_at = now
            page.updated_at = now
            session.flush()
            # The last page of a PDF return to be settled gives the return its final status.
            returns.settle(session, [page.batch_id], now=now)
            audit.record(
                session,
                "scan_page_rejected",
                actor=actor,
                at=now,
                document_id=page.document_id,
                detail={"page": page_id, "exception": page.exception, "reason": reason},
            )

    def requeue_page(self, page_id: str, *, actor: str) -> None:
        """An operator has a waiting page read again from its scan, as it came in.

        For a page whose problem is gone (an internal error fixed, a form version served
        again, a worker lost): its identity is found again from its code, unless an operator
        assigned it, and its attempts are counted from zero.

        Raises:
            NotFound: no such page. Conflict: not waiting.
        """
        now = self.clock()
        with self.sessions() as session, session.begin():
            batch = self._lock_batch(session, page_id)
            page = session.get(ScanPage, page_id, with_for_update=True)
            if page is None:
                raise NotFound("unknown scan page", field="page")
            if page.status is not PageStatus.EXCEPTION:
                raise Conflict(f"this page is {page.status.value}, not waiting", field="page")
            _back_to_reading(
                session, batch, page, "scan_page_requeued", Action.REQUEUED, actor=actor, at=now
            )
        self._queue([page_id])

    def not_blank(self, page_id: str, *, actor: str) -> None:
        """An operator says a page the mailroom set aside as blank is not: it is read again.

        Its blankness is not checked again (an operator's decision stands, also when the page
        is assigned later); what it becomes (read, or waiting with its own reason) follows.

        Raises:
            NotFound: no such page. Conflict: the page was not set aside as blank, or it is
            a page of a PDF return (whose outcome was already written back).
        """
        now = self.clock()
        with self.sessions() as session, session.begin():
            batch = self._lock_batch(session, page_id)
            page = session.get(ScanPage, page_id, with_for_update=True)
            if page is None:
                raise NotFound("unknown scan page", field="page")
            set_aside = page.status is PageStatus.REJECTED and page.resolved_by == actions.MAILROOM
            if not set_aside or page.exception not in BLANK_CODES:
                raise Conflict(
                    N_("this page was not set aside as blank by the mailroom"), field="page"
                )
            if batch.pdf_return_id is not None:
                raise Conflict(
                    N_("a page of a PDF return cannot be read again: ask the customer to send it"),
                    field="page",
                )
            page.readings = {**page.readings, "not_blank": True}
            page.resolved_by = None
            page.resolved_at = None
            _back_to_reading(
                session, batch, page, "scan_page_not_blank", Action.NOT_BLANK, actor=actor, at=now
            )
        self._queue([page_id])

    def rename_batch(self, batch_id: str, name: str, *, actor: str) -> str:
        """An operator names a batch (or renames it); the name kept, tidied, is returned.

        Raises:
            NotFound: no such batch. InvalidInput: an empty or too long name.
        """
        tidy = naming.tidy(name)
        if not tidy:
            raise InvalidInput(N_("give the batch a name"), field="name")
        if len(" ".join(name.split())) > naming.MAX_NAME:
            raise InvalidInput(
                N_("at most %(max)s characters"), field="name", params={"max": naming.MAX_NAME}
            )
        now = self.clock()
        with self.sessions() as session, session.begin():
            batch = session.get(ScanBatch, batch_id, with_for_update=True)
            if batch is None:
                raise NotFound("unknown batch", field="batch")
            before = batch.name
            batch.name, batch.name_source = tidy, naming.OPERATOR
            audit.record(
                session,
                "scan_batch_renamed",
                actor=actor,
                at=now,
                before=before,
                after=tidy,
                detail={"batch": batch_id},
            )
            actions.record(
                session,
                batch_id,
                Action.RENAMED,
                actor=actor,
                at=now,
                detail={"before": before, "after": tidy},
            )
        return tidy

    @staticmethod
    def _lock_batch(session: Session, page_id: str) -> ScanBatch:
        """Lock the page's batch, the first lock of every transaction that settles a page.

        Raises:
            NotFound: no such page.
        """
        batch_id = session.execute(
            select(ScanPage.batch_id).where(ScanPage.id == page_id)
        ).scalar_one_or_none()
        batch = session.get(ScanBatch, batch_id, with_for_update=True) if batch_id else None
        if batch is None:
            raise NotFound("unknown scan page", field="page")
        return batch


def find_document(session: Session, text: str) -> Document | None:
    """The document with this reference (as a person types it) or id."""
    text = text.strip()
    if not text:
        return None
    found = session.execute(
        select(Document).where(Document.reference == normalise_reference(text))
    ).scalar_one_or_none()
    return found or session.get(Document, text)


def _back_to_reading(
    session: Session,
    batch: ScanBatch,
    page: ScanPage,
    kind: str,
    action: Action,
    *,
    actor: str,
    at: dt.datetime,
) -> None:
    """Queue a page to be read again from its scan, attempts from zero; audited as `kind`."""
    previous = page.exception
    page.status = PageStatus.QUEUED
    page.exception = None
    reasons.record(page, None)
    page.attempts = 0
    page.updated_at = at
    batch.status = BatchStatus.PROCESSING
    audit.record(
        session,
        kind,
        actor=actor,
        at=at,
        document_id=page.document_id,
        detail={"page": page.id, "exception": previous},
    )
    actions.record(
        session,
        batch.id,
        action,
        actor=actor,
        at=at,
        page_id=page.id,
        detail={"exception": previous},
    )
