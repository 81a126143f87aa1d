"""Providers' webhooks: Kannel's delivery reports and the MTA's bounces (authenticated).

Both are exempt from CSRF (no browser posts them) but authenticated: the DLR URL carries an
HMAC of the message id made with FORMS_DELIVERY_HOOK_SECRET (Kannel calls it back as given),
the bounce pipe presents the same secret as a bearer token. Forged input gets 403 and changes
nothing; both are rate-limited per client.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, request

from forms_service.delivery.interfaces import ForgedReport
from forms_service.delivery.reports import (
    UnreadableReport,
    dlr_secret,
    parse_bounce,
    parse_kannel_dlr,
)
from forms_service.web.context import runtime
from forms_service.web.extensions import limiter

blueprint = Blueprint("hooks", __name__, url_prefix="/hooks")

#: A bounce bigger than this is not read (a DSN quotes headers, not whole messages).
MAX_BOUNCE_BYTES = 1024 * 1024


def _hook_limit() -> str:
    return runtime().settings.ratelimit_hooks


def _text(body: str, status: int) -> Response:
    return Response(body + "\n", status=status, mimetype="text/plain")


@blueprint.route("/kannel/dlr", methods=["GET", "POST"])
@limiter.limit(_hook_limit)
def kannel_dlr() -> Response:
    """Kannel's dlr-url: the signed message id and the DLR type."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    # The key the Kannel provider signed the dlr-url with (KANNEL_DLR_SECRET).
    secret = dlr_secret(runtime().settings)
    try:
        report = parse_kannel_dlr(params, secret)
        runtime().delivery.record_report(report)
    except ForgedReport:
        return _text("forged", 403)
    except UnreadableReport:
        return _text("unreadable", 400)
    return _text("ok", 200)


@blueprint.route("/bounces", methods=["POST"])
@limiter.limit(_hook_limit)
def bounces() -> Response:
    """The MTA's pipe posts each message that reached the bounce address, raw."""
    secret = runtime().settings.delivery_hook_secret
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (
        not secret
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), secret.encode())
    ):
        return _text("forbidden", 403)
    if (request.content_length or 0) > MAX_BOUNCE_BYTES:
        return _text("too large", 413)
    report = parse_bounce(request.get_data(cache=False)[:MAX_BOUNCE_BYTES])
    if report is None:
        return _text("not a bounce of ours", 202)
    try:
        runtime().delivery.record_report(report)
    except ForgedReport:
        return _text("forged", 403)
    return _text("ok", 200)
