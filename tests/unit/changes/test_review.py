"""The review table: allowed moves, refused moves, and the change set's derived status."""

from __future__ import annotations

import pytest

from forms_service.changes.model import Action, InvalidTransition
from forms_service.changes.review import TRANSITIONS, change_set_status, next_status
from forms_service.storage.model import ChangeSetStatus
from forms_service.storage.model import FieldChangeStatus as S


def test_four_eyes_path() -> None:
    status = next_status(S.PENDING, Action.ACCEPT_FIRST, field="iban")
    assert status is S.AWAITING_SECOND
    status = next_status(status, Action.ACCEPT_SECOND, field="iban")
    assert status is S.ACCEPTED
    assert next_status(status, Action.QUEUE, field="iban") is S.QUEUED


def test_delivery_outcomes() -> None:
    assert next_status(S.QUEUED, Action.DELIVER, field="f") is S.APPLIED
    assert next_status(S.QUEUED, Action.MISMATCH, field="f") is S.CONFLICT
    assert next_status(S.QUEUED, Action.HOLD, field="f") is S.ACCEPTED
    assert next_status(S.QUEUED, Action.FAIL, field="f") is S.FAILED
    assert next_status(S.FAILED, Action.REQUEUE, field="f") is S.QUEUED


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.APPLIED, Action.ACCEPT),
        (S.REJECTED, Action.ACCEPT),
        (S.QUEUED, Action.REJECT),
        (S.PENDING, Action.ACCEPT_SECOND),
        (S.ACCEPTED, Action.EDIT),
        (S.APPLIED, Action.DELIVER),
    ],
)
def test_refused_moves_name_the_field(status: S, action: Action) -> None:
    assert (status, action) not in TRANSITIONS
    with pytest.raises(InvalidTransition) as caught:
        next_status(status, action, field="city")
    assert caught.value.field == "city"
    assert caught.value.status == 409


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ChangeSetStatus.NO_CHANGE),
        ([S.PENDING, S.QUEUED], ChangeSetStatus.OPEN),
        ([S.CONFLICT, S.PENDING], ChangeSetStatus.CONFLICT),
        ([S.AWAITING_SECOND, S.ACCEPTED], ChangeSetStatus.OPEN),
        ([S.ACCEPTED, S.QUEUED, S.REJECTED], ChangeSetStatus.APPROVED),
        ([S.APPLIED, S.APPLIED], ChangeSetStatus.APPLIED),
        ([S.APPLIED, S.REJECTED], ChangeSetStatus.PARTIALLY_APPLIED),
        ([S.REJECTED, S.REJECTED], ChangeSetStatus.REJECTED),
        ([S.FAILED, S.REJECTED], ChangeSetStatus.FAILED),
        ([S.FAILED, S.APPLIED], ChangeSetStatus.PARTIALLY_APPLIED),
    ],
)
def test_change_set_status(statuses: list[S], expected: ChangeSetStatus) -> None:
    assert change_set_status(statuses) is expected
