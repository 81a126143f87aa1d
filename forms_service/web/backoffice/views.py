"""Back-office sign-in and sign-out; the review screens are in review.py."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forms_service.accounts.lockout import LockoutPolicy
from forms_service.accounts.service import Role, authenticate, set_locale
from forms_service.accounts.sessions import end_session, open_session
from forms_service.core.errors import FormsError, TooManyAttempts
from forms_service.web.backoffice.auth import (
    REVIEWERS,
    BackofficeUser,
    backoffice_user,
    signed_in,
    this_browser,
)
from forms_service.web.backoffice.forms import LanguageForm, LoginForm
from forms_service.web.backoffice.locale import SESSION_KEY, own_path, template_context
from forms_service.web.context import client_pseudonym, runtime
from forms_service.web.extensions import limiter
from forms_service.web.refusals import for_office

blueprint = Blueprint("backoffice", __name__, url_prefix="/backoffice")
# Every template of these screens speaks the user's language (named, lang).
blueprint.context_processor(template_context)


def _login_limit() -> str:
    return runtime().settings.ratelimit_login


def _lockout_policy() -> LockoutPolicy:
    settings = runtime().settings
    return LockoutPolicy(
        max_failures=settings.login_max_failures,
        lock_minutes=settings.login_lock_minutes,
        account_max_failures=settings.login_account_max_failures,
        backoff_max_seconds=settings.login_backoff_max_seconds,
        key=settings.secret_key.encode(),
    )


def _safe_next(target: str | None) -> str:
    """Only a back-office or mailroom path of this site: never an open redirect."""
    return target if target and own_path(target) else url_for("backoffice.queue")


def _render_login(
    form: LoginForm, *, message: str = "", code: str = "", status: int = 200
) -> ResponseReturnValue:
    return (
        render_template("backoffice/login.html", form=form, message=message, code=code),
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
    now = runtime().clock()
    try:
        with runtime().sessions() as db, db.begin():
            result = authenticate(
                db,
                form.username.data or "",
                form.password.data or "",
                now=now,
                client=client_pseudonym(),
                policy=_lockout_policy(),
            )
            signed: BackofficeUser | None = None
            if result is not None:
                session_id = open_session(db, result.user, this_browser(), now=now)
                signed = backoffice_user(result.user, session_id)
    except TooManyAttempts:
        # The same words and status for an unknown name: nothing tells them apart.
        return _render_login(
            form,
            message=gettext("Too many failed sign-ins from here: try again later."),
            code="locked",
            status=429,
        )
    if signed is None or result is None:
        return _render_login(
            form, message=gettext("Unknown user or wrong password."), code="wrong", status=401
        )
    # A new identity: nothing from the anonymous session survives (session fixation).
    session.clear()
    login_user(signed)
    session.permanent = True  # the cookie's own idle limit; the record's are the server's
    if result.failures_since:
        count = result.failures_since
        flash(
            ngettext(
                "%(num)d failed sign-in attempt on your account since your last sign-in.",
                "%(num)d failed sign-in attempts on your account since your last sign-in.",
                count,
            ),
            "warning",
        )
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
    """Sign out: end the session record, drop the whole session (CSRFProtect checks the POST).

    The record ends first: a copy of the cookie made before sign-out is refused after it.
    """
    if current_user.is_authenticated:
        with runtime().sessions() as db, db.begin():
            end_session(db, signed_in().session_id, now=runtime().clock())
    logout_user()
    session.clear()
    return redirect(url_for("backoffice.login"), code=303)


_TITLES = {
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    409: lazy_gettext("Changed meanwhile"),
    422: lazy_gettext("Not accepted"),
}


def _render_error(
    status: int, code: str, reason: str, template: str = "backoffice/error.html"
) -> ResponseReturnValue:
    return (
        render_template(
            template,
            title=str(_TITLES.get(status) or gettext("Something went wrong")),
            code=code,
            reason=reason,
        ),
        status,
    )


def reason_of(error: FormsError) -> str:
    """A refusal of the domain in the screen's language (by its code; else as it was said)."""
    return for_office(error)


def forms_error(error: FormsError, template: str = "backoffice/error.html") -> ResponseReturnValue:
    """A refusal of the domain, shown in the back office's own words and layout."""
    return _render_error(error.status, error.code, reason_of(error), template)


def http_error(
    error: HTTPException, template: str = "backoffice/error.html"
) -> ResponseReturnValue:
    """403, 404, 405… in the back office's layout (a 403 names no role it lacks)."""
    status = error.code or 500
    reasons = {
        403: lazy_gettext("Your account does not have the role this page needs."),
        404: lazy_gettext("There is nothing at this address."),
    }
    return _render_error(
        status,
        (error.name or "error").lower().replace(" ", "_"),
        str(reasons.get(status) or gettext("The request could not be handled.")),
        template,
    )


def csrf_error(error: CSRFError, template: str = "backoffice/error.html") -> ResponseReturnValue:
    """A form sent without its CSRF token (a stale page, mostly): the office's words, a 400.

    Registered on the blueprint for CSRFError itself: the app's handler of that class (the
    customers' page) would otherwise come first, before the blueprint's HTTPException one.
    """
    refused = FormsError(error.description or "CSRF")
    refused.status, refused.code = 400, "csrf"
    return forms_error(refused, template)


def install_error_pages(target: Blueprint, template: str) -> None:
    """Show `target`'s refusals, HTTP errors and CSRF failures with `template`."""
    target.register_error_handler(FormsError, lambda error: forms_error(error, template))
    target.register_error_handler(HTTPException, lambda error: http_error(error, template))
    target.register_error_handler(CSRFError, lambda error: csrf_error(error, template))


install_error_pages(blueprint, "backoffice/error.html")


@blueprint.post("/language")
def language() -> ResponseReturnValue:
    """Switch the screens' language: stored on the signed-in user, else kept in the session.

    A POST with the CSRF token (CSRFProtect checks it), open to everyone: the sign-in page
    has the switch too. Goes back to the page it was asked from (this site's only).
    """
    form = LanguageForm()
    if not form.validate():
        abort(400)
    chosen = form.lang.data
    session[SESSION_KEY] = chosen
    if current_user.is_authenticated:
        with runtime().sessions() as db, db.begin():
            set_locale(db, signed_in().user_id, chosen)
    return redirect(_safe_next(form.next.data), code=303)
