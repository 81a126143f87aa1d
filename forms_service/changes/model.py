"""Value types of change sets: diff outcomes, review actions, queue and change-set views."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from forms_service.core.errors import Conflict, Forbidden, InvalidInput
from forms_service.storage.model import ChangeSetStatus, FieldChangeStatus


class Outcome(StrEnum):
    """What the three-way diff says about one field."""

    UNCHANGED = "unchanged"
    CHANGE = "change"
    ALREADY_APPLIED = "already_applied"
    CONFLICT = "conflict"


class Route(StrEnum):
    """Where the policy sends one field's change."""

    AUTO = "auto"
    REVIEW = "review"
    FOUR_EYES = "four_eyes"


class Action(StrEnum):
    """Something that happens to one field's change (the review table's columns)."""

    ACCEPT = "accept"
    ACCEPT_FIRST = "accept_first"
    ACCEPT_SECOND = "accept_second"
    REJECT = "reject"
    EDIT = "edit"
    AUTO = "auto"
    QUEUE = "queue"
    DELIVER = "deliver"
    HOLD = "hold"
    MISMATCH = "mismatch"
    FAIL = "fail"
    REQUEUE = "requeue"


#: The verdict of a value the field type and the rules accept.
VALID = "valid"
#: The verdict of an answer the channel saw but could not read (ink in a scanned box and
#: no usable reading): its proposed value is None until a clerk keys it from the evidence,
#: so it is never accepted or applied as it stands, and never taken for "unchanged".
UNREAD = "unread"


class StaleChangeSet(Conflict):
    """The change set changed since the clerk loaded it; reload and decide again."""

    code = "stale_change_set"


class InvalidTransition(Conflict):
    """The field's change is not in a state that allows this action."""

    code = "invalid_transition"


class ChoiceRequired(InvalidInput):
    """A conflicting line is settled by a choice (keep source, take answer, edit), not accepted.

    The plain accept, "accept these" and "approve all" never take one: the source changed
    since the customer saw the form, and only a clerk who chose knows which value is right.
    """

    code = "choice_required"


class ReasonRequired(InvalidInput):
    """Taking the answer over the source's newer value needs the clerk's reason."""

    code = "reason_required"


class SecondReviewerRequired(Forbidden):
    """A four-eyes field needs a second, different person."""

    code = "four_eyes"


@dataclass(frozen=True)
class Reviewer:
    """The person taking a review decision, however they reach the service.

    Attributes:
        name: what is recorded as the actor (the username; a bare name for callers that
            know no user, such as scripts).
        user_id: the person (users.id): a back-office user, or the owner of the API token
            used. The four-eyes rule compares it; None falls back to comparing names.
        via: how the decision came, when not from the person's own screen ("api:<token>").
    """

    name: str
    user_id: int | None = None
    via: str | None = None

    @classmethod
    def of(cls, actor: str | Reviewer) -> Reviewer:
        """A reviewer from a bare name (no known person) or a reviewer."""
        return actor if isinstance(actor, Reviewer) else cls(actor)

    def is_(self, name: str | None, user_id: int | None) -> bool:
        """Whether the reviewer recorded as `name` / `user_id` is this same person.

        Persons are compared when both are known; names otherwise (decisions recorded before
        persons were, or by callers that know none).
        """
        if user_id is not None and self.user_id is not None:
            return user_id == self.user_id
        return name == self.name


@dataclass(frozen=True)
class FieldDiff:
    """One field compared three ways, all values canonical strings (None = empty).

    Attributes:
        field: the field name.
        base: what the customer saw.
        current: what the source holds now.
        proposed: the customer's answer.
        outcome: the diff's conclusion.
        current_raw: the source's raw value of `current` (the expected value of the write).
    """

    field: str
    base: str | None
    current: str | None
    proposed: str | None
    outcome: Outcome
    current_raw: Any = None


@dataclass(frozen=True)
class QueueFilter:
    """Which change sets the review queue shows.

    Attributes:
        form_id: only this form.
        channel: only this channel (an `AnswerChannel` value: online, pdf, pdf_scan, paper).
        statuses: only these statuses (default: those that wait for a clerk or a delivery).
        older_than: only change sets created at least this long ago.
        newer_than: only change sets created at most this long ago.
        actionable_by: only change sets with a line this person may decide (a four-eyes
            line they approved first waits for someone else: the "for me" view).
        limit: page size.
        offset: rows to skip.
    """

    form_id: str | None = None
    channel: str | None = None
    statuses: tuple[ChangeSetStatus, ...] = (
        ChangeSetStatus.CONFLICT,
        ChangeSetStatus.OPEN,
    )
    older_than: dt.timedelta | None = None
    newer_than: dt.timedelta | None = None
    actionable_by: Reviewer | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 500:
            raise ValueError("limit must be between 1 and 500")
        if self.offset < 0:
            raise ValueError("offset must not be negative")


