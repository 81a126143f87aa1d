"""The fillable-PDF channel: identify a returned PDF, read its fields, store one submission.

The file is checked before parsing (guard.py), read (acroform.py), identified by the signed
token in its hidden `document_token` field and checked against the link it was uploaded on;
its values go through the definition's field types (answers.py). The file is put in the file
store before anything is acknowledged. A PDF with no fields left (flattened, printed to PDF)
is stored with status `awaiting_scan` for the mailroom, which reads it like a scanned letter.
Any refusal stores nothing but a security event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from forms_service.audit import service as audit
from forms_service.core.errors import Forbidden, FormsError, InvalidInput
from forms_service.core.i18n import field_message
from forms_service.definitions.model import Channel
from forms_service.intake.online.model import ClosedLink, FieldChange, changes_of
from forms_service.intake.online.queries import pending_answer
from forms_service.intake.online.service import OnlineIntake
from forms_service.intake.pdf.answers import (
    AnswerProblem,
    FieldAnswer,
    document_token,
    matching_fields,
    read_answers,
)
from forms_service.issuing.tokens import ExpiredLink, TamperedLink, new_document_id
from forms_service.pdfforms.acroform import read_untrusted_pdf_form
from forms_service.pdfforms.guard import PdfLimits, PdfRejected
from forms_service.pdfforms.model import PdfForm
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.filestore import FileStore

if TYPE_CHECKING:
    from forms_service.config import Settings
from forms_service.storage.model import (
    Document,
    DocumentStatus,
    PdfReturn,
    PdfReturnStatus,
    Submission,
    SubmissionStatus,
)

log = logging.getLogger(__name__)

#: Called after commit with the id of a new PDF submission (the change-set pipeline).
SubmittedHook = Callable[[str], object]
#: Called after commit with a return that needs the mailroom, and its bytes.
AwaitingScanHook = Callable[[PdfReturn, bytes], object]


class OtherDocument(Forbidden):
    """The PDF was issued for another document than the link it is uploaded on."""

    code = "pdf_other_document"


class TamperedPdfToken(FormsError):
    """The hidden document token of the PDF does not carry our signature."""

    status = 400
    code = "pdf_token_tampered"


class UnidentifiedPdf(InvalidInput):
    """Nothing in the PDF says which document it answers."""

    code = "pdf_unidentified"


class NotThisForm(InvalidInput):
    """The PDF's fields are not those of the link's form."""

    code = "pdf_not_this_form"


class AnswersRefused(InvalidInput):
    """Values in the PDF that the form's rules refuse; `problems` lists every one."""

    code = "invalid"

    def __init__(self, reason: str, *, field: str | None, problems: list[AnswerProblem]) -> None:
        super().__init__(reason, field=field)
        self.problems = problems


@dataclass(frozen=True)
class PdfReturnReceipt:
    """What the sender of a PDF is told."""

    status: PdfReturnStatus
    return_id: str | None
    document: Document | None
    submission: Submission | None
    changes: tuple[FieldChange, ...] = ()
    repeated: bool = False


