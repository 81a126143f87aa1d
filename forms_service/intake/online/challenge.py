"""The identity question: answers checked against their digests; wrong ones lock, longer each time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from forms_service.audit import service as audit
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import ChallengeQuestion, FormDefinition
from forms_service.intake.online.model import (
    ChallengeFailed,
    ChallengePolicy,
    IdentityBlocked,
    IdentityLocked,
)
from forms_service.intake.online.queries import DOCUMENTS
from forms_service.issuing.identity import AnswerDigester, outdated
from forms_service.storage.model import Document, SecurityEvent

#: The identity check's statements: the document's challenge state, locked (failures are
#: counted one answer at a time), and its update when it changes.
_LOCK_CHALLENGE = (
    select(
        DOCUMENTS.c.challenge_failures,
        DOCUMENTS.c.challenge_locked_until,
        DOCUMENTS.c.challenge_locks,
        DOCUMENTS.c.challenge_blocked_at,
    )
    .where(DOCUMENTS.c.id == bindparam("document_id"))
    .with_for_update()
)
_SET_CHALLENGE = (
    update(DOCUMENTS)
    .where(DOCUMENTS.c.id == bindparam("document_id"))
    .values(
        challenge_failures=bindparam("failures"),
        challenge_locked_until=bindparam("locked_until"),
        challenge_locks=bindparam("locks"),
        challenge_blocked_at=bindparam("blocked_at"),
    )
)
_SET_DIGESTS = (
    update(DOCUMENTS)
    .where(DOCUMENTS.c.id == bindparam("document_id"))
    .values(challenge_digests=bindparam("digests"))
)


def check_identity(
    sessions: sessionmaker[Session],
    definition: FormDefinition,
    document: Document,
    answers: Mapping[str, str],
    policy: ChallengePolicy,
    now: dt.datetime,
    *,
    digester: AnswerDigester,
    client: str | None = None,
) -> None:
    """Check the identity answers to a document's question; count, lock and escalate.

    Returns when the answers are right (resetting the failures counted, and rewriting
    legacy digests keyed). Otherwise the failure is counted, in a security event and an
    audit event; `policy.max_failures` of them lock the document, each lock longer than the
    one before (`ChallengePolicy.lock_for`), the last one until an adviser unlocks it.
    Locks counted so far are kept across right answers: a right answer after a lock does not
    give back the guesses used.

    Raises:
        IdentityBlocked: the document is locked until an adviser unlocks it.
        IdentityLocked: the document is locked for a while after too many wrong answers.
        ChallengeFailed: an answer is wrong (the message does not say which).
    """
    # The digests are written once, when the document is issued: compared on this read.
    digests = document.challenge_digests
    values = _parsed(definition.challenge, answers)
    right = answers_right(definition.challenge, digests, answers, digester)
    upgrade = right and outdated(digests)
    if (
        right
        and not upgrade
        and not document.challenge_failures
        and document.challenge_locked_until is None
        and document.challenge_blocked_at is None
    ):
        # Right answers to a document read in this request with nothing to reset (no
        # failure counted, no lock, even an expired one): nothing to write, so no
        # transaction and no row lock (3 round trips fewer). A wrong answer committed since
        # that read counts as one after this answer.
        return
    with sessions() as session, session.begin():
        connection = session.connection()  # Core statements, no ORM loading
        state = connection.execute(_LOCK_CHALLENGE, {"document_id": document.id}).one()
        failures, locks = state.challenge_failures, state.challenge_locks or 0
        locked_until, blocked_at = state.challenge_locked_until, state.challenge_blocked_at
        refused: IdentityLocked | IdentityBlocked | None = None
        lasts: dt.timedelta | None = None
        if blocked_at is not None:
            refused = IdentityBlocked("This form is locked until an adviser unlocks it.")
        elif locked_until and locked_until > now:
            refused = IdentityLocked("Too many wrong answers. Try again later.")
        if refused is not None:
            session.add(
                SecurityEvent(
                    at=now, kind="challenge_locked", document_id=document.id, client=client
                )
            )
        else:
            if right:
                if upgrade:
                    connection.execute(
                        _SET_DIGESTS,
                        {
                            "document_id": document.id,
                            "digests": digester.digests(str(digests.get("salt", "")), values),
                        },
                    )
                if failures or locked_until is not None:
                    connection.execute(
                        _SET_CHALLENGE,
                        {
                            "document_id": document.id,
                            "failures": 0,
                            "locked_until": None,
                            "locks": locks,
                            "blocked_at": None,
                        },
                    )
                return
            failures += 1
            if failures >= policy.max_failures:
                failures, locks = 0, locks + 1
                lasts = policy.lock_for(locks)
                if lasts is None:
                    blocked_at, locked_until = now, None
                else:
                    locked_until = now + lasts
                audit.record(
                    session,
                    "identity_blocked" if blocked_at else "identity_locked",
                    actor="customer",
                    at=now,
                    document_id=document.id,
                    detail={"lock": locks},
                )
            connection.execute(
                _SET_CHALLENGE,
                {
                    "document_id": document.id,
                    "failures": failures,
                    "locked_until": locked_until,
                    "locks": locks,
                    "blocked_at": blocked_at,
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
    if refused is not None:
        raise refused
    raise ChallengeFailed(
        "The answers do not match our records.",
        tries_left=policy.tries_left(failures) if failures else 0,
        locked_for=lasts if not failures else None,
    )


def _parsed(
    questions: Sequence[ChallengeQuestion], answers: Mapping[str, str]
) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for question in questions:
        try:
            values[question.name] = question.parse(answers.get(question.name))
        except FieldValueError:
            values[question.name] = None
    return values


def answers_right(
    questions: Sequence[ChallengeQuestion],
    digests: Mapping[str, Any],
    answers: Mapping[str, str],
    digester: AnswerDigester,
) -> bool:
    """Whether every identity answer matches its digest (all compared, always)."""
    salt = str(digests.get("salt", ""))
    right = True
    for name, value in _parsed(questions, answers).items():
        expected = str(digests.get(name, ""))
        right &= value is not None and digester.matches(salt, value, expected)
    return right
