"""Back-office sign-in: the Flask-Login user, its loader, and the role-required decorator."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_login import current_user
from flask_login.mixins import UserMixin

from forms_service.accounts.service import Role, roles_of
from forms_service.config import Settings
from forms_service.storage.model import User
from forms_service.web.context import runtime
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
    fingerprint: str
    active: bool = True
    #: The language the user chose for their screens (None: the browser's).
    locale: str | None = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # The fingerprint of the password hash is part of the id: changing the password
        # ends every session opened with the old one.
        return f"{self.user_id}.{self.fingerprint}"

    def has_any(self, *roles: Role) -> bool:
        """Whether the user holds one of `roles` (admin holds them all)."""
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def backoffice_user(user: User) -> BackofficeUser:
    """The web-layer view of a stored account."""
    return BackofficeUser(
        user_id=user.id,
        username=user.username,
        roles=roles_of(user),
        fingerprint=_fingerprint(user.password_hash),
        active=user.active,
        locale=user.locale,
    )


def _load_user(identifier: str) -> BackofficeUser | None:
    raw_id, _, fingerprint = identifier.partition(".")
    if not raw_id.isdigit():
        return None
    with runtime().sessions() as session:
        user = session.get(User, int(raw_id))
        if user is None or not user.active:
            return None
        loaded = backoffice_user(user)
    if loaded.fingerprint != fingerprint:
        return None
    return loaded


def init_login(app: Flask) -> None:
    """Attach Flask-Login to the app with the back office's login page and hardening."""
    login_manager.init_app(app)
    login_manager.login_view = "backoffice.login"
    login_manager.login_message = None
    # A session used from another browser or address is dropped, not trusted.
    login_manager.session_protection = "strong"
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