class PdfReturnIntake:
    """Use cases of the fillable-PDF channel (customer upload and API)."""

    def __init__(
        self,
        online: OnlineIntake,
        files: FileStore,
        *,
        limits: PdfLimits | None = None,
        read_seconds: int = 10,
        read_memory_bytes: int = 512 * 1024 * 1024,
        on_submitted: SubmittedHook | None = None,
        on_awaiting_scan: AwaitingScanHook | None = None,
    ) -> None:
        self.online = online
        self.files = files
        self.limits = limits or PdfLimits()
        self.read_seconds = read_seconds
        self.read_memory_bytes = read_memory_bytes
        # The same hook as the online channel: the change-set pipeline follows.
        if on_submitted is None and online.proposer is not None:
            on_submitted = online.proposer.propose_quietly
        self.on_submitted = on_submitted
        self.on_awaiting_scan = on_awaiting_scan
        self.sessions = online.sessions
        self.clock = online.clock

    def receive(
        self,
        content: bytes,
        *,
        link_token: str | None,
        via: str,
        actor: str,
        client: str | None = None,
        locale: str = "fr",
    ) -> PdfReturnReceipt:
        """Check, identify, read and store a returned PDF.

        Args:
            content: the uploaded file.
            link_token: the signed token of the link it was uploaded on (None for the API
                without a link: the PDF's own token identifies it).
            via: "upload" (customer page) or "api".
            actor: who sent it ("customer" or "api:<token name>").
            client: the pseudonymous client, for security events.
            locale: the language of error reasons.

        Raises:
            FormsError: a bad link, a bad file, another customer's PDF, refused values.
        """
        link_document = None
        if link_token is not None:
            link_document = self.online.resolve(link_token, client=client)
            self.online.ensure_open(link_document)
        try:
            # Untrusted bytes: read in a bounded child, never in the web process itself.
            form = read_untrusted_pdf_form(
                content,
                self.limits,
                seconds=self.read_seconds,
                memory_bytes=self.read_memory_bytes,
            )
            document = self._identify(form, link_document, client)
        except (PdfRejected, UnidentifiedPdf) as exc:
            self._refused(exc, link_document, client)
            raise
        if not form.has_fields or _only_token(form):
            return self._awaiting_scan(content, form, document, via=via, actor=actor)
        assert document is not None  # noqa: S101 - _identify refuses a PDF it cannot place
        if matching_fields(self.online.definition(document), form) == 0:
            refusal = NotThisForm(
                "This PDF is not the form of this letter: none of its fields belong to it.",
                field="file",
            )
            self._refused(refusal, document, client)
            raise refusal
        return self._submit(
            content, form, document, via=via, actor=actor, locale=locale, client=client
        )

    # -- identification ------------------------------------------------------------------

    def _identify(
        self, form: PdfForm, link_document: Document | None, client: str | None
    ) -> Document | None:
        token = document_token(form)
        if token is None:
            if link_document is None and form.has_fields:
                raise _unidentified()
            return link_document
        try:
            claims = self.online.issuing.signer.verify(token, self.clock())
        except TamperedLink:
            self.online.security_event(
                "pdf_token_tampered",
                document_id=link_document.id if link_document else None,
                client=client,
            )
            if link_document is not None:
                raise _unidentified() from None
            raise TamperedPdfToken(
                "The document token in this PDF was altered: it was not issued by us.",
                field="file",
            ) from None
        except ExpiredLink:
            if link_document is None:
                self.online.resolve(token, client=client)  # records the expiry, then raises
                raise
            claims = None
        if link_document is not None:
            if claims is not None and claims.document_id != link_document.id:
                self.online.security_event(
                    "pdf_other_document",
                    document_id=link_document.id,
                    client=client,
                    detail="the PDF names another document",
                )
                raise OtherDocument(
                    "This PDF was sent to someone else: upload the PDF you received.",
                    field="file",
                )
            return link_document
        document = self.online.resolve(token, client=client)
        self.online.ensure_open(document)
        return document

    def _refused(self, error: FormsError, document: Document | None, client: str | None) -> None:
        self.online.security_event(
            "pdf_rejected",
            document_id=document.id if document else None,
            client=client,
            detail=error.code,
        )

    # -- storing -------------------------------------------------------------------------

    def _awaiting_scan(
        self, content: bytes, form: PdfForm, document: Document | None, *, via: str, actor: str
    ) -> PdfReturnReceipt:
        file_key = self.files.put(content, suffix=".pdf")
        now = self.clock()
        row = PdfReturn(
            id=new_document_id(),
            document_id=document.id if document else None,
            submission_id=None,
            status=PdfReturnStatus.AWAITING_SCAN,
            file_key=file_key,
            size=len(content),
            via=via,
            actor=actor,
            reader=form.reader,
            field_count=len(form.fields),
            received_at=now,
        )
        with self.sessions() as session, session.begin():
            session.add(row)
            audit.record(
                session,
                "pdf_awaiting_scan",
                actor=actor,
                at=now,
                document_id=row.document_id,
                detail={"channel": Channel.PDF.value, "return": row.id},
            )
        if self.on_awaiting_scan is not None:
            try:
                self.on_awaiting_scan(row, content)
            except Exception:  # stored: the mailroom's requeue gives it its batch later
                log.exception("PDF return %s stored, not yet handed to the mailroom", row.id)
        return PdfReturnReceipt(PdfReturnStatus.AWAITING_SCAN, row.id, document, None)

    def _submit(
        self,
        content: bytes,
        form: PdfForm,
        document: Document,
        *,
        via: str,
        actor: str,
        locale: str,
        client: str | None,
    ) -> PdfReturnReceipt:
        definition = self.online.definition(document)
        answers, problems = read_answers(definition, form, document.snapshot, file_key="")
        if problems:
            first = problems[0]
            label = definition.field(first.field).label_in(locale)
            reason = f"{label}: {field_message(first.key, locale, **first.params)}"
            refusal = AnswersRefused(reason, field=first.field, problems=problems)
            self._refused(refusal, document, client)
            raise refusal
        stored_key = self.files.put(content, suffix=".pdf")
        answers = [_with_file(a, stored_key) for a in answers]
        now = self.clock()
        with self.sessions() as session, session.begin():
            stored = session.get(Document, document.id, with_for_update=True)
            assert stored is not None  # noqa: S101 - identified just before
            if stored.status is DocumentStatus.CLOSED:
                raise ClosedLink("Your answer has already been processed.")
            existing = pending_answer(session, stored.id)
            if existing is not None:
                return PdfReturnReceipt(
                    PdfReturnStatus.READ,
                    None,
                    stored,
                    existing,
                    changes_of(definition, existing),
                    repeated=True,
                )
            submission = Submission(
                id=new_document_id(),
                document_id=stored.id,
                channel=Channel.PDF.value,
                status=SubmissionStatus.RECEIVED,
                raw_values={a.field: _jsonable(a.raw) for a in answers},
                values={a.field: a.value for a in answers},
                base={a.field: document.snapshot.get(a.field) for a in answers},
                evidence={a.field: dict(a.evidence) for a in answers},
                locale=locale,
                opened_at=stored.opened_at,
                received_at=now,
            )
            session.add(submission)
            stored.status = DocumentStatus.ANSWERED
            session.flush()
            record_event(
                session,
                stored.id,
                EventKind.SUBMITTED,
                at=now,
                channel=submission.channel,
                detail={"submission": submission.id},
            )
            row = PdfReturn(
                id=new_document_id(),
                document_id=stored.id,
                submission_id=submission.id,
                status=PdfReturnStatus.READ,
                file_key=stored_key,
                size=len(content),
                via=via,
                actor=actor,
                reader=form.reader,
                field_count=len(form.fields),
                received_at=now,
            )
            session.add(row)
            audit.record(
                session,
                "submitted",
                actor=actor,
                at=now,
                document_id=stored.id,
                detail={"channel": Channel.PDF.value, "submission": submission.id},
            )
        self._hand_over(submission.id)
        return PdfReturnReceipt(
            PdfReturnStatus.READ, row.id, stored, submission, changes_of(definition, submission)
        )

    def _hand_over(self, submission_id: str) -> None:
        """Start the change-set pipeline (which logs and retries what it cannot do now)."""
        if self.on_submitted is not None:
            self.on_submitted(submission_id)


