"""The language of the back office and the mailroom: names of values, the switch's way back.

The language itself is the one selector's (`web.context.select_locale`): the signed-in
user's stored choice, else the one chosen on the sign-in page (kept in the session), else
the browser's Accept-Language, else French (`DEFAULT_LOCALE`), as on the customers' side.
The texts are gettext's (`_`, `ngettext`, `pgettext` in the templates); the formats are
`web.formatting`'s filters.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from flask import request
from flask_babel import gettext

from forms_service.core.i18n import pgettext
from forms_service.web.backoffice.names import NAMES
from forms_service.web.context import SESSION_KEY, locale
from forms_service.web.formatting import office_zone

__all__ = [
    "SESSION_KEY",
    "RecordedReason",
    "named",
    "office_locale",
    "office_zone",
    "own_path",
    "recorded",
    "recorded_reason",
    "template_context",
]


def office_locale() -> str:
    """The language of this request's back-office or mailroom screen."""
    return locale()


def named(prefix: str, value: object) -> str:
    """The name of a status, a channel, an event… in the screen's language (`prefix`, value).

    A value the catalogue does not name (an event kind added later) is shown as it is.
    """
    text = str(getattr(value, "value", value))
    name = _names_in(office_locale()).get((prefix, text))
    return name if name is not None else text.replace("_", " ")


@functools.cache
def _names_in(locale: str) -> dict[tuple[str, str], str]:
    # Translated once per language: a queue page names a status and a channel per row.
    return {
        (prefix, value): pgettext(context, message, locale)
        for prefix, names in NAMES.items()
        for value, (context, message) in names.items()
    }


@dataclass(frozen=True)
class RecordedReason:
    """A page's recorded reason as a screen shows it."""

    #: The reason in the screen's language, or as it was recorded (then in English).
    text: str
    #: The language `text` is in.
    lang: str
    #: An operator's own words when they rejected the page, shown as they typed them.
    words: str | None = None


#: Parameters of a recorded reason that are values with a name on the screens (`named`).
_NAMED_PARAMS: Final = {"channel": "channel"}


def recorded(detail: str) -> str:
    """A detail recorded in English (a page's reason): translated when it is a catalogue msgid.

    Any other (one with figures, an operator's own words) is returned as it was recorded.
    """
    return str(gettext(detail))


def recorded_reason(reason: str, detail: Mapping[str, Any] | None = None) -> RecordedReason:
    """A page's reason in the screen's language, from its recorded detail (msgid, figures).

    A page recorded before details were stored has only its English text: it is translated
    when it is a catalogue msgid (`recorded`), and otherwise shown as it was recorded, in
    English.
    """
    shown = office_locale()
    if not detail or not isinstance(detail.get("message"), str):
        text = recorded(reason)
        return RecordedReason(text, shown if text != reason else "en")
    message: str = detail["message"]
    params = {
        name: named(_NAMED_PARAMS[name], value) if name in _NAMED_PARAMS else value
        for name, value in (detail.get("params") or {}).items()
    }
    said = str(gettext(message))
    words = str(detail["rejected"]) if detail.get("rejected") else None
    try:
        text = said % params if params else said
    except (KeyError, TypeError, ValueError):
        # Figures that do not fit the message (a row recorded by another version): as recorded.
        return RecordedReason(reason, "en")
    return RecordedReason(text, shown if said != message else "en", words)


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


#: The details of a document's history event shown beside it (never personal data).
HISTORY_DETAILS = frozenset({"reason", "from", "to", "reminder", "status", "code", "text", "until"})


def template_context() -> dict[str, Any]:
    """What every back-office and mailroom template gets: the language, names, the way back."""
    return {
        "named": named,
        "history_details": HISTORY_DETAILS,
        "recorded": recorded,
        "recorded_reason": recorded_reason,
        "lang": office_locale(),
        "here": _here,
    }
