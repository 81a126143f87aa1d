"""A new change set, planned in memory and stored with a few statements in the caller's transaction.

Proposing used to go through the ORM's unit of work (one object per row, a flush per audit
event); the rows of a new change set are written once and never read back in the same
transaction, so they are built as plain rows and inserted with Core statements (the field rows
in one multi-row INSERT). The same plan serves the online submit, which stores the answer and
its change set in one transaction, and `ChangeService.propose` for the other channels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from forms_service.audit.service import NewEvent
from forms_service.changes.diff import diff_submission
from forms_service.changes.model import UNREAD, Action, Outcome, Route
from forms_service.changes.policy import PolicySettings
from forms_service.changes.settlement import (
    SettledState,
    change_set_event,
    field_rows,
    outbox_writes,
    settled,
)
from forms_service.definitions.model import FormDefinition
from forms_service.issuing.tokens import new_document_id
from forms_service.storage.model import (
    ChangeSet,
    ChangeSetStatus,
    Document,
    FieldChangeRow,
    FieldChangeStatus,
    OutboxMessage,
    OutboxStatus,
    Submission,
)

_CHANGE_SETS = cast(Table, ChangeSet.__table__)
_FIELD_CHANGES = cast(Table, FieldChangeRow.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_CHANGE_SET = insert(_CHANGE_SETS)
_INSERT_FIELD_CHANGES = insert(_FIELD_CHANGES)
_INSERT_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id)
#: The columns of a new field row (one multi-row INSERT needs the same keys in every row).
_FIELD_COLUMNS = tuple(c.key for c in _FIELD_CHANGES.columns if c.key != "id")


@dataclass(frozen=True)
class Answer:
    """What a proposal needs of a stored (or about to be stored) submission."""

    submission_id: str
    document_id: str
    record_key: str
    channel: str
    #: Field name -> value the customer saw (the issue snapshot under the answer's own base).
    base: Mapping[str, Any]
    #: Field name -> the answer; fields absent were not asked.
    values: Mapping[str, Any]
    evidence: Mapping[str, Any]

    @property
    def unread(self) -> frozenset[str]:
        """Fields answered but not readable (verdict `UNREAD`): a clerk keys their value."""
        return frozenset(
            name
            for name, proof in self.evidence.items()
            if isinstance(proof, Mapping) and proof.get("verdict") == UNREAD
        )

    @classmethod
    def of(cls, submission: Submission, document: Document) -> Answer:
        """The answer a submission of `document` gives (its base under the issue snapshot)."""
        return cls(
            submission_id=submission.id,
            document_id=document.id,
            record_key=document.record_key,
            channel=submission.channel,
            base={**document.snapshot, **submission.base},
            values=dict(submission.values),
            evidence=dict(submission.evidence),
        )


@dataclass(frozen=True)
class Proposal:
    """The rows of a new change set and what they make of its submission and document."""

    change_set_id: str
    change_set: Mapping[str, Any]
    fields: tuple[Mapping[str, Any], ...]
    #: The outbox message of the auto-applied fields, if any.
    outbox: Mapping[str, Any] | None
    #: Audit events, in chain order (confirmed without change, then each auto-applied field).
    events: tuple[NewEvent, ...]
    state: SettledState


def plan(
    definition: FormDefinition,
    answer: Answer,
    record: Mapping[str, Any],
    policy: PolicySettings,
    now: dt.datetime,
    *,
    actor: str = "system",
    change_set_id: str | None = None,
) -> Proposal:
    """The change set of `answer` against the source's `record` (only fields that change).

    Each real change is routed by the field's policy, the evidence's confidence and the
    validators; the safe ones are queued at once (one outbox message). An answer that changes
    nothing gets a change set closed as `no_change`. `change_set_id` plans the rows of an
    existing change set again (an amended answer supersedes the one it was made for).
    """
    diffs = [
        d
        for d in diff_submission(
            definition, answer.base, record, answer.values, unread=answer.unread
        )
        if d.outcome is not Outcome.UNCHANGED
    ]
    change_set_id = change_set_id or new_document_id()
    rows = field_rows(definition, diffs, answer.evidence, policy, now)
    events: list[NewEvent] = []

    def event(kind: str, **extra: Any) -> None:
        events.append(change_set_event(kind, change_set_id, answer.document_id, now=now, **extra))

    if not diffs:
        event("confirmed_no_change", actor=actor)
    auto = [
        r for r in rows if r.policy == Route.AUTO.value and r.status is FieldChangeStatus.PENDING
    ]
    writes = outbox_writes(auto, definition, now, Action.AUTO)
    for row in auto:
        event(
            "auto_applied",
            actor="policy",
            row=row,
            before=row.current,
            after=row.proposed,
            confidence=row.confidence,
        )
    state = settled(rows)
    outbox = None
    if writes:
        outbox = {
            "change_set_id": change_set_id,
            "connector": definition.source.connector,
            "record_type": definition.source.record_type,
            "record_key": answer.record_key,
            "writes": writes,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "delivered_at": None,
            "last_error": None,
        }
    for row in rows:
        row.change_set_id = change_set_id
    return Proposal(
        change_set_id=change_set_id,
        change_set={
            "id": change_set_id,
            "submission_id": answer.submission_id,
            "document_id": answer.document_id,
            "form_id": definition.id,
            "channel": answer.channel,
            "status": ChangeSetStatus(state.status),
            "has_conflict": state.has_conflict,
            "created_at": now,
            "closed_at": now if state.final else None,
            "version": 1,
        },
        fields=tuple({key: getattr(row, key) for key in _FIELD_COLUMNS} for row in rows),
        outbox=outbox,
        events=tuple(events),
        state=state,
    )


def store(session: Session, proposal: Proposal) -> list[int]:
    """Insert the change set, its fields and its outbox message in the caller's transaction.

    Returns the ids of the outbox messages written (to deliver once the transaction commits).
    The submission's and document's statuses and the audit events are the caller's to store
    (`proposal.state`, `proposal.events`): it knows which rows it holds already.
    """
    connection = session.connection()  # Core only: no autoflush, no ORM execution layer
    connection.execute(_INSERT_CHANGE_SET, dict(proposal.change_set))
    if proposal.fields:
        connection.execute(_INSERT_FIELD_CHANGES, [dict(row) for row in proposal.fields])
    if proposal.outbox is None:
        return []
    message_id = connection.execute(_INSERT_OUTBOX, dict(proposal.outbox)).scalar_one()
    return [int(message_id)]
