"""The way in from the letter without a camera: the access code typed at `host/r` (or the bare host).

The page takes the code and sends its customer on (303) to the document's signed link, whose
pages come next (the identity question first where the form has one): the code alone shows
nothing personal. A mistyped code is refused before any lookup (issuing/accesscodes.py); a
well-typed one costs one lookup, under a per-client limit and a cap on all clients
together, shared with the short links. A broken long link (cut by an e-mail client, or
lower-cased) gets a page that says what happened and offers the same code entry.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from wtforms import StringField

from forms_service.core.errors import FormsError
from forms_service.core.i18n import field_message
from forms_service.delivery.shortlinks import UnknownAccessCode
from forms_service.issuing.accesscodes import MistypedAccessCode
from forms_service.issuing.tokens import LinkDamage, damage_of
from forms_service.storage.service import reading
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.public.forms import PublicForm

blueprint = Blueprint("public_entry", __name__)

#: What the entry page says of a code it refuses, by the refusal's code.
_REFUSALS = {
    "access_code_length": lazy_gettext(
        "An access code has 15 characters: check that you typed all of it."
    ),
    "access_code_character": lazy_gettext(
        "This code has a character access codes never use: there is no 0, O, 1, I or L in "
        "them. Check it against your letter."
    ),
    "access_code_mistyped": lazy_gettext(
        "This code has a typo: check each character against your letter."
    ),
    "access_code_unknown": lazy_gettext(
        "No form has this code. Check it against your letter; if it still does not work, "
        "contact us."
    ),
}


def _entry_limit() -> str:
    return runtime().settings.ratelimit_access_code


def _short_link_global_limit() -> str:
    return runtime().settings.ratelimit_short_link_global


def _everyone() -> str:
    """One rate-limit key for all clients: the global cap shared with the short links."""
    return "all-clients"


class AccessCodeForm(PublicForm):
    """The access code field (checked by the domain, not by WTForms)."""

    code = StringField(lazy_gettext("Access code"))


@blueprint.route("/", methods=["GET"])
@blueprint.route("/r", methods=["GET"])
@blueprint.route("/r/", methods=["GET"])
def entry() -> ResponseReturnValue:
    """The entry page: type the access code printed on the letter."""
    return render_entry(AccessCodeForm())


@blueprint.route("/r", methods=["POST"])
@limiter.limit(_short_link_global_limit, key_func=_everyone, scope="short-links-all")
@limiter.limit(_entry_limit)
def enter() -> ResponseReturnValue:
    """Check the typed code; on to the document's signed link, or the page again with why."""
    web_form = AccessCodeForm()
    if not web_form.validate():
        return render_entry(web_form), 400  # no CSRF token: nothing looked up
    typed = web_form.code.data or ""
    if not typed.strip():
        web_form.code.errors = [field_message("required", locale())]
        return render_entry(web_form), 422
    services = runtime()
    try:
        with reading(services.sessions) as session:
            target = services.short_links.access_target(session, typed, services.clock())
    except (MistypedAccessCode, UnknownAccessCode) as refused:
        if isinstance(refused, UnknownAccessCode):
            # A pseudonymous client only: the code typed is never stored nor logged.
            services.intake.security_event("access_code_unknown", client=client_pseudonym())
        web_form.code.errors = [str(_REFUSALS.get(refused.code, _REFUSALS["access_code_mistyped"]))]
        return render_entry(web_form), 422
    except FormsError as refused:
        services.intake.security_event(f"access_code_{refused.code}", client=client_pseudonym())
        raise
    token = services.signer.sign(target.document_id, target.expires_at)
    response = redirect(url_for("public.form", token=token), code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def render_entry(
    web_form: Any, *, damage: LinkDamage | None = None, message: str | None = None
) -> str:
    """The entry page; above the code field, what happened to a broken link, if one."""
    return render_template(
        "public/entry.html",
        form=web_form,
        damage=damage.value if damage else None,
        message=message,
        lang=locale(),
    )


def broken_link_page(token: str) -> str:
    """The page of a long link that does not verify: what happened, and the code entry."""
    damage = damage_of(token)
    words = {
        LinkDamage.TRUNCATED: gettext(
            "This link is incomplete: your e-mail program may have cut it. Open the link "
            "from your e-mail again, or copy all of it, to the very end."
        ),
        LinkDamage.LOWERCASED: gettext(
            "This link was changed to lower case, but links tell capital letters from small "
            "ones. Open the link from your e-mail again, or copy it exactly as it is written."
        ),
        LinkDamage.ALTERED: gettext(
            "This link is incomplete or has been altered. Check that you copied all of it."
        ),
    }
    return render_entry(AccessCodeForm(), damage=damage, message=words[damage])
