"""Create and authenticate back-office users and API tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from forms_service.accounts import lockout, sessions
from forms_service.accounts.lockout import LockoutPolicy
from forms_service.core.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from forms_service.core.i18n import LOCALES
from forms_service.storage.model import ApiToken, SecurityEvent, User


class Role(StrEnum):
    """What a back-office account may do."""

    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    MAILROOM = "mailroom"
    ADMIN = "admin"
    INTEGRATION = "integration"


_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths take the same time."""
    # Made on first use, not at import: an argon2 hash costs 0.1-1 s, paid by every command.
    return _HASHER.hash("not-a-real-password")


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the user, and what they are told about their account."""

    user: User
    #: Wrong passwords typed for this account (from any client) since its last sign-in.
    failures_since: int


def parse_roles(roles: Iterable[str]) -> str:
    """Check role names and store them comma-separated."""
    parsed = []
    for role in roles:
        try:
            parsed.append(Role(role.strip()).value)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {role!r} (known: {known})", field="roles") from None
    if not parsed:
        raise InvalidInput("at least one role is needed", field="roles")
    return ",".join(sorted(set(parsed)))


def create_user(
    session: Session, username: str, password: str, roles: Iterable[str], *, now: dt.datetime
) -> User:
    """Create a user with an argon2 password hash."""
    if len(password) < 12:
        raise InvalidInput("the password must have at least 12 characters", field="password")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(
        username=username,
        password_hash=_HASHER.hash(password),
        roles=parse_roles(roles),
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: dt.datetime,
    client: str = "",
    policy: LockoutPolicy | None = None,
) -> SignedIn | None:
    """The user when the password is right; counts failures per client and per account.

    Unknown, inactive and existing accounts take the same path and the same time (a
    password hash is verified on each) and give the same answers: None for a wrong
    password, the same refusal when locked, which only happens per (name, `client`) and,
    slowed down, per name (see `lockout`).

    Raises:
        TooManyAttempts: `client` is locked out of this account name, or the name is backed
            off after failures from every client.
    """
    policy = policy or LockoutPolicy()
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    refused = lockout.refusal(session, username, client, now=now, policy=policy)
    known = user is not None and user.active
    stored = user.password_hash if user is not None and known else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
        right = known and refused is None
    except (VerificationError, InvalidHashError):
        right = False
    if refused is not None:
        raise TooManyAttempts("Too many failed sign-ins: try again later.")
    if not right or user is None:
        lockout.count_failure(
            session, username, client, now=now, policy=policy, user_id=user.id if user else None
        )
        return None
    failures = lockout.sign_in_succeeded(session, username, policy=policy)
    if failures:
        session.add(
            SecurityEvent(
                at=now,
                kind="sign_in_failures_told",
                client=client or None,
                detail=f"user {user.id}: {failures} failed sign-ins since the last one",
            )
        )
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return SignedIn(user, failures)


def set_password(session: Session, username: str, password: str, *, now: dt.datetime) -> int:
    """Give `username` a new password and end every session opened with the old one.

    Returns:
        How many sessions were ended.

    Raises:
        InvalidInput: a password shorter than 12 characters.
        NotFound: no user `username`.
    """
    if len(password) < 12:
        raise InvalidInput("the password must have at least 12 characters", field="password")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", field="user")
    user.password_hash = _HASHER.hash(password)
    return sessions.revoke_all(
        session, user.id, now=now, reason=sessions.EndReason.PASSWORD_CHANGED
    )


def roles_of(user: User | ApiToken) -> frozenset[Role]:
    """The roles of a user or token."""
    return frozenset(Role(r) for r in user.roles.split(",") if r)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: Roles whose tokens decide change sets: such a token needs an owner (the person deciding).
DECIDING_ROLES = frozenset({Role.CLERK, Role.SUPERVISOR, Role.ADMIN})
#: How long a new token lives unless told otherwise.
DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=365)
#: `last_used_at` is written at most this often per token (not on every request).
LAST_USED_PRECISION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class ApiCaller:
    """Who presents a valid token: the token and, when it has one, its owner."""

    token_id: int
    name: str
    roles: frozenset[Role]
    #: The person whose decisions the token makes; None for a token made before owners.
    owner_id: int | None
    owner_name: str | None


def create_api_token(
    session: Session,
    name: str,
    roles: Iterable[str],
    *,
    now: dt.datetime,
    owner: str | None = None,
    lifetime: dt.timedelta = DEFAULT_TOKEN_LIFETIME,
) -> str:
    """Create an integration token; the clear token is returned once and never stored.

    A token with a role that decides change sets (clerk, supervisor, admin) belongs to a
    person, `owner` (a username), who holds that role: its decisions are that person's.

    Raises:
        Conflict: a token of that name exists.
        InvalidInput: a deciding token without an owner, an owner lacking its roles, or a
            lifetime that is not positive.
        NotFound: no active user `owner`.
    """
    if session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none():
        raise Conflict(f"token {name!r} already exists", field="name")
    stored_roles = parse_roles(roles)
    wanted = frozenset(Role(r) for r in stored_roles.split(","))
    deciding = wanted & DECIDING_ROLES
    if lifetime <= dt.timedelta(0):
        raise InvalidInput("a token's lifetime must be at least one day", field="expires_days")
    owner_id = None
    if owner is not None:
        user = session.execute(select(User).where(User.username == owner)).scalar_one_or_none()
        if user is None or not user.active:
            raise NotFound(f"no active user {owner!r}", field="user")
        held = roles_of(user)
        missing = sorted(r.value for r in deciding if r not in held and Role.ADMIN not in held)
        if missing:
            raise InvalidInput(
                f"user {owner!r} does not hold the role(s) {', '.join(missing)} of the token",
                field="roles",
            )
        owner_id = user.id
    elif deciding:
        raise InvalidInput(
            "a token that can decide change sets (clerk, supervisor, admin) belongs to a "
            "person: give its owner (--user USERNAME)",
            field="user",
        )
    token = "fst_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_hash=_token_digest(token),
            roles=stored_roles,
            created_at=now,
            owner_id=owner_id,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def find_api_token(session: Session, token: str, *, now: dt.datetime) -> ApiCaller | None:
    """Who presents `token`; None when it is unknown, revoked, expired or its owner inactive.

    One statement; also writes the token's `last_used_at` when it is more than a minute
    old (the caller commits).
    """
    found = session.execute(
        select(ApiToken, User.username, User.active)
        .outerjoin(User, User.id == ApiToken.owner_id)
        .where(ApiToken.token_hash == _token_digest(token))
    ).one_or_none()
    if found is None:
        return None
    row, owner_name, owner_active = found
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.owner_id is not None and not owner_active:
        return None
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_PRECISION:
        # Guarded: of concurrent requests, one writes; the others change no row.
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == row.id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at <= now - LAST_USED_PRECISION,
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return ApiCaller(
        token_id=row.id,
        name=row.name,
        roles=roles_of(row),
        owner_id=row.owner_id,
        owner_name=owner_name,
    )


@dataclass(frozen=True)
class TokenInfo:
    """What `api-tokens list` shows of a token: never its secret nor its hash."""

    name: str
    owner: str | None
    roles: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def list_api_tokens(session: Session) -> list[TokenInfo]:
    """Every token, by name."""
    rows = session.execute(
        select(ApiToken, User.username)
        .outerjoin(User, User.id == ApiToken.owner_id)
        .order_by(ApiToken.name)
    ).all()
    return [
        TokenInfo(t.name, owner, t.roles, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
        for t, owner in rows
    ]


def revoke_api_token(session: Session, name: str, *, now: dt.datetime) -> None:
    """Revoke the token `name` (refused like an unknown one from then on).

    Raises:
        NotFound: no token of that name.
        Conflict: it is already revoked.
    """
    token = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
    if token is None:
        raise NotFound(f"no token {name!r}", field="name")
    if token.revoked_at is not None:
        raise Conflict(f"token {name!r} is already revoked", field="name")
    token.revoked_at = now


def set_locale(session: Session, user_id: int, locale: str | None) -> None:
    """Store the language of a user's screens (None: follow the browser).

    Raises:
        InvalidInput: not a language the screens speak.
    """
    if locale is not None and locale not in LOCALES:
        raise InvalidInput("unknown language", field="lang")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("unknown user", field="user")
    user.locale = locale
