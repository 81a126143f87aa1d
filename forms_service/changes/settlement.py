"""Keep a change set's stored state consistent: statuses, outbox rows and audit events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from forms_service.audit import service as audit
from forms_service.changes.model import (
    VALID,
    Action,
    ChoiceRequired,
    FieldDiff,
    Outcome,
    Reviewer,
    Route,
    SecondReviewerRequired,
    encode_raw,
)
from forms_service.changes.policy import PolicySettings, confidence_of, route, verdict_of
from forms_service.changes.review import change_set_status, needs_choice, next_status
from forms_service.changes.scripts import MIXED_SCRIPTS, mixed_scripts
from forms_service.core.errors import InvalidInput
from forms_service.definitions.model import FormDefinition
from forms_service.storage import events as history
from forms_service.storage.events import EventKind
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    DocumentStatus,
    FieldChangeRow,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
    Submission,
    SubmissionStatus,
)

_SUBMISSION_STATUS = {
    ChangeSetStatus.NO_CHANGE: SubmissionStatus.NO_CHANGE,
    ChangeSetStatus.APPLIED: SubmissionStatus.APPLIED,
    ChangeSetStatus.PARTIALLY_APPLIED: SubmissionStatus.APPLIED,
    ChangeSetStatus.REJECTED: SubmissionStatus.REJECTED,
}
#: Once its answer is processed, a document's link accepts no more answers.
_CLOSING = frozenset(
    {ChangeSetStatus.APPLIED, ChangeSetStatus.PARTIALLY_APPLIED, ChangeSetStatus.REJECTED}
)


#: Final change-set statuses and the history event each records (storage/events.py).
_HISTORY = {
    ChangeSetStatus.APPLIED: EventKind.APPLIED,
    ChangeSetStatus.PARTIALLY_APPLIED: EventKind.APPLIED,
    ChangeSetStatus.REJECTED: EventKind.REJECTED,
}


def _channel_of(session: Session, change_set: ChangeSet) -> str | None:
    """The answer channel of the change set's submission (online, pdf, paper...)."""
    return session.scalar(
        select(Submission.channel).where(Submission.id == change_set.submission_id)
    )


def field_rows(
    definition: FormDefinition,
    diffs: Sequence[FieldDiff],
    evidence: Mapping[str, Any],
    policy: PolicySettings,
    now: dt.datetime,
) -> list[FieldChangeRow]:
    """The rows of a new change set: one per real change, routed by the policy.

    A change the source already holds is recorded as applied (nothing to write).
    """
    rows = []
    for position, diff in enumerate(diffs):
        field = definition.field(diff.field)
        proof = dict(evidence.get(diff.field) or {})
        verdict = verdict_of(field, diff.proposed, proof)
        confidence = confidence_of(proof)
        routed = route(
            field.policy, diff.outcome, confidence=confidence, verdict=verdict, settings=policy
        )
        scripts = mixed_scripts(diff.proposed)
        if scripts:
            # Look-alike letters are not refused, but a person looks at them first.
            proof["review_reason"], proof["scripts"] = MIXED_SCRIPTS, list(scripts)
            if routed is Route.AUTO:
                routed = Route.REVIEW
        row = FieldChangeRow(
            position=position,
            field=diff.field,
            base=diff.base,
            current=diff.current,
            current_raw=encode_raw(diff.current_raw),
            proposed=diff.proposed,
            outcome=diff.outcome.value,
            policy=routed.value,
            confidence=confidence,
            evidence=proof,
            verdict=verdict,
            status=FieldChangeStatus.PENDING,
        )
        if diff.outcome is Outcome.ALREADY_APPLIED:
            row.status = FieldChangeStatus.APPLIED
            row.decided_at = now
        rows.append(row)
    return rows


@dataclass(frozen=True)
class SettledState:
    """What a change set's field statuses make of it, its submission and its document."""

    status: ChangeSetStatus
    has_conflict: bool
    #: Closed for good (`closed_at` set): applied, partially applied, rejected or no change.
    final: bool
    submission_status: SubmissionStatus
    #: The document's link accepts no more answers.
    closes_document: bool


