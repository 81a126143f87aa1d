"""The review state machine of a field change, written as a table, and the change set's status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from forms_service.changes.model import Action, InvalidTransition
from forms_service.storage.model import ChangeSetStatus, FieldChangeStatus

S = FieldChangeStatus
A = Action


class Decision(StrEnum):
    """A clerk's decision on one line of a change set, among several taken at once."""

    ACCEPT = "accept"
    REJECT = "reject"


#: (state, action) -> next state. Anything not listed is refused.
TRANSITIONS: Mapping[tuple[FieldChangeStatus, Action], FieldChangeStatus] = {
    # A clerk decides.
    (S.PENDING, A.ACCEPT): S.ACCEPTED,
    (S.PENDING, A.ACCEPT_FIRST): S.AWAITING_SECOND,
    (S.PENDING, A.REJECT): S.REJECTED,
    (S.PENDING, A.EDIT): S.PENDING,
    (S.AWAITING_SECOND, A.ACCEPT_SECOND): S.ACCEPTED,
    (S.AWAITING_SECOND, A.REJECT): S.REJECTED,
    # An edit after a first approval needs both approvals again.
    (S.AWAITING_SECOND, A.EDIT): S.PENDING,
    # A conflict is decided like a pending change, knowing the new current value.
    (S.CONFLICT, A.ACCEPT): S.ACCEPTED,
    (S.CONFLICT, A.ACCEPT_FIRST): S.AWAITING_SECOND,
    (S.CONFLICT, A.REJECT): S.REJECTED,
    (S.CONFLICT, A.EDIT): S.PENDING,
    # The policy lets a safe change through at once.
    (S.PENDING, A.AUTO): S.QUEUED,
    # Approval writes the outbox.
    (S.ACCEPTED, A.QUEUE): S.QUEUED,
    # Delivery.
    (S.QUEUED, A.DELIVER): S.APPLIED,
    (S.QUEUED, A.MISMATCH): S.CONFLICT,
    # Another field of the same write conflicted: nothing was written, wait for it.
    (S.QUEUED, A.HOLD): S.ACCEPTED,
    (S.QUEUED, A.FAIL): S.FAILED,
    # A supervisor sends a dead letter again.
    (S.FAILED, A.REQUEUE): S.QUEUED,
}


def next_status(status: FieldChangeStatus, action: Action, *, field: str) -> FieldChangeStatus:
    """The state after `action`, or InvalidTransition naming the field."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value.replace('_', ' ')} a change that is {status.value}",
            field=field,
        ) from None


def needs_choice(outcome: str, status: FieldChangeStatus, resolution: str | None) -> bool:
    """Whether a line is a conflict a clerk must settle by a choice, not by the accept key.

    A conflict: the three-way diff found the source moved since the customer saw the form,
    or the write-back found it moved since the diff. Settled: kept the source's value, took
    the answer with a reason, or edited the value (`FieldChangeRow.resolution`).
    """
    conflict = outcome == "conflict" or status is S.CONFLICT
    return conflict and resolution is None


def change_set_status(statuses: Iterable[FieldChangeStatus]) -> ChangeSetStatus:
    """A change set's status from its fields' states.

    A conflict anywhere shows first; then work waiting for a clerk; then work waiting for
    delivery; then the end states.
    """
    present = list(statuses)
    if not present:
        return ChangeSetStatus.NO_CHANGE
    kinds = set(present)
    if S.CONFLICT in kinds:
        return ChangeSetStatus.CONFLICT
    if kinds & {S.PENDING, S.AWAITING_SECOND}:
        return ChangeSetStatus.OPEN
    if kinds & {S.ACCEPTED, S.QUEUED}:
        return ChangeSetStatus.APPROVED
    applied = S.APPLIED in kinds
    if S.FAILED in kinds:
        return ChangeSetStatus.PARTIALLY_APPLIED if applied else ChangeSetStatus.FAILED
    if kinds == {S.REJECTED}:
        return ChangeSetStatus.REJECTED
    if S.REJECTED in kinds:
        return ChangeSetStatus.PARTIALLY_APPLIED
    return ChangeSetStatus.APPLIED


#: Change set states after which nothing more happens.
FINAL = frozenset(
    {
        ChangeSetStatus.APPLIED,
        ChangeSetStatus.PARTIALLY_APPLIED,
        ChangeSetStatus.REJECTED,
        ChangeSetStatus.NO_CHANGE,
    }
)
