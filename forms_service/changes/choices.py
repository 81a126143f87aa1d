"""The decisions of the verification station beyond accept and reject, as review steps.

Each function is one step of `ChangeService._decide` (session, change set, definition, now,
reviewer): it settles a conflicting line by a choice, or approves the lines that need no
look. The service wraps them with the optimistic lock and the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

from sqlalchemy.orm import Session

from forms_service.audit import service as audit
from forms_service.changes.model import (
    WAITING,
    InvalidTransition,
    Outcome,
    ReasonRequired,
    Reviewer,
)
from forms_service.changes.review import needs_choice
from forms_service.changes.settlement import accept_row, reject_row
from forms_service.changes.station import Resolution
from forms_service.core.errors import NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import ChangeSet, FieldChangeRow, FieldChangeStatus

#: One review step, as `ChangeService._decide` runs it.
Step = Callable[[Session, ChangeSet, FormDefinition, dt.datetime, Reviewer], None]

#: The longest reason kept (the audit's detail).
REASON_LENGTH = 200


def is_conflict(row: FieldChangeRow) -> bool:
    """Whether the line is a conflict (found by the diff, or by the write-back)."""
    return row.outcome == Outcome.CONFLICT or row.status is FieldChangeStatus.CONFLICT


def _conflict_row(change_set: ChangeSet, field: str) -> FieldChangeRow:
    for row in change_set.fields:
        if row.field == field:
            if not is_conflict(row) or row.status not in WAITING:
                raise InvalidTransition(
                    "only a conflicting line waiting for a decision is settled this way",
                    field=field,
                )
            return row
    raise NotFound("this change set does not change that field", field=field)


def take_answer(field: str, reason: str) -> Step:
    """The answer wins over the source's newer value, for the reason the clerk gives.

    Raises (when run):
        ReasonRequired: no reason given.
        InvalidTransition: the line is not a conflict waiting for a decision.
    """
    why = " ".join(reason.split())[:REASON_LENGTH]

    def step(
        session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
    ) -> None:
        if not why:
            raise ReasonRequired("taking the answer needs a reason", field="reason")
        row = _conflict_row(cs, field)
        row.resolution = Resolution.TAKE_ANSWER.value
        accept_row(session, cs, row, who, now, reason=why)

    return step


def keep_source(field: str, reason: str = "") -> Step:
    """The source's value stays: the line is rejected as a settled conflict."""

    def step(
        session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
    ) -> None:
        row = _conflict_row(cs, field)
        row.resolution = Resolution.KEEP_SOURCE.value
        reject_row(session, cs, row, who, now, " ".join(reason.split()))

    return step


def approve_lines(fields: Collection[str]) -> Step:
    """Accept the named lines that still wait for this person and need no choice.

    The station names the lines it found valid with no failed check; a line settled or
    changed meanwhile is left as it is (the version lock refuses a stale screen anyway).

    Raises (when run):
        InvalidTransition: none of them waits for this person.
    """

    def step(
        session: Session, cs: ChangeSet, _d: FormDefinition, now: dt.datetime, who: Reviewer
    ) -> None:
        chosen = [
            row
            for row in cs.fields
            if row.field in fields
            and row.status in WAITING
            and not needs_choice(row.outcome, row.status, row.resolution)
            and not (
                row.status is FieldChangeStatus.AWAITING_SECOND
                and who.is_(row.first_reviewer, row.first_reviewer_id)
            )
        ]
        if not chosen:
            raise InvalidTransition("no valid line here waits for your approval")
        events: list[audit.NewEvent] = []
        for row in chosen:
            accept_row(session, cs, row, who, now, events=events)
        audit.record_all(session, events)

    return step
