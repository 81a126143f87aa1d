"""Back-office sign-in and sign-out; the review screens are in review.py."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException

from forms_service.accounts.service import LockoutPolicy, Role, authenticate
from forms_service.errors import FormsError, TooManyAttempts
from forms_service.web.backoffice.auth import (
    REVIEWERS,
    BackofficeUser,
    backoffice_user,
    signed_in,
)
from forms_service.web.backoffice.forms import LoginForm
from forms_service.web.context import runtime
from forms_service.web.extensions import limiter

blueprint = Blueprint("backoffice", __name__, url_prefix="/backoffice")


def _login_limit() -> str:
    return str(current_app.config.get("RATELIMIT_LOGIN", "20 per minute"))


def _lockout_policy() -> LockoutPolicy:
    config = current_app.config
    return LockoutPolicy(
        max_failures=int(config.get("LOGIN_MAX_FAILURES", 5)),
        lock_minutes=int(config.get("LOGIN_LOCK_MINUTES", 15)),
    )


def _safe_next(target: str | None) -> str:
    """Only a back-office path of this site: never an open redirect."""
    default = url_for("backoffice.queue")
    if not target:
        return default
    parts = urlsplit(target)
    # The mailroom screens share this sign-in.
    if parts.scheme or parts.netloc or not parts.path.startswith(("/backoffice/", "/mailroom/")):
        return default
    if "\\" in target or target.startswith("//"):
        return default
    # A control character would end up in the Location header: refused there with a 500.
    if not target.isprintable() or " " in target:
        return default
    return target


def _render_login(
    form: LoginForm, *, message: str = "", code: str = "", status: int = 200
) -> ResponseReturnValue:
    return (
        render_template("backoffice/login.html", form=form, message=message, code=code, lang="en"),
        status,
    )


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; sign in with a fresh session, counting failures."""
    form = LoginForm()
    if not form.is_submitted():
        if current_user.is_authenticated and signed_in().has_any(*REVIEWERS):
            return redirect(url_for("backoffice.queue"))
        form.next.data = _safe_next(request.args.get("next"))
        return _render_login(form)
    if not form.validate():
        return _render_login(form, status=422)
    try:
        with runtime().sessions() as db, db.begin():
            user = authenticate(
                db,
                form.username.data or "",
                form.password.data or "",
                now=dt.datetime.now(dt.UTC),
                policy=_lockout_policy(),
            )
            signed: BackofficeUser | None = backoffice_user(user) if user else None
    except TooManyAttempts:
        return _render_login(
            form,
            message="This account is locked for a while after repeated failures.",
            code="locked",
            status=429,
        )
    if signed is None:
        return _render_login(
            form, message="Unknown user or wrong password.", code="wrong", status=401
        )
    # A new identity: nothing from the anonymous session survives (session fixation).
    session.clear()
    login_user(signed)
    session.permanent = True  # expires after BACKOFFICE_IDLE_MINUTES without a request
    return redirect(_landing(signed, form.next.data), code=303)


def _landing(user: BackofficeUser, asked: str | None) -> str:
    """Where to go after sign-in: the page asked for, else the user's own area."""
    target = _safe_next(asked)
    if target != url_for("backoffice.queue") or user.has_any(*REVIEWERS):
        return target
    if user.has_any(Role.MAILROOM) and "mailroom" in current_app.blueprints:
        return url_for("mailroom.batches")
    return target


@blueprint.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out and drop the whole session (a POST: CSRFProtect checks its token)."""
    logout_user()
    session.clear()
    return redirect(url_for("backoffice.login"), code=303)


_TITLES = {403: "Not allowed", 404: "Not found", 409: "Changed meanwhile", 422: "Not accepted"}


def _render_error(status: int, code: str, reason: str) -> ResponseReturnValue:
    return (
        render_template(
            "backoffice/error.html",
            title=_TITLES.get(status, "Something went wrong"),
            code=code,
            reason=reason,
            lang="en",
        ),
        status,
    )


@blueprint.errorhandler(FormsError)
def forms_error(error: FormsError) -> ResponseReturnValue:
    """A refusal of the domain, shown in the back office's own words and layout."""
    return _render_error(error.status, error.code, error.reason)


@blueprint.errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    """403, 404, 405… in the back office's layout (a 403 names no role it lacks)."""
    status = error.code or 500
    reasons = {
        403: "Your account does not have the role this page needs.",
        404: "There is nothing at this address.",
    }
    return _render_error(
        status,
        (error.name or "error").lower().replace(" ", "_"),
        reasons.get(status, error.description or ""),
    )