@dataclass(frozen=True)
class QueueEntry:
    """One change set in the review queue."""

    id: str
    version: int
    document_id: str
    reference: str
    form_id: str
    form_title: str
    channel: str
    status: ChangeSetStatus
    has_conflict: bool
    created_at: dt.datetime
    fields: int
    waiting: int


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue (conflicts first, then oldest first) and the counts around it.

    Attributes:
        entries: the change sets of this page.
        total: how many match the filter.
        counts: change sets per status (same form/channel/age filter, every status).
        conflicts: change sets with a conflict among those matching the filter.
    """

    entries: tuple[QueueEntry, ...]
    total: int
    counts: Mapping[str, int]
    conflicts: int


@dataclass(frozen=True)
class Dashboard:
    """What the back office needs to know now, each number read from an index.

    Attributes:
        waiting: change sets waiting for a clerk (open, or in conflict after a write-back).
        conflicts: those of them with a conflict against the source (found by the diff or
            by the write-back).
        oldest_waiting_at: when the oldest of those (open or conflict) was received.
        writing_back: approved change sets whose write-back is under way.
        failed: change sets whose delivery dead-lettered with nothing applied.
        dead_letters: outbox messages dead-lettered (a supervisor must act).
        closed_today: change sets closed since `today`, per status.
        closed_week: change sets closed in the last 7 days (since `week`), per status.
        today: the start of today in the back office's time zone.
        week: the start of the day 6 days before today.
        for_others: of `waiting`, those where nothing is for the person asking (a four-eyes
            line they approved first waits for someone else); 0 when nobody asked.
    """

    waiting: int
    conflicts: int
    oldest_waiting_at: dt.datetime | None
    writing_back: int
    failed: int
    dead_letters: int
    closed_today: Mapping[str, int]
    closed_week: Mapping[str, int]
    today: dt.datetime
    week: dt.datetime
    for_others: int = 0

    @property
    def needs_attention(self) -> int:
        """Conflicts and failures nobody may leave waiting."""
        return self.conflicts + self.failed + self.dead_letters


@dataclass(frozen=True)
class FieldRowView:
    """One changed field as a clerk sees it; `*_display` are formatted for people."""

    field: str
    label: str
    base: str | None
    current: str | None
    proposed: str | None
    base_display: str
    current_display: str
    proposed_display: str
    outcome: Outcome
    policy: str
    confidence: float
    evidence: Mapping[str, Any]
    verdict: str | None
    status: FieldChangeStatus
    first_reviewer: str | None
    second_reviewer: str | None
    edited_from: str | None
    decided_at: dt.datetime | None
    #: How a clerk settled a conflict on this line (keep_source, take_answer, edit).
    resolution: str | None = None

    @property
    def waiting(self) -> bool:
        """Whether a clerk still has to decide this field."""
        return self.status in WAITING


@dataclass(frozen=True)
class OutboxView:
    """One outbox message of a change set (the write-back's progress)."""

    id: int
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class ChangeSetView:
    """A change set with its rows, ready for a screen or an API answer."""

    id: str
    version: int
    status: ChangeSetStatus
    has_conflict: bool
    document_id: str
    reference: str
    record_key: str
    form_id: str
    form_title: str
    channel: str
    submission_id: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    rows: tuple[FieldRowView, ...]
    outbox: tuple[OutboxView, ...] = field(default_factory=tuple)
    #: The values the customer saw (the document's snapshot: the station shows the others).
    snapshot: Mapping[str, Any] = field(default_factory=dict)

    def row(self, name: str) -> FieldRowView:
        """The row of field `name`; KeyError when the change set does not change it."""
        for candidate in self.rows:
            if candidate.field == name:
                return candidate
        raise KeyError(name)


#: Field states a clerk still has to act on.
WAITING = frozenset(
    {
        FieldChangeStatus.PENDING,
        FieldChangeStatus.AWAITING_SECOND,
        FieldChangeStatus.CONFLICT,
    }
)


def encode_raw(value: Any) -> dict[str, Any]:
    """A source value as JSON (dates and decimals keep their type through the outbox)."""
    if isinstance(value, dt.datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"type": "decimal", "value": str(value)}
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return {"value": value}
    return {"value": str(value)}


#: How each Python value type `encode_raw` tags comes back (tags of values, not field types).
_DECODERS: Mapping[str, Callable[[str], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "decimal": decimal.Decimal,
}


def decode_raw(encoded: Mapping[str, Any]) -> Any:
    """The source value `encode_raw` encoded."""
    value = encoded.get("value")
    decode = _DECODERS.get(encoded.get("type") or "")
    if value is None or decode is None:
        return value
    return decode(value)


def error_kind(exc: BaseException) -> str:
    """What to log about an error: its class, and a domain error's reason; never values.

    Logs hold no personal data, and database errors print their statement's parameters.
    """
    reason = getattr(exc, "reason", None)
    return f"{type(exc).__name__}: {reason}" if isinstance(reason, str) else type(exc).__name__
