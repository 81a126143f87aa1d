"""Wrong sign-ins counted per (account name, client) for the lock, and per account for a back-off.

Nobody can lock a clerk out from elsewhere: the lock holds the client that failed, not the
account. Failures from every client together slow the account's sign-ins down (one try per
growing delay, capped), so that many clients guessing in turn gain little. Names are counted
as typed whether or not an account has them: an unknown name is locked and slowed exactly
like a real one, and no answer tells them apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms_service.storage.model import SecurityEvent, SignInFailures

#: The row counting the failures of every client (`sign_in_failures.client`).
EVERY_CLIENT = ""


@dataclass(frozen=True)
class LockoutPolicy:
    """Failed sign-ins before a client is locked out of an account, and the account's back-off."""

    #: Wrong passwords from one client before that client is locked out of the account.
    max_failures: int = 5
    lock_minutes: int = 15
    #: Wrong passwords from all clients together before each further try waits.
    account_max_failures: int = 20
    #: The longest wait between two tries of a backed-off account (1 s, doubling, up to it).
    backoff_max_seconds: int = 300
    #: Key of the keyed hash under which typed account names are counted (the secret key).
    key: bytes = b""


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in is refused before its password is checked, and until when."""

    until: dt.datetime
    #: "locked" (this client, this account) or "backoff" (the account, every client).
    reason: str


def account_key(policy: LockoutPolicy, username: str) -> str:
    """The keyed hash a typed account name is counted under (never the name itself)."""
    return hashlib.blake2b(username.encode(), key=policy.key[:64], digest_size=32).hexdigest()


def refusal(
    db: Session, username: str, client: str, *, now: dt.datetime, policy: LockoutPolicy
) -> Refusal | None:
    """Whether a try for `username` from `client` is refused now, without checking it."""
    key = account_key(policy, username)
    rows = {
        row.client: row
        for row in db.execute(
            select(SignInFailures).where(
                SignInFailures.account_key == key,
                SignInFailures.client.in_((client, EVERY_CLIENT)),
            )
        ).scalars()
    }
    own = rows.get(client) if client != EVERY_CLIENT else None
    if own is not None and own.locked_until is not None and own.locked_until > now:
        return Refusal(own.locked_until, "locked")
    every = rows.get(EVERY_CLIENT)
    if every is not None:
        wait = backoff(every.failures, policy)
        if wait and every.last_failure_at + wait > now:
            return Refusal(every.last_failure_at + wait, "backoff")
    return None


def backoff(failures: int, policy: LockoutPolicy) -> dt.timedelta:
    """The wait after the last failure once an account has `failures` of them (0: none)."""
    beyond = failures - policy.account_max_failures
    if beyond < 0:
        return dt.timedelta(0)
    return dt.timedelta(seconds=min(2 ** min(beyond, 30), policy.backoff_max_seconds))


def count_failure(
    db: Session,
    username: str,
    client: str,
    *,
    now: dt.datetime,
    policy: LockoutPolicy,
    user_id: int | None,
) -> None:
    """Count a wrong password for `username` from `client`; lock or back off when due."""
    key = account_key(policy, username)
    own = _row(db, key, client, now)
    own.failures += 1
    own.last_failure_at = now
    if own.failures >= policy.max_failures:
        own.failures = 0
        own.locked_until = now + dt.timedelta(minutes=policy.lock_minutes)
        _event(db, "sign_in_locked", client, now, user_id)
    every = _row(db, key, EVERY_CLIENT, now)
    every.failures += 1
    every.last_failure_at = now
    if every.failures == policy.account_max_failures:
        _event(db, "sign_in_backoff", client, now, user_id)


def sign_in_succeeded(db: Session, username: str, *, policy: LockoutPolicy) -> int:
    """Forget `username`'s failures (every client's); how many since its last sign-in."""
    key = account_key(policy, username)
    every = db.execute(
        select(SignInFailures.failures).where(
            SignInFailures.account_key == key, SignInFailures.client == EVERY_CLIENT
        )
    ).scalar_one_or_none()
    db.execute(delete(SignInFailures).where(SignInFailures.account_key == key))
    return every or 0


def _row(db: Session, key: str, client: str, now: dt.datetime) -> SignInFailures:
    """The locked counting row of (`key`, `client`), made when there is none yet."""
    query = (
        select(SignInFailures)
        .where(SignInFailures.account_key == key, SignInFailures.client == client)
        .with_for_update()
    )
    row = db.execute(query).scalar_one_or_none()
    if row is not None:
        return row
    try:
        with db.begin_nested():
            row = SignInFailures(account_key=key, client=client, failures=0, last_failure_at=now)
            db.add(row)
    except IntegrityError:  # a concurrent failure made it meanwhile
        return db.execute(query).scalar_one()
    return row


def _event(db: Session, kind: str, client: str, now: dt.datetime, user_id: int | None) -> None:
    # An unknown name is not recorded: it may be a password typed in the wrong box.
    detail = f"user {user_id}" if user_id is not None else "unknown account"
    db.add(SecurityEvent(at=now, kind=kind, client=client or None, detail=detail))