def settled(rows: Iterable[FieldChangeRow]) -> SettledState:
    """The state a change set with these rows is in (no database: `settle` stores it)."""
    chosen = list(rows)
    status = change_set_status(row.status for row in chosen)
    return SettledState(
        status=status,
        has_conflict=any(
            row.status is FieldChangeStatus.CONFLICT
            or (row.outcome == Outcome.CONFLICT and row.status is FieldChangeStatus.PENDING)
            for row in chosen
        ),
        final=status in _CLOSING or status is ChangeSetStatus.NO_CHANGE,
        submission_status=_SUBMISSION_STATUS.get(status, SubmissionStatus.IN_REVIEW),
        closes_document=status in _CLOSING,
    )


def outbox_writes(
    rows: Iterable[FieldChangeRow], definition: FormDefinition, now: dt.datetime, action: Action
) -> dict[str, Any]:
    """The writes of one outbox message for `rows` (source column -> write), marked queued.

    Each write carries the raw value read from the source with the diff: the connector only
    writes where the source still holds it.
    """
    writes = {}
    for row in rows:
        field = definition.field(row.field)
        assert field.maps_to is not None  # noqa: S101 - only mapped fields enter a change set
        transition(row, action, now)
        writes[field.maps_to] = {
            "field": row.field,
            "expected": dict(row.current_raw),
            "new": encode_raw(field.type.to_source(row.proposed)),
        }
    return writes


def transition(row: FieldChangeRow, action: Action, now: dt.datetime) -> None:
    """Move one field's change along the review table (InvalidTransition otherwise)."""
    row.status = next_status(row.status, action, field=row.field)
    row.decided_at = now


def settle(session: Session, change_set: ChangeSet, now: dt.datetime) -> None:
    """Derive the change set's status from its fields, and the submission's and document's.

    Also bumps the change set's version (optimistic lock), even when its status is unchanged,
    so that a screen loaded before this change is refused.
    """
    state = settled(change_set.fields)
    status = state.status
    if status in _HISTORY and change_set.status is not status:
        history.record_event(
            session,
            change_set.document_id,
            _HISTORY[status],
            at=now,
            channel=_channel_of(session, change_set),
            detail={"change_set": change_set.id, "status": status.value},
        )
    change_set.status = status
    change_set.has_conflict = state.has_conflict
    change_set.closed_at = (change_set.closed_at or now) if state.final else None
    flag_modified(change_set, "status")
    # Statements rather than loading the rows (and their JSON) to set one column; objects of
    # this session, if any, are updated too (synchronize_session "auto").
    session.execute(
        update(Submission)
        .where(
            Submission.id == change_set.submission_id,
            Submission.status != state.submission_status,
        )
        .values(status=state.submission_status)
    )
    if state.closes_document:
        session.execute(
            update(Document)
            .where(
                Document.id == change_set.document_id,
                Document.status.not_in((DocumentStatus.REVOKED, DocumentStatus.CLOSED)),
            )
            .values(status=DocumentStatus.CLOSED)
        )


