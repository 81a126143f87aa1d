"""Change-set use cases: propose from a submission, query the queue, review field by field.

Every review action names the acting person (a `Reviewer`: the user, and the token used if
any; a bare name for callers that know no user) and the change set's version as the clerk saw it
(optimistic lock); a stale version is refused with StaleChangeSet and nothing changes. When
no field waits for a clerk any more, the accepted fields are written to the outbox in the
same transaction; `on_queued` (immediate delivery in the embedded default) runs after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from forms_service.audit import service as audit
from forms_service.changes import choices, queries
from forms_service.changes.diff import outcome_of
from forms_service.changes.model import (
    VALID,
    WAITING,
    Action,
    ChangeSetView,
    Dashboard,
    InvalidTransition,
    Outcome,
    QueueFilter,
    QueuePage,
    Reviewer,
    StaleChangeSet,
    error_kind,
)
from forms_service.changes.policy import PolicySettings
from forms_service.changes.proposal import Answer, Proposal, plan, store
from forms_service.changes.review import Decision, needs_choice
from forms_service.changes.settlement import (
    accept_row,
    queue_rows,
    record_event,
    reject_row,
    settle,
    transition,
)
from forms_service.changes.station import Resolution, writer_of
from forms_service.changes.station_use_cases import StationUseCases
from forms_service.connectors.interfaces import Connector
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import InvalidInput, NotFound
from forms_service.core.i18n import field_message
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import (
    ChangeSet,
    Document,
    DocumentStatus,
    FieldChangeRow,
    FieldChangeStatus,
    Submission,
    SubmissionStatus,
)
from forms_service.storage.service import reading

log = logging.getLogger(__name__)

#: Called after commit with the ids of the outbox messages a transaction wrote.
QueuedHook = Callable[[Sequence[int]], None]

__all__ = ["ChangeService", "QueueFilter", "QueuePage", "Reviewer", "StaleChangeSet"]


class ChangeService(StationUseCases):
    """Turns submissions into change sets and takes clerks' decisions on them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        definitions: Mapping[str, FormDefinition],
        connectors: Mapping[str, Connector],
        *,
        clock: Clock = utc_now,
        policy: PolicySettings | None = None,
        on_queued: QueuedHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.definitions = definitions
        self.connectors = connectors
        self.clock = clock
        self.policy = policy or PolicySettings()
        self.on_queued = on_queued

    # -- propose -------------------------------------------------------------------------

    def propose(self, submission_id: str, *, actor: str = "system") -> ChangeSetView:
        """Build the change set of a submission: only fields that really change.

        Reads the live source record, compares each answered field three ways (what the
        customer saw, what the source holds now, the answer), routes each real change by the
        field's policy, the evidence's confidence and the validators; queues the safe ones at
        once. A submission that changes nothing gets a change set closed as `no_change`
        (and the submission status `no_change`: it counts as an answer). Idempotent: a
        submission already proposed returns its change set.

        Raises:
            NotFound: no such submission.
            SourceUnavailable: the source cannot be read now (nothing is stored; try again).
        """
        return self.change_set(self._propose(submission_id, actor))

    def _propose(self, submission_id: str, actor: str) -> str:
        """`propose`, returning the change set's id only."""
        with reading(self.sessions) as session:
            found = session.execute(
                select(Submission, Document, ChangeSet.id)
                .join(Document, Document.id == Submission.document_id)
                .outerjoin(ChangeSet, ChangeSet.submission_id == Submission.id)
                .where(Submission.id == submission_id)
            ).one_or_none()
        if found is None:
            raise NotFound("unknown submission", field="submission")
        submission, document, existing = found
        if existing is not None:
            return str(existing)
        definition = self._definition(document.form_id)
        record = self._source_of(definition).read(
            definition.source.record_type, document.record_key
        )
        proposal = self.plan(definition, Answer.of(submission, document), record or {}, actor=actor)
        try:
            with self.sessions() as session, session.begin():
                # Lock, then look: a statement after the lock sees a change set that a
                # concurrent proposal committed while this one waited (a join in the locking
                # statement would still read from before the wait).
                locked = session.get(Submission, submission_id, with_for_update=True)
                if locked is None or self._change_set_id_of(session, submission_id):
                    return self._proposed_id(session, submission_id)
                queued = store(session, proposal)
                locked.status = proposal.state.submission_status
                if proposal.state.closes_document:
                    stored = session.get(Document, document.id)
                    if stored is not None and stored.status is not DocumentStatus.REVOKED:
                        stored.status = DocumentStatus.CLOSED
                # Events last (on SQLite the chain head is locked there; PostgreSQL chains at commit).
                audit.record_all(session, proposal.events)
                session.flush()
        except IntegrityError:
            # Proposed concurrently: the unique submission id chose the winner.
            with reading(self.sessions) as session:
                return self._proposed_id(session, submission_id)
        self.after_commit(queued)
        return proposal.change_set_id

    def read_source(
        self, definition: FormDefinition, record_key: str
    ) -> Mapping[str, object] | None:
        """The source record to propose against, read before a write transaction.

        An empty mapping when the source has no such record; None when it cannot be read now
        (logged: the answer is stored alone and `propose_pending` proposes it later).
        """
        try:
            record = self._source_of(definition).read(definition.source.record_type, record_key)
        except Exception as exc:
            log.error(
                "cannot read the source of form %s now (%s); the outbox worker proposes later",
                definition.id,
                error_kind(exc),
            )
            return None
        return record or {}

    def plan(
        self,
        definition: FormDefinition,
        answer: Answer,
        record: Mapping[str, object],
        *,
        actor: str = "system",
        change_set_id: str | None = None,
    ) -> Proposal:
        """The change set of an answer against the source record (see `proposal.plan`)."""
        return plan(
            definition,
            answer,
            record,
            self.policy,
            self.clock(),
            actor=actor,
            change_set_id=change_set_id,
        )

    def propose_quietly(self, submission_id: str) -> None:
        """Propose right after intake; a failure is logged and left to `propose_pending`.

        The customer's answer is stored already: it must not fail because the source is down.
        """
        try:
            self._propose(submission_id, "system")
        except Exception as exc:
            log.error(
                "cannot propose submission %s now (%s); the outbox worker retries",
                submission_id,
                error_kind(exc),
            )

    def propose_pending(self, *, limit: int = 100) -> list[str]:
        """Propose every received submission that has no change set yet (crash recovery).

        Returns the ids of the change sets created; a source that cannot be read leaves its
        submissions for the next run.
        """
        with self.sessions() as session:
            waiting = list(
                session.execute(
                    select(Submission.id)
                    .outerjoin(ChangeSet, ChangeSet.submission_id == Submission.id)
                    .where(Submission.status == SubmissionStatus.RECEIVED, ChangeSet.id.is_(None))
                    .order_by(Submission.received_at)
                    .limit(limit)
                ).scalars()
            )
        created = []
        for submission_id in waiting:
            try:
                created.append(self._propose(submission_id, "system"))
            except Exception as exc:  # one broken submission must not block the others
                log.error("cannot propose submission %s (%s)", submission_id, error_kind(exc))
        return created

    # -- queries -------------------------------------------------------------------------

    def queue(
        self, filters: QueueFilter | None = None, *, locale: str = "fr", with_counts: bool = True
    ) -> QueuePage:
        """The review queue: conflicts first, then oldest first, with counts per status."""
        with reading(self.sessions) as session:
            return queries.queue_page(
                session,
                filters or QueueFilter(),
                self.definitions,
                self.clock(),
                locale,
                with_counts=with_counts,
            )

    def dashboard(self, zone: dt.tzinfo, *, person: Reviewer | None = None) -> Dashboard:
        """What waits now, what needs attention, and what closed today and this week.

        "Today" starts at midnight in `zone` (the back office's time zone), read now. With
        `person`, what waits with nothing for them (`for_others`) is counted apart.
        """
        local = self.clock().astimezone(zone)
        midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)
        with reading(self.sessions) as session:
            board = queries.dashboard(session, midnight.astimezone(dt.UTC))
            if person is None:
                return board
            return replace(board, for_others=queries.waiting_for_others(session, person))

    def change_set(self, change_set_id: str, *, locale: str = "fr") -> ChangeSetView:
        """One change set, its rows and its outbox messages.

        Each row: label, base, current, proposed, outcome, policy, evidence, verdict, status.

        Raises:
            NotFound: no such change set.
        """
        # No transaction (PostgreSQL, READ COMMITTED): each statement has its own snapshot
        # anyway, and the version read first makes a decision on a newer state stale.
        with reading(self.sessions) as session:
            return queries.change_set_view(session, change_set_id, self.definitions, locale)

    def change_set_of_submission(self, submission_id: str, *, locale: str = "fr") -> ChangeSetView:
        """The change set proposed for a submission (NotFound when not proposed yet)."""
        with reading(self.sessions) as session:
            found = self._change_set_id_of(session, submission_id)
            if found is None:
                raise NotFound("this submission has no change set yet", field="submission")
            return queries.change_set_view(session, found, self.definitions, locale)

    def next_in_queue(
        self, after: str | None = None, filters: QueueFilter | None = None
    ) -> str | None:
        """The id of the next change set waiting for a clerk (for the `n` key), None at the end.

        The one after `after` in the queue's order, or the first one when `after` is not in
        the queue (decided, or filtered out); the whole queue counts, not one page of it.
        """
        with reading(self.sessions) as session:
            return queries.next_waiting(session, after, filters or QueueFilter(), self.clock())

    # -- review --------------------------------------------------------------------------

    def accept(
        self, change_set_id: str, field: str, *, actor: str | Reviewer, version: int
    ) -> ChangeSetView:
        """Accept one field's change as proposed (a four-eyes field needs two different people).

        Raises:
            StaleChangeSet: `version` is not the change set's current version.
            SecondReviewerRequired: the same person approves a four-eyes field twice.
            InvalidInput: the proposed value is not valid (edit it first).
            InvalidTransition: the field is not waiting for a decision.
        """
        return self._decide(
            change_set_id,
            version,
            actor,
            lambda s, cs, d, now, who: accept_row(s, cs, _row(cs, field), who, now),
        )

    def reject(
        self,
        change_set_id: str,
        field: str,
        *,
        actor: str | Reviewer,
        version: int,
        reason: str = "",
    ) -> ChangeSetView:
        """Reject one field's change: the source keeps its value.

        Raises:
            StaleChangeSet, InvalidTransition: as for `accept`.
        """

        def act(
            session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
        ) -> None:
            reject_row(session, cs, _row(cs, field), who, now, reason)

        return self._decide(change_set_id, version, actor, act)

    def edit(
        self,
        change_set_id: str,
        field: str,
        value: object,
        *,
        actor: str | Reviewer,
        version: int,
        accept: bool = False,
        locale: str = "en",
    ) -> ChangeSetView:
        """Replace the proposed value (re-validated by the field type); optionally accept it.

        A refused value's reason is in `locale` (the clerk's language).

        An edit after a first four-eyes approval needs both approvals again.

        Raises:
            InvalidInput: the value is refused by the field type (field and reason given).
            StaleChangeSet, InvalidTransition, SecondReviewerRequired: as for `accept`.
        """

        def act(
            session: Session,
            cs: ChangeSet,
            definition: FormDefinition,
            now: dt.datetime,
            who: Reviewer,
        ) -> None:
            row = _row(cs, field)
            field_def = definition.field(field)
            try:
                parsed = field_def.parse(value)
            except FieldValueError as exc:
                raise InvalidInput(
                    field_message(exc.key, locale, **exc.params), field=field
                ) from exc
            if parsed is None and field_def.required:
                raise InvalidInput(field_message("required", locale), field=field)
            settles = choices.is_conflict(row)
            transition(row, Action.EDIT, now)
            if settles:
                row.resolution = Resolution.EDIT.value
            before = row.proposed
            if row.edited_from is None:
                row.edited_from = row.proposed
            row.proposed = parsed
            row.verdict = VALID
            row.first_reviewer = row.first_reviewer_id = None
            if row.outcome != Outcome.CONFLICT:
                row.outcome = outcome_of(field_def, row.base, row.current, parsed).value
            record_event(
                session,
                "edited",
                cs,
                actor=who.name,
                now=now,
                row=row,
                before=before,
                after=parsed,
                written_by=writer_of(row.evidence).value,
                **({"resolution": row.resolution} if settles else {}),
                **({"via": who.via} if who.via else {}),
            )
            if accept:
                accept_row(session, cs, _row(cs, field), who, now)

        return self._decide(change_set_id, version, actor, act)

    def approve_all(
        self, change_set_id: str, *, actor: str | Reviewer, version: int
    ) -> ChangeSetView:
        """Accept every field still waiting for this person, but conflicts.

        Four-eyes fields this person approved first stay waiting for someone else; a
        conflict nobody settled stays waiting for a choice (`take_answer`, `keep_source`,
        `edit`): approving all never takes the answer over the source's newer value.

        Raises:
            InvalidInput: a waiting value is invalid (nothing is accepted; edit it first).
            InvalidTransition: nothing is waiting for this person.
            StaleChangeSet: as for `accept`.
        """

        def act(
            session: Session,
            cs: ChangeSet,
            definition: FormDefinition,
            now: dt.datetime,
            who: Reviewer,
        ) -> None:
            chosen = [
                r
                for r in cs.fields
                if r.status in WAITING
                and not needs_choice(r.outcome, r.status, r.resolution)
                and not (
                    r.status is FieldChangeStatus.AWAITING_SECOND
                    and who.is_(r.first_reviewer, r.first_reviewer_id)
                )
            ]
            if not chosen:
                raise InvalidTransition("nothing here waits for your approval")
            events: list[audit.NewEvent] = []
            for row in chosen:
                accept_row(session, cs, row, who, now, events=events)
            audit.record_all(session, events)

        return self._decide(change_set_id, version, actor, act)

    def reject_all(
        self, change_set_id: str, *, actor: str | Reviewer, version: int, reason: str = ""
    ) -> ChangeSetView:
        """Reject every field still waiting for a decision."""

        def act(
            session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
        ) -> None:
            chosen = [r for r in cs.fields if r.status in WAITING]
            if not chosen:
                raise InvalidTransition("nothing here waits for a decision")
            for row in chosen:
                reject_row(session, cs, row, who, now, reason)

        return self._decide(change_set_id, version, actor, act)

    def decide(
        self,
        change_set_id: str,
        decisions: Mapping[str, Decision],
        *,
        actor: str | Reviewer,
        version: int,
        reason: str = "",
    ) -> ChangeSetView:
        """Several lines decided at once (the keyboard flow), in one transaction.

        Each line as `accept` or `reject` would decide it, the accepted ones first; all or
        nothing: a refusal of any line leaves every line as it was, and the change set's
        version moves once.

        Raises:
            InvalidTransition: no decision given, or a line not waiting for one.
            NotFound: a field the change set does not change.
            StaleChangeSet, SecondReviewerRequired, InvalidInput: as for `accept`.
        """
        if not decisions:
            raise InvalidTransition("no decision was given")

        def act(
            session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
        ) -> None:
            events: list[audit.NewEvent] = []
            for field, decision in decisions.items():
                if decision is Decision.ACCEPT:
                    accept_row(session, cs, _row(cs, field), who, now, events=events)
            audit.record_all(session, events)
            for field, decision in decisions.items():
                if decision is Decision.REJECT:
                    reject_row(session, cs, _row(cs, field), who, now, reason)

        return self._decide(change_set_id, version, actor, act)

    # -- internals -----------------------------------------------------------------------

    def _decide(
        self,
        change_set_id: str,
        version: int,
        actor: str | Reviewer,
        act: Callable[[Session, ChangeSet, FormDefinition, dt.datetime, Reviewer], None],
    ) -> ChangeSetView:
        who = Reviewer.of(actor)
        if not who.name:
            raise InvalidInput("a review action needs the acting user", field="actor")
        queued: list[int] = []
        try:
            with self.sessions() as session, session.begin():
                cs = session.get(
                    ChangeSet, change_set_id, with_for_update=True, populate_existing=True
                )
                if cs is None:
                    raise NotFound("unknown change set", field="change_set")
                if cs.version != version:
                    raise StaleChangeSet(
                        "this change set was changed by someone else: reload it", field="version"
                    )
                definition = self._definition(cs.form_id)
                now = self.clock()
                act(session, cs, definition, now, who)
                if not any(r.status in WAITING for r in cs.fields):
                    accepted = [r for r in cs.fields if r.status is FieldChangeStatus.ACCEPTED]
                    with session.no_autoflush:  # one flush of the rows below, not two
                        record_key = session.execute(
                            select(Document.record_key).where(Document.id == cs.document_id)
                        ).scalar_one()
                    message = queue_rows(
                        session, cs, accepted, definition, record_key, now, Action.QUEUE
                    )
                    if message is not None:
                        session.flush()
                        queued.append(message.id)
                settle(session, cs, now)
                session.flush()
        except StaleDataError:
            raise StaleChangeSet(
                "this change set was changed by someone else: reload it", field="version"
            ) from None
        self.after_commit(queued)
        return self.change_set(change_set_id)

    def after_commit(self, message_ids: Sequence[int]) -> None:
        """Deliver the outbox messages a committed transaction wrote (`on_queued`), quietly."""
        if not message_ids or self.on_queued is None:
            return
        try:
            self.on_queued(message_ids)
        except Exception as exc:  # the outbox keeps the message: a worker delivers it later
            log.error(
                "immediate delivery of outbox messages %s failed (%s)",
                list(message_ids),
                error_kind(exc),
            )

    def _source_of(self, definition: FormDefinition) -> Connector:
        return self.connectors[definition.source.connector]

    def _definition(self, form_id: str) -> FormDefinition:
        try:
            return self.definitions[form_id]
        except KeyError:
            raise NotFound(f"unknown form {form_id!r}", field="form") from None

    @staticmethod
    def _change_set_id_of(session: Session, submission_id: str) -> str | None:
        return session.execute(
            select(ChangeSet.id).where(ChangeSet.submission_id == submission_id)
        ).scalar_one_or_none()

    def _proposed_id(self, session: Session, submission_id: str) -> str:
        found = self._change_set_id_of(session, submission_id)
        if found is None:
            raise NotFound("unknown submission", field="submission")
        return found


def _row(change_set: ChangeSet, field: str) -> FieldChangeRow:
    for row in change_set.fields:
        if row.field == field:
            return row
    raise NotFound("this change set does not change that field", field=field)
