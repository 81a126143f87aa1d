"""Request-level access to the runtime, the locale and the client pseudonym."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from babel import Locale
from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user

from forms_service.core.i18n import DEFAULT_LOCALE, LOCALES
from forms_service.runtime import Runtime

#: Where a language chosen on a page (`?lang=`, the back office's switch) is remembered.
SESSION_KEY = "lang"
#: The screens of signed-in users, whose account stores their language.
_SIGNED_IN_SCREENS = ("/backoffice/", "/mailroom/")


def runtime() -> Runtime:
    """The runtime the app was built with."""
    built: Runtime = current_app.extensions["forms_service"]
    return built


def select_locale() -> str | None:
    """The language of this request: Flask-Babel's one locale selector, for every page.

    The signed-in back-office or mailroom user's stored choice, else `?lang=` (remembered in
    the session), else the choice remembered in the session (a customer's `?lang=`, the
    sign-in page's switch), else the browser's Accept-Language, else `DEFAULT_LOCALE`
    (French). The user is only looked at on their screens: the customers' pages never load
    one.
    """
    if request.path.startswith(_SIGNED_IN_SCREENS):
        stored = getattr(current_user, "locale", None)
        if stored in LOCALES:
            return str(stored)
    asked = request.args.get("lang")
    if asked in LOCALES:
        session[SESSION_KEY] = asked
        return asked
    remembered = session.get(SESSION_KEY)
    if remembered in LOCALES:
        return str(remembered)
    best: str | None = request.accept_languages.best_match(LOCALES)
    return best


def locale() -> str:
    """The language of this request (see `select_locale`), as a code: "fr" or "en"."""
    chosen = get_locale()
    return chosen.language if chosen is not None else DEFAULT_LOCALE


@dataclass(frozen=True)
class OtherLanguage:
    """The language a page's switch offers: its code and its names (from CLDR)."""

    code: str
    #: In itself, as the switch shows it: "English" on a French page, "Français" on an English one.
    own_name: str
    #: In the page's language, for the switch's label: "anglais", "French".
    name_here: str


def other_language() -> OtherLanguage:
    """The language the switch of this page offers (the service speaks two)."""
    return _other_than(locale())


@functools.cache
def _other_than(here: str) -> OtherLanguage:
    other = next(code for code in LOCALES if code != here)
    own = Locale.parse(other).get_display_name(other) or other
    return OtherLanguage(
        other, own[:1].upper() + own[1:], Locale.parse(other).get_display_name(here) or other
    )


def client_pseudonym() -> str:
    """A keyed hash of the client address: groups events without storing the address."""
    secret = runtime().settings.secret_key.encode()
    address = (request.remote_addr or "").encode()
    return hashlib.blake2b(address, key=secret[:64], digest_size=12).hexdigest()


def agent_digest() -> str:
    """A keyed digest of the browser's User-Agent: what a back-office session is bound to."""
    secret = runtime().settings.secret_key.encode()
    agent = (request.user_agent.string or "").encode()
    return hashlib.blake2b(agent, key=secret[:64], digest_size=16, person=b"user-agent").hexdigest()
