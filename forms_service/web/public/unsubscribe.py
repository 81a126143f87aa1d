"""The unsubscribe page of a message (RFC 8058): a confirmation page, and the one-click POST.

GET shows what would be withdrawn and a button, and changes nothing (mail scanners open
links). POST withdraws: from the page's button, or from the mail client's one-click
(`List-Unsubscribe=One-Click`, no cookie and no CSRF token: the signed token is the proof).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from forms_service.consent.ledger import Wording
from forms_service.web.context import locale, runtime
from forms_service.web.extensions import limiter

blueprint = Blueprint("public_unsubscribe", __name__)

_PURPOSES = {
    "commercial": lazy_gettext("offers and news"),
    "regulatory": lazy_gettext("regulatory information"),
}
_CHANNELS = {
    "email": lazy_gettext("by e-mail"),
    "sms": lazy_gettext("by text message"),
    "letter": lazy_gettext("by post"),
}


def _link_limit() -> str:
    return runtime().settings.ratelimit_link


def _question(purpose: str, channel: str) -> str:
    organisation = runtime().organisation.name_in(locale())
    return str(
        gettext(
            "Stop receiving %(what)s from %(organisation)s %(channel)s?",
            what=_PURPOSES[purpose],
            organisation=organisation,
            channel=_CHANNELS[channel],
        )
    )


@blueprint.get("/u/<token>")
@limiter.limit(_link_limit)
def unsubscribe_page(token: str) -> ResponseReturnValue:
    """What the link withdraws, and the button that does it."""
    target = runtime().consent.unsubscribe_target(token)
    return render_template(
        "public/unsubscribe.html",
        token=token,
        question=_question(target.purpose, target.channel),
        already=target.already,
        done=False,
    )


@blueprint.post("/u/<token>")
@limiter.limit(_link_limit)
def unsubscribe(token: str) -> ResponseReturnValue:
    """Withdraw the consent the link names (a second time changes nothing)."""
    consent = runtime().consent
    target = consent.unsubscribe_target(token)
    from_page = request.form.get("from_page") == "1"
    if from_page:
        text = _question(target.purpose, target.channel)
    else:
        text = gettext(
            "One-click unsubscribe (the e-mail's List-Unsubscribe link): %(question)s",
            question=_question(target.purpose, target.channel),
        )
    consent.unsubscribe(token, Wording(text, locale()), one_click=not from_page)
    return render_template(
        "public/unsubscribe.html",
        token=token,
        question=_question(target.purpose, target.channel),
        already=True,
        done=True,
    )
