"""Request-level access to the runtime, the locale and the client pseudonym."""

from __future__ import annotations

import hashlib

from flask import current_app, request, session

from forms_service.i18n import LOCALES
from forms_service.runtime import Runtime


def runtime() -> Runtime:
    """The runtime the app was built with."""
    built: Runtime = current_app.extensions["forms_service"]
    return built


def locale() -> str:
    """`?lang=` (remembered in the session), else Accept-Language, else French."""
    asked = request.args.get("lang")
    if asked in LOCALES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in LOCALES:
        return str(remembered)
    return browser_locale()


def browser_locale() -> str:
    """The browser's Accept-Language among LOCALES, else the configured default (French)."""
    best = request.accept_languages.best_match(LOCALES)
    return best or runtime().settings.default_locale


def client_pseudonym() -> str:
    """A keyed hash of the client address: groups events without storing the address."""
    secret = runtime().settings.secret_key.encode()
    address = (request.remote_addr or "").encode()
    return hashlib.blake2b(address, key=secret[:64], digest_size=12).hexdigest()
