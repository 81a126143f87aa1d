"""Back-office sign-in: the Flask-Login user, its loader, and the role-required decorator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_login import current_user
from flask_login.mixins import UserMixin

from forms_service.accounts.service import Role, roles_of
from forms_service.accounts.sessions import Browser, SessionPolicy, find_session
from forms_service.config import Settings
from forms_service.storage.model import User
from forms_service.web.context import agent_digest, client_pseudonym, runtime
from forms_service.web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

#: Roles that may see and decide change sets.
REVIEWERS = (Role.CLERK, Role.SUPERVISOR)
#: Roles that may see personal values in the audit log.
AUDIT_READERS = (Role.SUPERVISOR,)


@dataclass(frozen=True)
class BackofficeUser(UserMixin):
    """The signed-in person as the web layer knows them (no password hash kept)."""

    user_id: int
    username: str
    roles: frozenset[Role]
    #: The random id of the server-side session record (`user_sessions`) the cookie names.
    session_id: str
    active: bool = True
    #: The language the user chose for their screens (None: the browser's).
    locale: str | None = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # What the signed cookie holds: the session record's id, looked up on every request
        # (ended at sign-out, password change or revoke), never the user's id alone.
        return self.session_id

    def has_any(self, *roles: Role) -> bool:
        """Whether the user holds one of `roles` (admin holds them all)."""
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))


def backoffice_user(user: User, session_id: str) -> BackofficeUser:
    """The web-layer view of a stored account signed in as session `session_id`."""
    return BackofficeUser(
        user_id=user.id,
        username=user.username,
        roles=roles_of(user),
        session_id=session_id,
        active=user.active,
        locale=user.locale,
    )


def this_browser() -> Browser:
    """The request's client and browser, as sessions are bound to them (keyed digests)."""
    return Browser(client=client_pseudonym(), agent=agent_digest())


def session_policy(settings: Settings) -> SessionPolicy:
    """The sessions' timeouts and binding, from the settings."""
    return SessionPolicy(
        idle=dt.timedelta(minutes=settings.backoffice_idle_minutes),
        absolute=dt.timedelta(hours=settings.backoffice_session_hours),
        bind_address=settings.backoffice_session_bind_address,
    )


def _load_user(identifier: str) -> BackofficeUser | None:
    built = runtime()
    with built.sessions() as session, session.begin():
        user = find_session(
            session,
            identifier,
            this_browser(),
            now=built.clock(),
            policy=session_policy(built.settings),
        )
        return backoffice_user(user, identifier) if user is not None else None


def init_login(app: Flask) -> None:
    """Attach Flask-Login to the app with the back office's login page and hardening."""
    login_manager.init_app(app)
    login_manager.login_view = "backoffice.login"
    login_manager.login_message = None
    # The session record binds the session to its browser (and, when configured, address):
    # see accounts.sessions. Flask-Login's own "strong" check, which also hashes the address,
    # would drop every session whose mobile address changes, without ending its record.
    login_manager.session_protection = None
    login_manager.user_loader(_load_user)
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # Signed-in sessions are permanent with a short lifetime, renewed on every request: an
    # idle timeout the server enforces (the signed cookie's age is checked), not the browser.
    # Flask checks that age on every session, so the default matches WTF_CSRF_TIME_LIMIT
    # (8 h): a customer's open form keeps working as long as its CSRF token does.
    settings: Settings = app.extensions["forms_service"].settings
    idle = settings.backoffice_idle_minutes
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=idle)


def signed_in() -> BackofficeUser:
    """The signed-in user (only call behind `role_required`)."""
    user = current_user._get_current_object()
    if not isinstance(user, BackofficeUser):
        abort(401)
    return user


def role_required(*roles: Role) -> Callable[[F], F]:
    """Anonymous users go to the login page; users without one of `roles` get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            user = signed_in()
            if roles and not user.has_any(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