def build_pdf_returns(
    online: OnlineIntake, files: FileStore, settings: Settings
) -> PdfReturnIntake:
    """The PDF channel with limits from the settings (PDF_MAX_PAGES, PDF_MAX_DEPTH…)."""
    limits = PdfLimits(
        max_bytes=settings.max_content_length,
        max_pages=settings.pdf_max_pages,
        max_depth=settings.pdf_max_depth,
        max_fields=settings.pdf_max_fields,
        max_inflated_bytes=settings.pdf_max_inflated_bytes,
        max_objects=settings.pdf_max_objects,
        max_objects_per_mb=settings.pdf_max_objects_per_mb,
        max_padding_bytes=settings.pdf_max_padding_bytes,
    )
    return PdfReturnIntake(
        online,
        files,
        limits=limits,
        read_seconds=settings.pdf_read_seconds,
        read_memory_bytes=settings.pdf_read_memory_bytes,
    )


def _only_token(form: PdfForm) -> bool:
    """Whether only hidden fields are left (the answer widgets were flattened)."""
    return all(f.hidden for f in form.fields.values())


def _unidentified() -> UnidentifiedPdf:
    return UnidentifiedPdf(
        "The PDF does not say which letter it answers: send the PDF you received, "
        "or upload it on the link of your letter.",
        field="file",
    )


def _with_file(answer: FieldAnswer, file_key: str) -> FieldAnswer:
    return FieldAnswer(
        answer.field, answer.value, answer.raw, {**answer.evidence, "file": file_key}
    )


def _jsonable(value: object) -> object:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value
