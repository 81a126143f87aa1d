"""The online channel's use cases: open a form from its signed link, identify, submit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from forms_service.audit import service as audit
from forms_service.changes.model import error_kind
from forms_service.changes.proposal import Answer, Proposal, store
from forms_service.connectors.interfaces import SourceUnavailable
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.interfaces import ChangeProposer
from forms_service.intake.online.amend import amend, amendable
from forms_service.intake.online.answering import (
    document_part,
    jsonable,
    parsed_answer,
    repeated_by,
    row_of,
)
from forms_service.intake.online.challenge import check_identity
from forms_service.intake.online.drafts import DraftStore
from forms_service.intake.online.model import (
    OPENINGS,
    ChallengePolicy,
    ClosedLink,
    OpenedForm,
    OpenedLink,
    Prefill,
    Purpose,
    Receipt,
    RevokedLink,
    ShownValues,
    changes_of,
)
from forms_service.intake.online.queries import (
    DOCUMENTS,
    READ_DOCUMENT,
    READ_DOCUMENT_AND_ANSWERS,
    SUBMISSIONS,
    answers_in,
    answers_of,
    document_of,
    shown_answer,
)
from forms_service.intake.online.shown import ShownValuesSeal
from forms_service.issuing.service import IssuingService, snapshot_of
from forms_service.issuing.tokens import (
    ExpiredLink,
    TamperedLink,
    UnknownDocument,
    new_document_id,
)
from forms_service.storage.drafts import Draft as DraftRow
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import (
    Document,
    DocumentStatus,
    SecurityEvent,
    Submission,
    SubmissionStatus,
)
from forms_service.storage.service import reading, reading_connection

log = logging.getLogger(__name__)

#: Errors of a database that cannot be reached (or a pool that has no connection to give).
_UNREACHABLE = (OperationalError, InterfaceError, PoolTimeout)

#: The first opening: one statement decides who opened first (concurrent first openings
#: record one event).
_MARK_OPENED = (
    update(DOCUMENTS)
    .where(DOCUMENTS.c.id == bindparam("document_id"), DOCUMENTS.c.opened_at.is_(None))
    .values(
        opened_at=bindparam("opened_at"),
        status=case(
            (DOCUMENTS.c.status == DocumentStatus.ISSUED, DocumentStatus.OPENED),
            else_=DOCUMENTS.c.status,
        ),
    )
)
#: Locks the document and sets its new status in one statement, unless its link is closed or
#: revoked (then no row: `_DOCUMENT_STATUS` tells which). A repeated submit rolls it back.
_CLAIM_DOCUMENT = (
    update(DOCUMENTS)
    .where(
        DOCUMENTS.c.id == bindparam("document_id"),
        DOCUMENTS.c.status.not_in([DocumentStatus.CLOSED, DocumentStatus.REVOKED]),
    )
    .values(status=bindparam("status"))
    .returning(DOCUMENTS.c.id)
)
_DOCUMENT_STATUS = select(DOCUMENTS.c.status).where(DOCUMENTS.c.id == bindparam("document_id"))
#: What a repeated submit is recognised by, for every answer of the document (a handful).
_ANSWER_STATES = select(
    SUBMISSIONS.c.id,
    SUBMISSIONS.c.status,
    SUBMISSIONS.c.received_at,
    SUBMISSIONS.c["values"].label("answer"),
    SUBMISSIONS.c.base,
).where(SUBMISSIONS.c.document_id == bindparam("document_id"))
_INSERT_SUBMISSION = insert(SUBMISSIONS)


class _Repeated(Exception):
    """Leaves the submit's transaction, rolled back, with the answer a submit repeats."""

    def __init__(self, submission: Submission) -> None:
        super().__init__(submission.id)
        self.submission = submission


