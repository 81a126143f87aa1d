"""Server-side records of back-office sign-ins: opened, found on each request, ended, revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from forms_service.core.errors import NotFound
from forms_service.storage.model import SecurityEvent, User, UserSession

#: `last_seen_at` is written at most this often per session (not on every request), unless
#: the idle timeout is shorter: then a quarter of it.
LAST_SEEN_PRECISION = dt.timedelta(minutes=1)
#: The prefix of a session id, so that one is recognised in a leaked cookie or log.
_PREFIX = "fss_"


class EndReason(StrEnum):
    """Why a session ended (`user_sessions.revoked_reason`)."""

    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
    REVOKED = "revoked"
    OTHER_BROWSER = "other_browser"
    OTHER_ADDRESS = "other_address"
    IDLE = "idle"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives, and what it is bound to besides the browser."""

    #: Without a request for this long, the session ends.
    idle: dt.timedelta
    #: However active, the session ends this long after sign-in.
    absolute: dt.timedelta
    #: Also end it when a request comes from another address than the sign-in's (off by
    #: default: the addresses of mobile networks and some proxies change under a user).
    bind_address: bool = False

    def __post_init__(self) -> None:
        if self.idle <= dt.timedelta(0) or self.absolute <= dt.timedelta(0):
            raise ValueError("session timeouts must be positive")


@dataclass(frozen=True)
class Browser:
    """Where a request comes from, as the session is bound to it (never the raw values)."""

    #: The client pseudonym (keyed hash of the address).
    client: str
    #: A keyed digest of the User-Agent header.
    agent: str


@dataclass(frozen=True)
class SessionInfo:
    """An active session, as the administrators' page lists it (no id, only its row)."""

    id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    client: str
    agent: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Session, user: User, browser: Browser, *, now: dt.datetime) -> str:
    """Record a new sign-in of `user`; the random session id, for the signed cookie only."""
    session_id = _PREFIX + secrets.token_urlsafe(32)
    db.add(
        UserSession(
            token_hash=_digest(session_id),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            client=browser.client,
            agent_digest=browser.agent,
        )
    )
    db.flush()
    return session_id


def find_session(
    db: Session, session_id: str, browser: Browser, *, now: dt.datetime, policy: SessionPolicy
) -> User | None:
    """The signed-in user of `session_id`, or None: unknown, ended, timed out or moved.

    A session presented from another browser (or, with `bind_address`, another address)
    is ended, not only refused: its cookie was copied. Renews `last_seen_at` (the caller
    commits).
    """
    if not session_id.startswith(_PREFIX):
        return None
    found = db.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(session_id))
    ).one_or_none()
    if found is None:
        return None
    record, user = found
    if record.revoked_at is not None or not user.active:
        return None
    reason = _broken(record, browser, now, policy)
    if reason is not None:
        _end(db, record, now, reason)
        if reason in (EndReason.OTHER_BROWSER, EndReason.OTHER_ADDRESS):
            db.add(
                SecurityEvent(
                    at=now, kind="session_moved", client=browser.client, detail=reason.value
                )
            )
        return None
    precision = min(LAST_SEEN_PRECISION, policy.idle / 4)
    if record.last_seen_at <= now - precision:
        record.last_seen_at = now
    return user


def _broken(
    record: UserSession, browser: Browser, now: dt.datetime, policy: SessionPolicy
) -> EndReason | None:
    if record.created_at + policy.absolute <= now:
        return EndReason.EXPIRED
    if record.last_seen_at + policy.idle <= now:
        return EndReason.IDLE
    if record.agent_digest != browser.agent:
        return EndReason.OTHER_BROWSER
    if policy.bind_address and record.client != browser.client:
        return EndReason.OTHER_ADDRESS
    return None


def _end(db: Session, record: UserSession, now: dt.datetime, reason: EndReason) -> None:
    record.revoked_at = now
    record.revoked_reason = reason.value


def end_session(
    db: Session, session_id: str, *, now: dt.datetime, reason: EndReason = EndReason.SIGNED_OUT
) -> None:
    """End the session `session_id` (sign-out): its cookie, and every copy, is refused."""
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(session_id), UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason.value)
    )


def revoke_session(db: Session, user_id: int, row_id: int, *, now: dt.datetime) -> None:
    """An administrator ends one session of user `user_id`.

    Raises:
        NotFound: no active session `row_id` of that user.
    """
    ended = _changed(
        update(UserSession)
        .where(
            UserSession.id == row_id,
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_reason=EndReason.REVOKED.value),
        db,
    )
    if not ended:
        raise NotFound("no such active session", field="session")


def revoke_all(
    db: Session, user_id: int, *, now: dt.datetime, reason: EndReason = EndReason.REVOKED
) -> int:
    """End every session of user `user_id`; how many were active."""
    return _changed(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason.value),
        db,
    )


def _changed(statement: Any, db: Session) -> int:
    """Run an UPDATE; how many rows it changed."""
    result = cast("CursorResult[Any]", db.execute(statement))
    return result.rowcount


def active_sessions(
    db: Session, user_id: int, *, now: dt.datetime, policy: SessionPolicy
) -> list[SessionInfo]:
    """The sessions of user `user_id` that a request could still use, newest first."""
    rows = db.execute(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.created_at > now - policy.absolute,
            UserSession.last_seen_at > now - policy.idle,
        )
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    ).scalars()
    return [
        SessionInfo(r.id, r.created_at, r.last_seen_at, r.client, r.agent_digest[:12]) for r in rows
    ]


@dataclass(frozen=True)
class AccountSessions:
    """A user and how many sessions they have open, for the administrators' list."""

    user_id: int
    username: str
    roles: str
    active: bool
    open_sessions: int


def accounts(db: Session, *, now: dt.datetime, policy: SessionPolicy) -> list[AccountSessions]:
    """Every user with the count of their usable sessions, by username."""
    counted = (
        select(UserSession.user_id, func.count().label("open"))
        .where(
            UserSession.revoked_at.is_(None),
            UserSession.created_at > now - policy.absolute,
            UserSession.last_seen_at > now - policy.idle,
        )
        .group_by(UserSession.user_id)
        .subquery()
    )
    rows = db.execute(
        select(User.id, User.username, User.roles, User.active, counted.c.open)
        .outerjoin(counted, counted.c.user_id == User.id)
        .order_by(User.username)
    ).all()
    return [AccountSessions(r.id, r.username, r.roles, r.active, r.open or 0) for r in rows]


def account(db: Session, user_id: int) -> User:
    """The user `user_id`.

    Raises:
        NotFound: no such user.
    """
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("unknown user", field="user")
    return user