def queue_rows(
    session: Session,
    change_set: ChangeSet,
    rows: Iterable[FieldChangeRow],
    definition: FormDefinition,
    record_key: str,
    now: dt.datetime,
    action: Action,
) -> OutboxMessage | None:
    """Write one outbox message for `rows` (in the caller's transaction) and mark them queued."""
    writes = outbox_writes(rows, definition, now, action)
    if not writes:
        return None
    message = OutboxMessage(
        change_set_id=change_set.id,
        connector=definition.source.connector,
        record_type=definition.source.record_type,
        record_key=record_key,
        writes=writes,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def change_set_event(
    kind: str,
    change_set_id: str,
    document_id: str,
    *,
    actor: str,
    now: dt.datetime,
    row: FieldChangeRow | None = None,
    before: str | None = None,
    after: str | None = None,
    **detail: object,
) -> audit.NewEvent:
    """One audit event about a change set (and one of its fields), not recorded yet."""
    return audit.NewEvent(
        kind,
        actor,
        now,
        document_id=document_id,
        field=row.field if row is not None else None,
        before=before,
        after=after,
        detail={"change_set": change_set_id, **detail},
    )


def record_event(
    session: Session,
    kind: str,
    change_set: ChangeSet,
    *,
    actor: str,
    now: dt.datetime,
    row: FieldChangeRow | None = None,
    before: str | None = None,
    after: str | None = None,
    **detail: object,
) -> None:
    """One audit event about a change set (and one of its fields)."""
    audit.record_all(
        session,
        [
            change_set_event(
                kind,
                change_set.id,
                change_set.document_id,
                actor=actor,
                now=now,
                row=row,
                before=before,
                after=after,
                **detail,
            )
        ],
    )


def accept_row(
    session: Session,
    cs: ChangeSet,
    row: FieldChangeRow,
    reviewer: Reviewer,
    now: dt.datetime,
    *,
    events: list[audit.NewEvent] | None = None,
    reason: str = "",
) -> None:
    """Accept one field's change (first or second approval of a four-eyes field).

    Its audit event is recorded, or appended to `events` for the caller to record with the
    others of the same decision (one statement for all).

    Raises:
        ChoiceRequired: the line is a conflict nobody settled (keep source, take answer or
            edit): never accepted as it stands.
        InvalidInput: the proposed value is not valid (edit it first).
        SecondReviewerRequired: the first approver approves a four-eyes field again (the
            same person, on the web or through a token they own).
        InvalidTransition: the field is not waiting for a decision.
    """
    if needs_choice(row.outcome, row.status, row.resolution):
        raise ChoiceRequired(
            "the source changed since the customer saw this field: keep the source, take "
            "the answer with a reason, or edit it",
            field=row.field,
        )
    if row.verdict not in (None, VALID):
        raise InvalidInput(
            f"the proposed value is not valid ({row.verdict}): edit it before accepting",
            field=row.field,
        )
    if row.status is FieldChangeStatus.AWAITING_SECOND:
        if reviewer.is_(row.first_reviewer, row.first_reviewer_id):
            raise SecondReviewerRequired(
                "this change needs the approval of a second, different person: "
                f"{reviewer.name} approved it first",
                field=row.field,
            )
        transition(row, Action.ACCEPT_SECOND, now)
        row.second_reviewer, row.second_reviewer_id = reviewer.name, reviewer.user_id
        step = "second"
    else:
        four_eyes = row.policy == Route.FOUR_EYES.value
        transition(row, Action.ACCEPT_FIRST if four_eyes else Action.ACCEPT, now)
        row.first_reviewer, row.first_reviewer_id = reviewer.name, reviewer.user_id
        step = "first" if four_eyes else "only"
    approved = change_set_event(
        "approved",
        cs.id,
        cs.document_id,
        actor=reviewer.name,
        now=now,
        row=row,
        before=row.current,
        after=row.proposed,
        step=step,
        over_conflict=row.outcome == Outcome.CONFLICT,
        **({"resolution": row.resolution} if row.resolution else {}),
        **({"reason": reason[:200]} if reason else {}),
        **_via(reviewer),
    )
    if events is None:
        audit.record_all(session, [approved])
    else:
        events.append(approved)


def reject_row(
    session: Session,
    cs: ChangeSet,
    row: FieldChangeRow,
    reviewer: Reviewer,
    now: dt.datetime,
    reason: str,
) -> None:
    """Reject one field's change: the source keeps its value."""
    transition(row, Action.REJECT, now)
    if row.first_reviewer is None:
        row.first_reviewer, row.first_reviewer_id = reviewer.name, reviewer.user_id
    record_event(
        session,
        "rejected",
        cs,
        actor=reviewer.name,
        now=now,
        row=row,
        before=row.current,
        after=row.proposed,
        reason=reason[:200],
        **({"resolution": row.resolution} if row.resolution else {}),
        **_via(reviewer),
    )


def _via(reviewer: Reviewer) -> dict[str, object]:
    """The audit detail naming the token a decision came through, if any."""
    return {"via": reviewer.via} if reviewer.via else {}