class OnlineIntake:
    """Use cases of the online form."""

    def __init__(
        self,
        issuing: IssuingService,
        challenge: ChallengePolicy | None = None,
        *,
        proposer: ChangeProposer | None = None,
        seal: ShownValuesSeal,
        drafts: DraftStore | None = None,
    ) -> None:
        self.issuing = issuing
        self.sessions = issuing.sessions
        self.clock = issuing.clock
        self.challenge = challenge or ChallengePolicy()
        #: Proposes each new answer's change set in the answer's own transaction (None: the
        #: answer is stored alone and `ChangeService.propose_pending` proposes it later).
        self.proposer = proposer
        #: Signs the values a form page shows, checks them when its answer comes back.
        self.seal = seal
        #: Answers in progress, resumed from any device (None: not kept).
        self.drafts = drafts

    # -- the form opened -----------------------------------------------------------------

    def open_form(
        self,
        token: str,
        purpose: Purpose,
        *,
        client: str | None = None,
        identified: Callable[[str], bool] = lambda _document_id: False,
    ) -> OpenedForm:
        """Open a link for one page of the online form, running the steps `purpose` needs.

        In order (see `OPENINGS`): resolve the link (signature, expiry, revocation: a failure
        stores a security event); load the form's definition; refuse a link whose answer was
        processed already; stop when the identity question is not answered yet
        (`needs_identity`: nothing personal is read); then, for the form page, record the
        first opening and, unless an answer was received, prefill from the live source and
        sign the shown values (the base of the three-way diff).

        Args:
            token: the link's token.
            purpose: the page the link is opened for.
            client: the pseudonymous client, for the security events.
            identified: whether this client answered the identity question of a document
                (asked only of forms that have one).

        Raises:
            FormsError: the link is tampered, expired, unknown, revoked, or closed.
        """
        opening = OPENINGS[purpose]
        link = self._open(token, client, with_answer=opening.reads_answer)
        document = link.document
        definition = self.definition(document)
        if opening.must_be_open:
            self.ensure_open(document)
        if opening.asks_identity and definition.challenge and not identified(document.id):
            return OpenedForm(document, definition, link.answer, needs_identity=True)
        if not opening.shows_values:
            return OpenedForm(document, definition, link.answer)
        self.mark_opened(document)
        if link.answer is not None:
            return OpenedForm(document, definition, link.answer)
        return self.prefilled(document, definition)

    def prefilled(
        self, document: Document, definition: FormDefinition, answer: Submission | None = None
    ) -> OpenedForm:
        """The form page's values, live, and them signed into the page (the diff's base)."""
        prefill = self.prefill(document)
        shown = ShownValues(
            document_id=document.id,
            values={
                f.name: prefill.values.get(f.name) for f in definition.fields_for(Channel.ONLINE)
            },
            opened_at=self.clock(),
            live=prefill.live,
        )
        signed = self.seal.sign(shown)
        return OpenedForm(document, definition, answer, prefill=prefill, shown=signed)

    def shown_values(self, document: Document, signed: str) -> ShownValues:
        """The values a form page showed, as it posts them back signed.

        Raises:
            TamperedShownValues: not signed by this service, or for another document.
        """
        return self.seal.open(signed, document.id)

    # -- links ---------------------------------------------------------------------------

    def security_event(
        self,
        kind: str,
        *,
        document_id: str | None = None,
        client: str | None = None,
        detail: str = "",
    ) -> None:
        """Store a security event (no personal data: kinds, ids and a pseudonymous client)."""
        with self.sessions() as session, session.begin():
            session.add(
                SecurityEvent(
                    at=self.clock(),
                    kind=kind,
                    document_id=document_id,
                    client=client,
                    detail=detail,
                )
            )

    def resolve(self, token: str, *, client: str | None = None) -> Document:
        """The document a link names, checked for signature, expiry, revocation and closure.

        A failure stores a security event and raises the matching FormsError.
        """
        return self._open(token, client, with_answer=False).document

    def open_link(self, token: str, *, client: str | None = None) -> OpenedLink:
        """`resolve`, and the answer already received, in one read of the database."""
        return self._open(token, client, with_answer=True)

    def _open(self, token: str, client: str | None, *, with_answer: bool) -> OpenedLink:
        try:
            claims = self.issuing.signer.verify(token, self.clock())
        except TamperedLink:
            self.security_event("link_tampered", client=client)
            raise
        except ExpiredLink:
            self.security_event("link_expired", document_id=document_part(token), client=client)
            raise
        with reading_connection(self.sessions) as connection:
            statement = READ_DOCUMENT_AND_ANSWERS if with_answer else READ_DOCUMENT
            rows = connection.execute(statement, {"document_id": claims.document_id}).all()
        document = document_of(rows[0]) if rows else None
        answers = answers_in(rows) if with_answer else []
        if document is None:
            self.security_event("link_unknown_document", client=client)
            raise UnknownDocument("This link does not lead to any form.")
        if document.status is DocumentStatus.REVOKED:
            self.security_event("link_revoked", document_id=document.id, client=client)
            raise RevokedLink("This form was withdrawn.")
        if document.expires_at <= self.clock():
            self.security_event("link_expired", document_id=document.id, client=client)
            raise ExpiredLink("This link has expired.")
        return OpenedLink(document, shown_answer(answers))

    def mark_opened(self, document: Document) -> None:
        """Record the first opening of a document."""
        if document.opened_at is not None:
            return
        now = self.clock()
        with self.sessions() as session, session.begin():
            opened = session.connection().execute(
                _MARK_OPENED, {"document_id": document.id, "opened_at": now}
            )
            if opened.rowcount != 1:
                return
            record_event(session, document.id, EventKind.OPENED, at=now, channel="online")
            audit.record(
                session,
                "opened",
                actor="customer",
                at=now,
                document_id=document.id,
                detail={"channel": Channel.ONLINE.value},
            )
        document.opened_at = now
        if document.status is DocumentStatus.ISSUED:
            document.status = DocumentStatus.OPENED

    # -- challenge -----------------------------------------------------------------------

    def check_challenge(
        self, document: Document, answers: Mapping[str, str], *, client: str | None = None
    ) -> None:
        """Check the identity answers; count and lock on failures.

        Raises:
            IdentityLocked: the document is locked for a while after too many wrong answers.
            IdentityBlocked: it is locked until an adviser unlocks it.
            ChallengeFailed: an answer is wrong (the message does not say which).
        """
        check_identity(
            self.sessions,
            self.definition(document),
            document,
            answers,
            self.challenge,
            self.clock(),
            digester=self.issuing.answers,
            client=client,
        )
        with self.sessions() as session, session.begin():
            record_event(
                session, document.id, EventKind.IDENTITY_ANSWERED, at=self.clock(), channel="online"
            )

    # -- prefill and submit --------------------------------------------------------------

    def definition(self, document: Document) -> FormDefinition:
        """The definition a document was issued with."""
        return self.issuing.definition(document.form_id)

    def prefill(self, document: Document) -> Prefill:
        """Live values from the source, or the issue snapshot when the source cannot answer."""
        definition = self.definition(document)
        connector = self.issuing.connectors[definition.source.connector]
        try:
            record = connector.read(definition.source.record_type, document.record_key)
        except SourceUnavailable:
            record = None
        if record is None:
            return Prefill(values=dict(document.snapshot), live=False)
        return Prefill(values=snapshot_of(definition, record), live=True)

    def pending_submission(self, document: Document) -> Submission | None:
        """The answer already received for this document: the pending one, else the latest.

        The latest (applied at once, or confirmed without change) keeps its confirmation page.
        """
        with reading(self.sessions) as session:
            return shown_answer(answers_of(session, document.id))

    def ensure_open(self, document: Document) -> None:
        """Refuse answers once the document's answer has been processed."""
        if document.status is DocumentStatus.CLOSED:
            raise ClosedLink("Your answer has already been processed.")

    def submit(
        self,
        document: Document,
        raw_values: Mapping[str, Any],
        base: Mapping[str, str | None],
        *,
        locale: str,
        opened_at: dt.datetime | None,
        evidence: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Receipt:
        """Store an online answer (raw values first) and list what it changes.

        `raw_values` hold only the fields shown online; they must already be validated by the
        form, and are parsed again here so that no channel can skip the field types.
        `evidence` adds to a field's evidence (an attached document, intake/online/attachments.py).
        """
        definition = self.definition(document)
        values = parsed_answer(definition, raw_values, base)
        proposer = self.proposer
        # The source is read before the transaction: no lock waits on the network. A source
        # that cannot answer leaves the proposal to `propose_pending`; the answer is stored.
        record = proposer.read_source(definition, document.record_key) if proposer else None
        now = self.clock()
        submission = Submission(
            id=new_document_id(),
            document_id=document.id,
            channel=Channel.ONLINE.value,
            status=SubmissionStatus.RECEIVED,
            raw_values={k: jsonable(v) for k, v in raw_values.items()},
            values=values,
            base={k: base.get(k) for k in values},
            evidence={k: {"kind": "typed", **(evidence or {}).get(k, {})} for k in values},
            locale=locale,
            opened_at=opened_at,
            received_at=now,
        )
        proposal = None
        if proposer is not None and record is not None:
            try:
                proposal = proposer.plan(definition, Answer.of(submission, document), record)
            except Exception as exc:  # the answer must not fail with its proposal
                log.error(
                    "cannot propose an answer now (%s); the outbox worker retries", error_kind(exc)
                )
        try:
            receipt, queued = self._store(definition, submission, proposal)
        except SQLAlchemyError as exc:
            if proposal is None or isinstance(exc, _UNREACHABLE):
                raise  # a database that cannot be reached would refuse the answer alone too
            # Whatever in the change set the database refused, the answer is stored alone
            # (`propose_pending` proposes it later, or logs why it cannot).
            log.error(
                "cannot store an answer's change set (%s); storing the answer alone",
                error_kind(exc),
            )
            receipt, queued = self._store(definition, submission, None)
        if proposer is not None:
            proposer.after_commit(queued)
        return receipt

    def amendable(self, submission: Submission) -> bool:
        """Whether the customer may still correct `submission` (intake/online/amend.py)."""
        return amendable(self.sessions, submission)

    def amend(
        self,
        document: Document,
        raw_values: Mapping[str, Any],
        base: Mapping[str, str | None],
        *,
        locale: str,
        opened_at: dt.datetime | None,
        evidence: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Receipt:
        """A corrected answer instead of the pending one, in its change set (see amend.py).

        Raises:
            AnswerProcessed: the answer was processed, in part or whole, meanwhile.
        """
        definition = self.definition(document)
        values = parsed_answer(definition, raw_values, base)
        return amend(
            sessions=self.sessions,
            proposer=self.proposer,
            definition=definition,
            document=document,
            values=values,
            raw_values=raw_values,
            base=base,
            evidence={k: {"kind": "typed", **(evidence or {}).get(k, {})} for k in values},
            locale=locale,
            opened_at=opened_at,
            now=self.clock,
        )

    def _store(
        self, definition: FormDefinition, submission: Submission, proposal: Proposal | None
    ) -> tuple[Receipt, list[int]]:
        """Store a new answer, and its change set when given, in one transaction.

        Returns the receipt and the ids of the outbox messages written.
        """
        submission.status = (
            proposal.state.submission_status if proposal else SubmissionStatus.RECEIVED
        )
        queued: list[int] = []
        closes = proposal is not None and proposal.state.closes_document
        try:
            with self.sessions() as session, session.begin():
                # Lock the document (setting its new status), then look for an answer: a
                # statement after the lock sees an answer a concurrent submit committed while
                # this one waited.
                connection = session.connection()  # Core statements, no ORM execution layer
                claimed = connection.execute(
                    _CLAIM_DOCUMENT,
                    {
                        "document_id": submission.document_id,
                        "status": DocumentStatus.CLOSED if closes else DocumentStatus.ANSWERED,
                    },
                ).first()
                if claimed is None:
                    status = connection.execute(
                        _DOCUMENT_STATUS, {"document_id": submission.document_id}
                    ).scalar_one()
                    if status is DocumentStatus.REVOKED:
                        raise RevokedLink("This form was withdrawn.")
                    raise ClosedLink("Your answer has already been processed.")
                states = connection.execute(
                    _ANSWER_STATES, {"document_id": submission.document_id}
                ).all()
                repeated = repeated_by(states, submission)
                if repeated is not None:
                    existing = session.get(Submission, repeated)
                    assert existing is not None  # noqa: S101 - read just before, under the lock
                    session.expunge(existing)  # kept loaded through the rollback
                    raise _Repeated(existing)  # rolls the document's new status back
                # Written with Core statements: nothing is read back in this transaction.
                connection.execute(_INSERT_SUBMISSION, row_of(submission))
                if proposal is not None:
                    queued = store(session, proposal)
                record_event(
                    session,
                    submission.document_id,
                    EventKind.SUBMITTED,
                    at=submission.received_at,
                    channel=Channel.ONLINE.value,
                    detail={"submission": submission.id},
                )
                if self.drafts is not None:
                    # The answer is in: nothing to resume (in its transaction, no trip more).
                    connection.execute(
                        delete(DraftRow).where(DraftRow.document_id == submission.document_id)
                    )
                # Events last (on SQLite the chain head is locked there; PostgreSQL chains at
                # commit).
                submitted = audit.NewEvent(
                    "submitted",
                    "customer",
                    submission.received_at,
                    document_id=submission.document_id,
                    detail={"channel": Channel.ONLINE.value, "submission": submission.id},
                )
                audit.record_all(session, [submitted, *(proposal.events if proposal else ())])
        except _Repeated as repeat:
            existing = repeat.submission
            return Receipt(existing, changes_of(definition, existing), repeated=True), []
        return Receipt(submission, changes_of(definition, submission)), queued
