"""Flask extensions, created unbound and attached by the app factory."""

from __future__ import annotations

import logging

from flask import Flask, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from limits.errors import ConfigurationError

from forms_service.core.i18n import DEFAULT_LOCALE, TRANSLATIONS
from forms_service.web.context import client_pseudonym, other_language, select_locale
from forms_service.web.formatting import register_filters


class SignInManager(LoginManager):
    """Flask-Login, whose templates get `current_user` as its lazy proxy.

    Templates get `current_user` as Flask-Login's proxy instead of the user its context
    processor loads before every render: the back office and mailroom layouts load it as soon
    as they read it, the public pages, which never read it, no longer pay for loading nobody.
    Flask-Login's session protection is off (web/backoffice/auth.py): a session is bound to
    its browser by its server-side record, and a customer's session, which holds no
    Flask-Login key, is never rewritten by it.
    """

    def init_app(self, app: Flask, add_context_processor: bool = True) -> None:
        """Attach to `app`; `current_user` in templates is the lazy proxy (see the class)."""
        super().init_app(app, add_context_processor=False)
        if add_context_processor:
            app.context_processor(lambda: {"current_user": current_user})


class PseudonymousAddresses(logging.Filter):
    """Replace the client's address in a log record by its keyed hash (`client_pseudonym`).

    Flask-Limiter's "ratelimit … exceeded" line names the limit's key, the client address:
    the service's logs carry no address, only the pseudonym its security events use.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        address = request.remote_addr if has_request_context() else None
        if not address:
            return True
        message = record.getMessage()
        if address in message:
            record.msg, record.args = message.replace(address, client_pseudonym()), None
        return True


class ViewLimiter(Limiter):
    """Flask-Limiter for limits declared on views, without its pass before every request.

    Flask-Limiter checks every request in a `before_request` hook for default, application
    and meta limits, then each limited view again in its decorator. This service declares
    every limit on its view (link opening, identity answers, uploads, sign-in), so that pass
    never had anything to count, yet walked Flask-Limiter's bookkeeping on every request. It
    is removed, and an app configured with limits that only that pass applies (default,
    application, meta, blueprint or in-memory fallback limits) is refused: they would go
    unchecked. The in-memory fallback itself (Redis unreachable) is the decorators' own.
    """

    def init_app(self, app: Flask) -> None:
        """Attach to `app`, then drop the per-request pass (see the class)."""
        super().init_app(app)
        if not any(isinstance(f, PseudonymousAddresses) for f in self.logger.filters):
            self.logger.addFilter(PseudonymousAddresses())
        if not self.enabled:
            return
        manager = self.limit_manager
        global_limits = (
            manager._default_limits,
            manager._application_limits,
            manager._blueprint_limits,
            self._meta_limits,
            self._in_memory_fallback,
        )
        if any(global_limits):
            raise ConfigurationError(
                "only limits on views are checked: default, application, meta, blueprint and "
                "fallback limits (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION, RATELIMIT_META, "
                "RATELIMIT_IN_MEMORY_FALLBACK) are not supported"
            )
        app.before_request_funcs[None].remove(self._check_request_limit)


def init_babel(
    app: Flask, default_locale: str = DEFAULT_LOCALE, office_timezone: str = "Europe/Paris"
) -> None:
    """Flask-Babel on the service's catalogues, with its one locale selector.

    Templates get `_`, `gettext`, `ngettext`, `pgettext` (Flask-Babel's Jinja setup); the
    language is `web.context.select_locale`'s, else `default_locale` (FORMS_DEFAULT_LOCALE).
    """
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_locale=default_locale,
        default_translation_directories=str(TRANSLATIONS),
    )
    register_filters(app, office_timezone)
    app.jinja_env.globals["other_language"] = other_language


babel = Babel()
csrf = CSRFProtect()
#: Limits count per client under its keyed pseudonym: the storage (Redis) holds no address.
limiter = ViewLimiter(key_func=client_pseudonym, default_limits=[])
login_manager = SignInManager()
