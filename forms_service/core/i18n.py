"""The service's languages and its gettext catalogues, for code that runs without Flask.

The texts live in gettext catalogues (forms_service/translations/<locale>/LC_MESSAGES/
messages.po, compiled to .mo by `make`): English source strings are the msgids, French is
the default language. The web layer reads them through Flask-Babel; the domain (field
checks, change sets, PDF returns) and the formatting functions read the same catalogues
here, with the locale passed in.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from babel import Locale
from babel.support import Translations

LOCALES: Final = ("fr", "en")
DEFAULT_LOCALE: Final = "fr"
#: Where the catalogues are (Flask-Babel reads the same directory).
TRANSLATIONS: Final = Path(__file__).resolve().parent.parent / "translations"
DOMAIN: Final = "messages"


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it (gettext's no-op marker)."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """Mark `message` in `context` for extraction (pgettext's no-op marker): both, as a pair."""
    return (context, message)


#: The message of each FieldValueError key (definitions/fieldtypes.py), as a msgid.
FIELD_MESSAGES: Final[Mapping[str, str]] = {
    "required": N_("This field is required."),
    "too_long": N_("At most %(max)s characters."),
    "too_short": N_("At least %(min)s characters."),
    "pattern": N_("Wrong format."),
    "invisible_characters": N_(
        "Invisible or control characters are not accepted: type the value again."
    ),
    "email": N_("Invalid e-mail address (example: name@example.com)."),
    "phone": N_("Invalid phone number (example: +33 6 12 34 56 78)."),
    "postcode_fr": N_("Invalid French postcode: 5 digits (example: 75011)."),
    "postcode": N_("Invalid postcode."),
    "postcode_country": N_("Not a postcode of %(country)s (example: %(example)s)."),
    "postcode_countries": N_("Not a postcode of any of these countries: %(countries)s."),
    "date": N_("Invalid date (DD/MM/YYYY)."),
    "date_min": N_("The date must be on or after %(min)s."),
    "date_max": N_("The date must be on or before %(max)s."),
    "iban": N_("Invalid IBAN: please check it (the checksum does not match)."),
    "iban_country": N_("IBAN from a country that is not accepted (%(country)s)."),
    "choice": N_("Not a valid choice."),
    "checkbox": N_("Invalid checkbox value."),
    "must_tick": N_("Tick this box to continue."),
    "signature": N_("Signature expected."),
    "invalid_characters": N_("Characters that are not allowed."),
    "unread": N_("Written but not readable: type the value shown in the scan."),
}


def known_locale(locale: str) -> str:
    """`locale` when the service speaks it, else the default (French)."""
    return locale if locale in LOCALES else DEFAULT_LOCALE


@functools.cache
def catalogue(locale: str) -> Translations:
    """The compiled catalogue of `locale` (French when unknown).

    Raises:
        RuntimeError: the catalogue is not compiled (`make` compiles it when installing).
    """
    loaded = Translations.load(str(TRANSLATIONS), [known_locale(locale)], DOMAIN)
    if not isinstance(loaded, Translations):
        raise RuntimeError(f"no compiled catalogue for {locale!r} in {TRANSLATIONS}: run make")
    return loaded


def gettext(message: str, locale: str, /, **params: object) -> str:
    """`message` (a msgid) in `locale`, `%(name)s` parameters filled from `params`."""
    text = catalogue(locale).ugettext(message)
    return text % params if params else text


def pgettext(context: str, message: str, locale: str, /) -> str:
    """`message` (a msgid) in `context`, in `locale`."""
    return str(catalogue(locale).upgettext(context, message))


class CountryCodes(str):
    """Country codes ("BE" or "BE,CH") that a message shows by their names in its locale."""

    __slots__ = ()

    def names(self, locale: str) -> str:
        """The countries' names in `locale` (CLDR, through Babel), joined by commas."""
        territories = Locale.parse(known_locale(locale)).territories
        return ", ".join(territories.get(code, code) for code in self.split(",") if code)


def field_message(key: str, locale: str, /, **params: object) -> str:
    """The message of a FieldValueError `key` in `locale`; an unknown key is returned as is.

    A `CountryCodes` parameter is shown as the countries' names in `locale`.
    """
    message = FIELD_MESSAGES.get(key)
    if not message:
        return key
    shown = {
        name: value.names(locale) if isinstance(value, CountryCodes) else value
        for name, value in params.items()
    }
    return gettext(message, locale, **shown)


def pick(texts: Mapping[str, str], locale: str) -> str:
    """Return the text of a {locale: text} mapping, falling back to French then anything.

    For the texts a form definition or a campaign writes in its own YAML, per language.
    """
    return texts.get(locale) or texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")
