"""The identity question: answers checked against the issue's digests, failures counted and locked."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.core.errors import TooManyAttempts
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import ChallengeQuestion, FormDefinition
from forms_service.intake.online.model import ChallengeFailed, ChallengePolicy
from forms_service.intake.online.queries import DOCUMENTS
from forms_service.issuing.service import challenge_digest
from forms_service.storage.model import Document, SecurityEvent

#: The identity check's statements: the document's challenge state, locked (failures are
#: counted one answer at a time), and its update when it changes.
_LOCK_CHALLENGE = (
    select(DOCUMENTS.c.challenge_failures, DOCUMENTS.c.challenge_locked_until)
    .where(DOCUMENTS.c.id == bindparam("document_id"))
    .with_for_update()
)
_SET_CHALLENGE = (
    update(DOCUMENTS)
    .where(DOCUMENTS.c.id == bindparam("document_id"))
    .values(
        challenge_failures=bindparam("failures"),
        challenge_locked_until=bindparam("locked_until"),
    )
)


def check_identity(
    sessions: sessionmaker[Session],
    definition: FormDefinition,
    document: Document,
    answers: Mapping[str, str],
    policy: ChallengePolicy,
    now: dt.datetime,
    *,
    client: str | None = None,
) -> None:
    """Check the identity answers to a document's question; count and lock on failures.

    Returns when the answers are right (resetting what failures counted); otherwise the
    failure is counted, in a security event and an audit event, and the document is locked
    after `policy.max_failures` of them.

    Raises:
        TooManyAttempts: the document is locked after too many wrong answers.
        ChallengeFailed: an answer is wrong (the message does not say which).
    """
    # The digests are written once, when the document is issued: compared on this read.
    right = answers_right(definition.challenge, document.challenge_digests, answers)
    if right and not document.challenge_failures and document.challenge_locked_until is None:
        # Right answers to a document read in this request with nothing to reset (no
        # failure counted, no lock, even an expired one): nothing to write, so no
        # transaction and no row lock (3 round trips fewer). A wrong answer committed since
        # that read counts as one after this answer.
        return
    with sessions() as session, session.begin():
        connection = session.connection()  # Core statements, no ORM loading
        state = connection.execute(_LOCK_CHALLENGE, {"document_id": document.id}).one()
        failures = state.challenge_failures
        locked_until = state.challenge_locked_until
        locked = bool(locked_until and locked_until > now)
        if locked:
            session.add(
                SecurityEvent(
                    at=now,
                    kind="challenge_locked",
                    document_id=document.id,
                    client=client,
                    detail="",
                )
            )
        else:
            if right:
                if failures or locked_until is not None:
                    connection.execute(
                        _SET_CHALLENGE,
                        {"document_id": document.id, "failures": 0, "locked_until": None},
                    )
                return
            failures += 1
            if failures >= policy.max_failures:
                locked_until = now + dt.timedelta(minutes=policy.lock_minutes)
                failures = 0
            connection.execute(
                _SET_CHALLENGE,
                {
                    "document_id": document.id,
                    "failures": failures,
                    "locked_until": locked_until,
                },
            )
            audit.record(
                session, "challenge_failed", actor="customer", at=now, document_id=document.id
            )
            session.add(
                SecurityEvent(
                    at=now,
                    kind="challenge_failed",
                    document_id=document.id,
                    client=client,
                    detail="",
                )
            )
    if locked:
        raise TooManyAttempts("Too many wrong answers. Try again later.")
    raise ChallengeFailed("The answers do not match our records.")


def answers_right(
    questions: Sequence[ChallengeQuestion], digests: Mapping[str, Any], answers: Mapping[str, str]
) -> bool:
    """Whether every identity answer matches its salted digest (all compared, always)."""
    salt = digests.get("salt", "")
    right = True
    for question in questions:
        try:
            value = question.parse(answers.get(question.name))
        except FieldValueError:
            value = None
        expected = digests.get(question.name, "")
        right &= value is not None and hmac.compare_digest(challenge_digest(salt, value), expected)
    return right
