"""Flask extensions, created unbound and attached by the app factory."""

from __future__ import annotations

from flask import current_app, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_login.config import COOKIE_NAME, SESSION_KEYS
from flask_wtf.csrf import CSRFProtect


class SignInManager(LoginManager):
    """Flask-Login, without rewriting the sessions of people who never signed in.

    With "strong" protection Flask-Login treats any non-empty session without its `_id` as
    stolen: it marks it `_remember = "clear"`, so a customer's session (CSRF token, passed
    identity questions) was re-signed and sent again, with a remember-cookie deletion, on every
    page. A session holding none of Flask-Login's keys, from a browser without a remember
    cookie, has nothing to protect or strip: it is left alone. Every other session gets
    Flask-Login's own check, unchanged.
    """

    def _session_protection_failed(self) -> bool:
        remember = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
        if SESSION_KEYS.isdisjoint(session.keys()) and remember not in request.cookies:
            return False
        return bool(super()._session_protection_failed())


csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = SignInManager()
