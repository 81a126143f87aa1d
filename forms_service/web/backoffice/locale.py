"""The language and formats of the back office and the mailroom: choice, messages, filters.

The language is the signed-in user's stored choice, else the one chosen on the sign-in page
(kept in the session), else the browser's Accept-Language, else French (`DEFAULT_LOCALE`),
as on the customers' side.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, g, request, session
from flask_login import current_user

from forms_service.i18n import LOCALES, office_text
from forms_service.office_messages import OFFICE
from forms_service.web.context import browser_locale, runtime
from forms_service.web.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
)

#: Where the sign-in page's choice is kept until the user signs in.
SESSION_KEY = "office_lang"


def office_locale() -> str:
    """The language of this request's back-office or mailroom screen (once per request)."""
    chosen = g.get("office_locale")
    if chosen is None:
        chosen = g.office_locale = _choose()
    return str(chosen)


def _choose() -> str:
    stored = getattr(current_user, "locale", None) if current_user else None
    if stored in LOCALES:
        return str(stored)
    remembered = session.get(SESSION_KEY)
    if remembered in LOCALES:
        return str(remembered)
    return browser_locale()


def t(key: str, /, **params: object) -> str:
    """Message `key` in the screen's language."""
    return office_text(key, office_locale(), **params)


def named(prefix: str, value: object) -> str:
    """The name of a status, a channel, an event… in the screen's language (`prefix.value`).

    A value the catalogue does not name (an event kind added later) is shown as it is.
    """
    text = str(getattr(value, "value", value))
    key = f"{prefix}.{text}"
    return t(key) if key in OFFICE else text.replace("_", " ")


def _here() -> str:
    """The address of the page shown, for the language switch to come back to.

    Its query string is kept (filters, paging) except a `next` that is not a path of these
    screens: the sign-in page's `next` is echoed only when it is one (never another site).
    """
    kept = [
        (name, value)
        for name, value in request.args.items(multi=True)
        if name != "next" or own_path(value)
    ]
    return f"{request.path}?{urlencode(kept)}" if kept else request.path


def own_path(target: str) -> bool:
    """Whether `target` is a path of the back-office or mailroom screens of this site.

    Never another site (no scheme, host, `//` or backslash) and nothing a Location header
    could not carry (control characters, spaces): the sign-in's `next` and the language
    switch's way back are only ever such a path.
    """
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(("/backoffice/", "/mailroom/")):
        return False
    if "\\" in target or target.startswith("//"):
        return False
    return target.isprintable() and " " not in target


def template_context() -> dict[str, Any]:
    """What every back-office and mailroom template gets: the language and its messages."""
    translate: Callable[..., str] = t
    return {"t": translate, "named": named, "lang": office_locale(), "here": _here}


def office_zone() -> ZoneInfo:
    """The back office's time zone (`BACKOFFICE_TIMEZONE`): its days and its clocks."""
    return _zone(runtime().settings.backoffice_timezone)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _moment(value: dt.datetime) -> str:
    return format_datetime(value, office_locale(), office_zone())


def _day(value: dt.date) -> str:
    return format_date(value, office_locale())


def _number(value: float, decimals: int = 0) -> str:
    return format_number(value, office_locale(), decimals)


def _percent(value: float) -> str:
    return format_percent(value, office_locale())


def _duration(value: dt.timedelta) -> str:
    return format_duration(value, office_locale())


def init_formatting(app: Flask) -> None:
    """Template filters that format in the office's language and time zone."""
    app.add_template_filter(_moment, "moment")
    app.add_template_filter(_day, "day")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(_duration, "duration")
