"""Amend before processing: a corrected answer supersedes the pending one, in the same change set.

Until a clerk or the policy has processed an answer (its change set is open and no field of
it was decided, queued or applied), the customer may correct it from the same link. The
correction is a new submission; the one it replaces is kept, `superseded`, as history; the
change set stays the same one (same id, same place in the clerks' queue), now pointing at the
new submission, its field rows planned again from it and its version bumped, so that a clerk
looking at the old rows is refused and reloads. There is never a second change set, so nothing
can be applied twice. Once anything was processed the correction is refused
(`AnswerProcessed`), and the receipt says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.changes.proposal import Answer, Proposal, store
from forms_service.connectors.interfaces import SourceUnavailable
from forms_service.core.errors import Conflict
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.interfaces import ChangeProposer
from forms_service.intake.online.answering import jsonable
from forms_service.intake.online.model import Receipt, RevokedLink, changes_of
from forms_service.intake.online.queries import DOCUMENTS, PENDING, SUBMISSIONS
from forms_service.issuing.tokens import new_document_id
from forms_service.storage.drafts import Draft as DraftRow
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    DocumentStatus,
    FieldChangeRow,
    FieldChangeStatus,
    OutboxMessage,
    Submission,
    SubmissionStatus,
)
from forms_service.storage.service import reading

_CHANGE_SETS = cast(Table, ChangeSet.__table__)
_FIELD_CHANGES = cast(Table, FieldChangeRow.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)

#: The document locked for the amendment (not closed nor withdrawn), its new status set.
_CLAIM = (
    update(DOCUMENTS)
    .where(
        DOCUMENTS.c.id == bindparam("document_id"),
        DOCUMENTS.c.status.not_in([DocumentStatus.CLOSED, DocumentStatus.REVOKED]),
    )
    .values(status=bindparam("status"))
    .returning(DOCUMENTS.c.status)
)
_PENDING_ANSWER = (
    select(SUBMISSIONS.c.id)
    .where(SUBMISSIONS.c.document_id == bindparam("document_id"), SUBMISSIONS.c.status.in_(PENDING))
    .order_by(SUBMISSIONS.c.received_at)
    .limit(1)
)
_CHANGE_SET_OF = (
    select(_CHANGE_SETS.c.id, _CHANGE_SETS.c.status, _CHANGE_SETS.c.version)
    .where(_CHANGE_SETS.c.submission_id == bindparam("submission_id"))
    .with_for_update()
)
_DECIDED_ROWS = select(_FIELD_CHANGES.c.id).where(
    _FIELD_CHANGES.c.change_set_id == bindparam("change_set_id"),
    _FIELD_CHANGES.c.status != FieldChangeStatus.PENDING,
)
_OUTBOX_OF = select(_OUTBOX.c.id).where(_OUTBOX.c.change_set_id == bindparam("change_set_id"))


class AnswerProcessed(Conflict):
    """The answer was processed (decided, queued or applied): it can no longer be amended."""

    code = "answer_processed"


def amendable(sessions: sessionmaker[Session], submission: Submission) -> bool:
    """Whether `submission` is pending and nothing of its change set was processed yet."""
    if submission.status not in PENDING:
        return False
    decided = (
        select(_FIELD_CHANGES.c.id)
        .where(
            _FIELD_CHANGES.c.change_set_id == _CHANGE_SETS.c.id,
            _FIELD_CHANGES.c.status != FieldChangeStatus.PENDING,
        )
        .exists()
    )
    with reading(sessions) as session:  # one statement, no transaction
        row = session.execute(
            select(_CHANGE_SETS.c.status, decided).where(
                _CHANGE_SETS.c.submission_id == submission.id
            )
        ).first()
    if row is None:
        return True  # stored, not proposed yet (the source did not answer)
    return row[0] is ChangeSetStatus.OPEN and not row[1]


def amend(
    *,
    sessions: sessionmaker[Session],
    proposer: ChangeProposer | None,
    definition: FormDefinition,
    document: Document,
    values: Mapping[str, str | None],
    raw_values: Mapping[str, Any],
    base: Mapping[str, str | None],
    evidence: Mapping[str, Any],
    locale: str,
    opened_at: dt.datetime | None,
    now: Callable[[], dt.datetime],
) -> Receipt:
    """Store `values` as the document's answer instead of its pending one, same change set.

    Raises:
        AnswerProcessed: no pending answer, or its change set was processed in part.
        RevokedLink: the document was withdrawn meanwhile.
    """
    record = proposer.read_source(definition, document.record_key) if proposer else None
    at = now()
    submission = Submission(
        id=new_document_id(),
        document_id=document.id,
        channel=Channel.ONLINE.value,
        status=SubmissionStatus.RECEIVED,
        raw_values={k: jsonable(v) for k, v in raw_values.items()},
        values=dict(values),
        base={k: base.get(k) for k in values},
        evidence=dict(evidence),
        locale=locale,
        opened_at=opened_at,
        received_at=at,
    )
    queued: list[int] = []
    with sessions() as session, session.begin():
        connection = session.connection()
        claimed = connection.execute(
            _CLAIM, {"document_id": document.id, "status": DocumentStatus.ANSWERED}
        ).first()
        if claimed is None:
            status = session.get(Document, document.id)
            if status is not None and status.status is DocumentStatus.REVOKED:
                raise RevokedLink("This form was withdrawn.")
            raise AnswerProcessed("This answer was processed: it can no longer be corrected.")
        old_id = connection.execute(_PENDING_ANSWER, {"document_id": document.id}).scalar()
        if old_id is None:
            raise AnswerProcessed("This answer was processed: it can no longer be corrected.")
        change_set = connection.execute(_CHANGE_SET_OF, {"submission_id": old_id}).first()
        if change_set is not None and (
            change_set.status is not ChangeSetStatus.OPEN
            or connection.execute(_DECIDED_ROWS, {"change_set_id": change_set.id}).first()
            or connection.execute(_OUTBOX_OF, {"change_set_id": change_set.id}).first()
        ):
            raise AnswerProcessed("This answer was processed: it can no longer be corrected.")
        if change_set is not None and (proposer is None or record is None):
            # Its rows must be planned again now, from the source: not without it.
            raise SourceUnavailable("The source system cannot be reached now; try again later.")
        proposal: Proposal | None = None
        if proposer is not None and record is not None:
            proposal = proposer.plan(
                definition,
                Answer.of(submission, document),
                record,
                change_set_id=change_set.id if change_set is not None else None,
            )
        submission.status = (
            proposal.state.submission_status if proposal else SubmissionStatus.RECEIVED
        )
        if proposal is not None and proposal.state.closes_document:
            connection.execute(
                update(DOCUMENTS)
                .where(DOCUMENTS.c.id == document.id)
                .values(status=DocumentStatus.CLOSED)
            )
        connection.execute(
            update(SUBMISSIONS)
            .where(SUBMISSIONS.c.id == old_id)
            .values(status=SubmissionStatus.SUPERSEDED)
        )
        connection.execute(
            insert(SUBMISSIONS),
            {column.key: getattr(submission, column.key) for column in SUBMISSIONS.columns},
        )
        if change_set is not None and proposal is not None:
            queued = _replan(session, change_set, submission.id, proposal)
        elif proposal is not None:
            queued = store(session, proposal)
        record_event(
            session,
            document.id,
            EventKind.SUBMITTED,
            at=at,
            channel=Channel.ONLINE.value,
            detail={"submission": submission.id, "supersedes": old_id},
        )
        connection.execute(delete(DraftRow).where(DraftRow.document_id == document.id))
        amended = audit.NewEvent(
            "amended",
            "customer",
            at,
            document_id=document.id,
            detail={
                "channel": Channel.ONLINE.value,
                "submission": submission.id,
                "supersedes": old_id,
                **({"change_set": change_set.id} if change_set is not None else {}),
            },
        )
        audit.record_all(session, [amended, *(proposal.events if proposal else ())])
    if proposer is not None:
        proposer.after_commit(queued)
    return Receipt(submission, changes_of(definition, submission))


def _replan(session: Session, change_set: Any, submission_id: str, proposal: Proposal) -> list[int]:
    """The existing change set, given the amendment's rows instead of the old ones."""
    connection = session.connection()
    connection.execute(
        delete(_FIELD_CHANGES).where(_FIELD_CHANGES.c.change_set_id == change_set.id)
    )
    planned = proposal.change_set
    connection.execute(
        update(_CHANGE_SETS)
        .where(_CHANGE_SETS.c.id == change_set.id)
        .values(
            submission_id=submission_id,
            # A clerk's screen of the old rows is stale from now on (optimistic lock).
            version=change_set.version + 1,
            status=planned["status"],
            has_conflict=planned["has_conflict"],
            closed_at=planned["closed_at"],
        )
    )
    if proposal.fields:
        connection.execute(insert(_FIELD_CHANGES), [dict(row) for row in proposal.fields])
    if proposal.outbox is None:
        return []
    message_id = connection.execute(
        insert(_OUTBOX).returning(_OUTBOX.c.id), dict(proposal.outbox)
    ).scalar_one()
    return [int(message_id)]
