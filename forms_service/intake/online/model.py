"""The online channel's values: refusals, an opened form, the values shown, a receipt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from forms_service.core.errors import Gone, InvalidInput, TooManyAttempts
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import Document, Submission


class RevokedLink(Gone):
    """The document was withdrawn."""

    code = "revoked_link"


class ClosedLink(Gone):
    """The answer was already processed; the link accepts no more answers."""

    code = "closed_link"


class ChallengeFailed(InvalidInput):
    """A wrong answer to the identity question.

    Attributes:
        tries_left: wrong answers still possible before the next lock (0: this one locked).
        locked_for: how long the lock this answer set lasts (None: no lock, or until an
            adviser unlocks when `tries_left` is 0).
    """

    code = "challenge_failed"

    def __init__(
        self,
        reason: str,
        *,
        tries_left: int | None = None,
        locked_for: dt.timedelta | None = None,
    ) -> None:
        super().__init__(reason)
        self.tries_left = tries_left
        self.locked_for = locked_for


class TamperedShownValues(Exception):
    """The shown-values snapshot a form posts back is not the one signed for its document."""


@dataclass(frozen=True)
class ChallengePolicy:
    """How many wrong answers lock a document, for how long, and when it stays locked.

    Each lock lasts longer: the first `lock_minutes`, the next ones `long_lock_hours`, and
    lock number `max_locks` lasts until an adviser unlocks the document (`unlock-identity`):
    at most `max_failures * max_locks` guesses in a link's life, not 240 a day.
    """

    max_failures: int = 5
    lock_minutes: int = 30
    long_lock_hours: int = 6
    max_locks: int = 3

    def tries_left(self, failures: int) -> int:
        """Wrong answers still possible before the next lock, `failures` counted so far."""
        return max(0, self.max_failures - failures)

    def lock_for(self, locks: int) -> dt.timedelta | None:
        """How long lock number `locks` (1, 2, …) lasts; None: until an adviser unlocks."""
        if locks >= self.max_locks:
            return None
        if locks <= 1:
            return dt.timedelta(minutes=self.lock_minutes)
        return dt.timedelta(hours=self.long_lock_hours)


class IdentityLocked(TooManyAttempts):
    """Wrong identity answers locked the document for a while (longer each time)."""

    code = "identity_locked"


class IdentityBlocked(TooManyAttempts):
    """Wrong identity answers locked the document until an adviser unlocks it."""

    code = "identity_blocked"


@dataclass(frozen=True)
class Prefill:
    """The values to show in the form, and whether they are live or the issue snapshot."""

    values: Mapping[str, str | None]
    live: bool


@dataclass(frozen=True)
class ShownValues:
    """What the customer was shown: the base of the three-way diff, signed into the page.

    Attributes:
        document_id: the document the form page was opened for.
        values: the value shown per online field.
        opened_at: when the page was shown (the service clock).
        live: whether the values came from the source now (False: the issue snapshot).
    """

    document_id: str
    values: Mapping[str, str | None]
    opened_at: dt.datetime
    live: bool


class Purpose(StrEnum):
    """What a link is opened for: every page of the online form opens it for one."""

    #: The form page: prefilled with the live values, which are signed into it.
    SHOW = "show"
    #: An answer posted, the fillable PDF downloaded, a filled PDF uploaded.
    ANSWER = "answer"
    #: The identity question answered.
    IDENTIFY = "identify"
    #: The confirmation of the answer received.
    CONFIRM = "confirm"


@dataclass(frozen=True)
class Opening:
    """The steps of opening a link for one purpose (see `OPENINGS`)."""

    #: Read the document's answers with it, in the same statement.
    reads_answer: bool
    #: Refuse a document whose answer was processed already (ClosedLink).
    must_be_open: bool
    #: Stop before any personal data when the identity question is not answered yet.
    asks_identity: bool
    #: Record the first opening, prefill from the source and sign the shown values.
    shows_values: bool


#: Each purpose's steps, run in this order by `OnlineIntake.open_form`: resolve the link,
#: load the definition, check the link is open, ask the identity question, then show.
OPENINGS: Mapping[Purpose, Opening] = {
    Purpose.SHOW: Opening(
        reads_answer=True, must_be_open=True, asks_identity=True, shows_values=True
    ),
    Purpose.ANSWER: Opening(
        reads_answer=False, must_be_open=True, asks_identity=True, shows_values=False
    ),
    Purpose.IDENTIFY: Opening(
        reads_answer=False, must_be_open=False, asks_identity=False, shows_values=False
    ),
    Purpose.CONFIRM: Opening(
        reads_answer=True, must_be_open=False, asks_identity=True, shows_values=False
    ),
}


@dataclass(frozen=True)
class OpenedLink:
    """A resolved link: its document and the answer already received for it, if any."""

    document: Document
    #: The pending answer, else the latest one (applied, or confirmed without change).
    answer: Submission | None


@dataclass(frozen=True)
class OpenedForm:
    """A link opened for one purpose: what its page needs.

    Attributes:
        document: the document the link names.
        definition: the form it was issued with.
        answer: the answer already received (read for SHOW and CONFIRM only).
        needs_identity: the identity question must be answered first; nothing else was done.
        prefill: the values to show (SHOW, when no answer was received yet).
        shown: `prefill`'s values signed for the page to post back (see `ShownValues`).
    """

    document: Document
    definition: FormDefinition
    answer: Submission | None = None
    needs_identity: bool = False
    prefill: Prefill | None = None
    shown: str | None = None


@dataclass(frozen=True)
class FieldChange:
    """One field a submission changes, as the customer sees it."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Receipt:
    """What the customer is told after submitting."""

    submission: Submission
    changes: tuple[FieldChange, ...]
    repeated: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def changes_of(definition: FormDefinition, submission: Submission) -> tuple[FieldChange, ...]:
    """The fields whose answer differs from what the customer was shown."""
    changes = []
    for field_def in definition.fields:
        if field_def.name not in submission.values:
            continue
        before = submission.base.get(field_def.name)
        after = submission.values[field_def.name]
        if not field_def.same(before, after):
            changes.append(FieldChange(field_def.name, before, after))
    return tuple(changes)
