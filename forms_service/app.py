"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from forms_service.config import ensure_secrets, load_settings
from forms_service.core.errors import FormsError
from forms_service.core.logs import configure_logging
from forms_service.runtime import build_runtime
from forms_service.web import ops
from forms_service.web.api.audit import blueprint as api_audit
from forms_service.web.api.change_sets import blueprint as api_change_sets
from forms_service.web.api.consents import blueprint as api_consents
from forms_service.web.api.delivery import blueprint as api_delivery
from forms_service.web.api.docs import blueprint as api_docs
from forms_service.web.api.problems import ProblemApi
from forms_service.web.api.returns import blueprint as api_returns
from forms_service.web.api.scans import blueprint as api_scans
from forms_service.web.api.submissions import blueprint as api_submissions
from forms_service.web.api.views import blueprint as api_documents
from forms_service.web.backoffice import register as register_backoffice
from forms_service.web.extensions import csrf, init_babel, limiter
from forms_service.web.guards import ServiceRequest, refuse_unstorable_characters
from forms_service.web.hooks import blueprint as hooks
from forms_service.web.mailroom import register as register_mailroom
from forms_service.web.public.amend import blueprint as public_amend
from forms_service.web.public.assist import blueprint as public_assist
from forms_service.web.public.entry import blueprint as public_entry
from forms_service.web.public.organisation import install as install_organisation
from forms_service.web.public.receipt_mail import blueprint as public_receipt_mail
from forms_service.web.public.unsubscribe import blueprint as public_unsubscribe
from forms_service.web.public.upload import blueprint as public_upload
from forms_service.web.public.views import blueprint as public
from forms_service.web.public.views import render_error

log = logging.getLogger(__name__)

_API_SETTINGS = {
    "API_TITLE": "forms_service",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, runtime (definitions are checked here), blueprints."""
    settings = ensure_secrets(load_settings(overrides=test_config))
    configure_logging(
        json_lines=settings.env == "production" or settings.log_json, level=settings.log_level
    )
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.request_class = ServiceRequest
    app.config.update(_API_SETTINGS)
    app.config.update(settings.flask_config())
    app.config["SESSION_COOKIE_SECURE"] = settings.base_url.startswith("https://")
    hops = settings.trusted_proxies
    if hops:
        # Behind HOPS TLS-terminating proxies: trust their X-Forwarded-For/Proto/Host, so
        # that the scheme is https (HSTS, CSRF referrer check) and limits see the client.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.extensions["forms_service"] = build_runtime(settings)

    init_babel(app, settings.default_locale, settings.backoffice_timezone)
    csrf.init_app(app)
    limiter.init_app(app)
    api = ProblemApi(app)
    api.register_blueprint(api_documents)
    csrf.exempt(api_documents)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for resource in (api_submissions, api_change_sets, api_audit, api_delivery, api_consents):
        api.register_blueprint(resource)
        csrf.exempt(resource)
    app.register_blueprint(api_docs)
    api.register_blueprint(api_scans)
    csrf.exempt(api_scans)
    register_backoffice(app)
    register_mailroom(app)
    app.register_blueprint(public)
    api.register_blueprint(api_returns)
    csrf.exempt(api_returns)
    app.register_blueprint(public_upload)
    app.register_blueprint(public_entry)
    app.register_blueprint(public_amend)
    app.register_blueprint(public_receipt_mail)
    install_organisation(app)
    app.register_blueprint(public_assist)
    # RFC 8058: the mail client's one-click POST carries no CSRF token (the link is signed).
    app.register_blueprint(public_unsubscribe)
    csrf.exempt(public_unsubscribe)
    # Providers' webhooks: no browser posts them; each is authenticated (web/hooks.py).
    app.register_blueprint(hooks)
    csrf.exempt(hooks)

    _register_error_handlers(app)
    app.before_request(refuse_unstorable_characters)
    app.after_request(_security_headers)

    ops.install(app)

    return app


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(FormsError)
    def forms_error(error: FormsError) -> ResponseReturnValue:
        if _is_api():
            body = {
                "status": error.status,
                "code": error.code,
                "field": error.field,
                "reason": error.reason,
            }
            return jsonify(body), error.status
        return render_error(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        failure = FormsError(error.description or "CSRF")
        failure.code = "csrf"
        return render_error(failure)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception) -> ResponseReturnValue:
        # The database is down or restarting: a clean 503; the pool reconnects by itself.
        log.warning("service database unavailable: %s", type(error).__name__)
        failure = FormsError("the service database is not answering; try again shortly")
        failure.status, failure.code = 503, "unavailable"
        if _is_api():
            body = {"status": 503, "code": "unavailable", "field": None, "reason": failure.reason}
            return jsonify(body), 503, {"Retry-After": "5"}
        failure.code = "source_unavailable"
        response = make_response(render_error(failure))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if _is_api():
            body = getattr(error, "data", None) or {}
            return jsonify(
                {
                    "status": status,
                    "code": (error.name or "error").lower().replace(" ", "_"),
                    "field": None,
                    "reason": error.description,
                    **({"errors": body.get("messages")} if body.get("messages") else {}),
                }
            ), status
        failure = FormsError(error.description or error.name)
        failure.status = status
        failure.code = (
            "not_found" if status == 404 else ("too_many_attempts" if status == 429 else "generic")
        )
        return render_error(failure)


#: Set on every response unless the view set its own. Same-origin referrers only: link tokens
#: never leave the site, and Flask-WTF's CSRF check needs the Referer of our pages on HTTPS.
_SECURITY_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    )
)
#: The endpoints whose answers a cache may keep: static files, the bundled Swagger UI, the
#: organisation's logo and colours.
_CACHEABLE_ENDPOINTS = frozenset(
    {"static", "api_docs.asset", "organisation.logo", "organisation.theme"}
)
_HSTS = (
    "strict-transport-security",
    "Strict-Transport-Security",
    "max-age=31536000; includeSubDomains",
)


def _security_headers(response: Any) -> Any:
    headers = response.headers
    # One pass over the response's headers, not a case-insensitive search per header name
    # (Headers.setdefault): together about 40 microseconds a response less.
    present = {name.lower() for name, _value in headers}
    for lowered, name, value in _SECURITY_HEADERS:
        if lowered not in present:
            headers.add(name, value)
    # Nearly every answer carries personal data or depends on who asks (customers' pages,
    # back-office and mailroom screens, scan images, API JSON): none may be kept by a browser
    # or a proxy. Only the site's own files, the same for everyone, may be.
    if request.endpoint not in _CACHEABLE_ENDPOINTS and "no-store" not in headers.get(
        "Cache-Control", ""
    ):
        headers["Cache-Control"] = "no-store"
    if request.is_secure and _HSTS[0] not in present:
        headers.add(_HSTS[1], _HSTS[2])
    return response
