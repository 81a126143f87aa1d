"""The gettext catalogues as the tests read them: every message in French and English."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from forms_service.core.i18n import LOCALES, TRANSLATIONS

#: A message: its context (None for most) and its msgid (the English source text).
Key = tuple[str | None, str]


def po_path(locale: str) -> Path:
    """The .po file of `locale`."""
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalogue(locale: str) -> Catalog:
    """The .po catalogue of `locale`, as Babel reads it."""
    with po_path(locale).open("rb") as source:
        return read_po(source, locale=locale)


def _braced(text: str) -> str:
    # "%(name)s" as "{name}", the way the screens' tests cut a message around its parameters.
    return re.sub(r"%\((\w+)\)[sd]", r"{\1}", text).replace("%%", "%")


@functools.cache
def messages() -> dict[Key, dict[str, str]]:
    """Every message: {(context, msgid): {locale: text}}; a plural's two forms apart.

    A plural message is two entries: its singular msgid with the first form, its plural
    msgid with the last (French has a third, for millions, written as the plural).
    """
    found: dict[Key, dict[str, str]] = {}
    for locale in LOCALES:
        for message in read_catalogue(locale):
            if not message.id:
                continue
            if isinstance(message.id, str):
                pairs = [(message.id, str(message.string))]
            else:
                forms = tuple(message.string or ())
                pairs = [(message.id[0], forms[0]), (message.id[1], forms[-1])]
            for msgid, string in pairs:
                found.setdefault((message.context, msgid), {})[locale] = _braced(string)
    return found


def translated(msgid: str, locale: str, context: str | None = None) -> str:
    """The text of one message in `locale`."""
    return messages()[(context, msgid)][locale]
