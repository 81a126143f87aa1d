"""The field-type registry: each type is defined once, every channel derives from it.

A type knows how to turn raw input (typed, PDF field, OCR text, source value) into one
canonical string, how to check it against the field's rules, how to compare two values,
how to show a value to a person, and what the online, API, PDF and OCR channels need.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


class FieldValueError(ValueError):
    """A value that a field type refuses; `key` names the message in forms_service.i18n."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class WidgetKind(StrEnum):
    """How an answer box looks on paper and in a fillable PDF."""

    TEXT = "text"
    COMB = "comb"
    CHECKBOX = "checkbox"
    CHOICES = "choices"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class Rules:
    """The per-field rules a definition can set (checked when definitions load)."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    country: str | None = None
    countries: tuple[str, ...] = ()
    region: str = "FR"
    min_date: str | None = None
    max_date: str | None = None
    must_tick: bool = False

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Rules:
        """Build rules from the YAML mapping; unknown keys raise KeyError naming the key."""
        known = {f for f in cls.__dataclass_fields__}
        for key in raw:
            if key not in known:
                raise KeyError(key)
        values = dict(raw)
        if "countries" in values:
            values["countries"] = tuple(str(c).upper() for c in values["countries"])
        for key in ("min_date", "max_date"):
            if key in values and values[key] is not None:
                values[key] = str(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: the stored value and its labels per locale."""

    value: str
    labels: Mapping[str, str]


_SPACES = re.compile(r"\s+")


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


#: Unicode categories no answer needs: controls (ESC, DEL…), format characters (bidi
#: overrides that make "gnp.exe" read "exe.png" to a clerk, zero-width spaces that make two
#: values look alike), private use and lone surrogates (which no database can store).
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs"})


def _has_invisible(text: str) -> bool:
    return any(unicodedata.category(character) in _INVISIBLE for character in text)


def _ascii_forms(text: str) -> str:
    """Compatibility forms folded (NFKC): full-width "６９００３" from a phone keyboard is 69003."""
    return unicodedata.normalize("NFKC", text)


class FieldType:
    """Base of all field types. Subclasses override what differs.

    Canonical values are strings (or None for "no value"); `parse` accepts whatever a channel
    or a source system hands over and returns the canonical string, raising FieldValueError.
    """

    name: ClassVar[str]
    widget: ClassVar[WidgetKind] = WidgetKind.TEXT
    #: Characters the OCR engine may return for this type (None = any printable).
    ocr_charset: ClassVar[str | None] = None
    #: Attributes added to the HTML input (inputmode, autocomplete, type).
    html_attributes: ClassVar[Mapping[str, str]] = {}
    #: Whether a source column can hold it (signatures never go back to a source).
    writable: ClassVar[bool] = True

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        """Turn raw input into the canonical string, None when empty."""
        if raw is None:
            return None
        text = _collapse(str(raw))
        if not text:
            return None
        if _has_invisible(text):
            raise FieldValueError("invisible_characters")
        value = self.normalise(text, rules, choices)
        self.check(value, rules, choices)
        return value

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        """Put non-empty, whitespace-collapsed text into canonical form."""
        return text

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        """Check a canonical value against the field's rules."""
        if rules.max_length is not None and len(value) > rules.max_length:
            raise FieldValueError("too_long", max=rules.max_length)
        if rules.min_length is not None and len(value) < rules.min_length:
            raise FieldValueError("too_short", min=rules.min_length)
        if rules.pattern is not None and not re.fullmatch(rules.pattern, value):
            raise FieldValueError("pattern")

    def comparison_key(self, value: str | None) -> str | None:
        """What two values must share to count as the same answer."""
        return value

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        """Show a canonical value to a person."""
        return value or ""

    def to_source(self, value: str | None) -> object:
        """The Python value a source system stores for a canonical value."""
        return value

    def comb_cells(self, rules: Rules) -> int | None:
        """Number of comb cells on paper, None for a plain box."""
        return None

    def is_shown(self, raw: object, shown: str | None, choices: Sequence[Choice]) -> bool:
        """Whether `raw` is the stored value `shown`, sent back as stored or as displayed."""
        if shown is None or not isinstance(raw, str):
            return False
        typed = _collapse(raw)
        return typed in (_collapse(shown), _collapse(self.display(shown, "fr", choices)))


class TextType(FieldType):
    """Free text: whitespace collapsed, accents kept, compared without case."""

    name = "text"
    #: Paper forms ask for capitals: a narrow set spares stray ':' and '|' from box edges.
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ0123456789 -'/,."
    html_attributes = {"autocomplete": "on"}

    def comparison_key(self, value: str | None) -> str | None:
        return None if value is None else value.casefold()


class EmailType(FieldType):
    """An e-mail address, lower-cased."""

    name = "email"
    widget = WidgetKind.TEXT
    ocr_charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_+"
    html_attributes = {"type": "email", "inputmode": "email", "autocomplete": "email"}
    _SYNTAX = re.compile(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
        r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    )

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = text.replace(" ", "").lower()
        if len(value) > 254 or not self._SYNTAX.fullmatch(value):
            raise FieldValueError("email")
        return value


class PhoneType(FieldType):
    """A phone number in E.164 (+33612345678), read in the field's region."""

    name = "phone"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789+"
    html_attributes = {"type": "tel", "inputmode": "tel", "autocomplete": "tel"}

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        try:
            number = phonenumbers.parse(text, rules.region)
        except phonenumbers.NumberParseException as exc:
            raise FieldValueError("phone") from exc
        if not phonenumbers.is_valid_number(number):
            raise FieldValueError("phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value  # a source value the type refuses is shown as it is, never a crash
        fmt = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if number.country_code == 33
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(number, fmt)

    def comb_cells(self, rules: Rules) -> int | None:
        return 10 if rules.region == "FR" else 15


class PostcodeType(FieldType):
    """A postcode: French (5 digits, existing département) or generic."""

    name = "postcode"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    html_attributes = {"inputmode": "numeric", "autocomplete": "postal-code"}
    _GENERIC = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,9}")

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = _ascii_forms(text).upper()
        if (rules.country or "FR") == "FR":
            value = value.replace(" ", "")
            # ASCII digits only: \d also matches "٦٩٠٠٣", which no source system expects.
            if not re.fullmatch(r"[0-9]{5}", value) or not _french_department_exists(value):
                raise FieldValueError("postcode_fr")
            return value
        if not self._GENERIC.fullmatch(value):
            raise FieldValueError("postcode")
        return value

    def comb_cells(self, rules: Rules) -> int | None:
        return 5 if (rules.country or "FR") == "FR" else 10


def _french_department_exists(code: str) -> bool:
    prefix = int(code[:2])
    if prefix == 0:
        return False
    if prefix == 97:  # 971-976: Guadeloupe … Mayotte, 975 Saint-Pierre-et-Miquelon
        return code[2] in "123456"
    if prefix == 98:
        return code[2] in "046789"
    return prefix <= 95


class DateType(FieldType):
    """A calendar date, canonical ISO 8601 (YYYY-MM-DD), typed the French way or ISO."""

    name = "date"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    # A text box, not <input type="date">: pickers are slow for memorable dates such as a
    # birth date, read inconsistently by screen readers, and ignore typing in some browsers.
    html_attributes = {"inputmode": "numeric"}
    _FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%d%m%Y")

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            value = raw.isoformat()
            self.check(value, rules, choices)
            return value
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        text = _ascii_forms(text)
        if not text.isascii():
            raise FieldValueError("date")
        for fmt in self._FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise FieldValueError("date")

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        day = dt.date.fromisoformat(value)
        if rules.min_date and day < _resolve_date(rules.min_date):
            raise FieldValueError("date_min", min=_french(_resolve_date(rules.min_date)))
        if rules.max_date and day > _resolve_date(rules.max_date):
            raise FieldValueError("date_max", max=_french(_resolve_date(rules.max_date)))

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        try:
            return _french(dt.date.fromisoformat(value))
        except ValueError:
            return value  # a source value the type refuses is shown as it is

    def to_source(self, value: str | None) -> object:
        return dt.date.fromisoformat(value) if value else None

    def comb_cells(self, rules: Rules) -> int | None:
        return 8


def _resolve_date(spec: str) -> dt.date:
    """`today`, `today-18y`, `today+30d` or an ISO date."""
    match = re.fullmatch(r"today(?:([+-])(\d+)([dy]))?", spec)
    if not match:
        return dt.date.fromisoformat(spec)
    today = dt.date.today()
    if not match.group(1):
        return today
    amount = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
    if match.group(3) == "d":
        return today + dt.timedelta(days=amount)
    try:
        return today.replace(year=today.year + amount)
    except ValueError:  # 29 February
        return today.replace(year=today.year + amount, day=28)


def _french(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def check_date_spec(spec: str) -> None:
    """Raise ValueError when a min_date/max_date rule cannot be read."""
    _resolve_date(spec)


class IbanType(FieldType):
    """An IBAN, canonical without spaces, checksum verified."""

    name = "iban"
    widget = WidgetKind.COMB
    ocr_charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    html_attributes = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        compact = re.sub(r"[\s.-]", "", _ascii_forms(text)).upper()
        try:
            iban = IBAN(compact)
        except SchwiftyException as exc:
            raise FieldValueError("iban") from exc
        if rules.countries and iban.country_code not in rules.countries:
            raise FieldValueError("iban_country", country=iban.country_code)
        return str(iban.compact)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value:
            return ""
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))

    def comb_cells(self, rules: Rules) -> int | None:
        return 27 if not rules.countries or rules.countries == ("FR",) else 34


class SingleChoiceType(FieldType):
    """One option among the field's choices (radio buttons online, squares on paper)."""

    name = "choice"
    widget = WidgetKind.CHOICES

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        for choice in choices:
            if text == choice.value or text.casefold() == choice.value.casefold():
                return choice.value
        raise FieldValueError("choice")

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        for choice in choices:
            if choice.value == value:
                return choice.labels.get(locale) or next(iter(choice.labels.values()))
        return value or ""


class MultipleChoiceType(FieldType):
    """Several options; canonical form lists them comma-separated in the definition's order."""

    name = "multiple_choice"
    widget = WidgetKind.CHOICES

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, list | tuple | set | frozenset):
            raw = ",".join(str(item) for item in raw)
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        picked = {part.strip().casefold() for part in text.split(",") if part.strip()}
        known = {choice.value.casefold() for choice in choices}
        if not picked <= known:
            raise FieldValueError("choice")
        return ",".join(c.value for c in choices if c.value.casefold() in picked)

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        single = SingleChoiceType()
        return ", ".join(single.display(v, locale, choices) for v in (value or "").split(",") if v)


_TRUE = frozenset({"true", "1", "yes", "oui", "on", "y", "x", "t"})
_FALSE = frozenset({"false", "0", "no", "non", "off", "n", "f"})


class CheckboxType(FieldType):
    """A yes/no box (a consent, say); canonical "true" or "false"."""

    name = "checkbox"
    widget = WidgetKind.CHECKBOX

    def parse(self, raw: object, rules: Rules, choices: Sequence[Choice]) -> str | None:
        if isinstance(raw, (bool, int)):
            raw = "true" if raw else "false"
        return super().parse(raw, rules, choices)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        lowered = text.casefold().lstrip("/")
        if lowered in _TRUE:
            return "true"
        if lowered in _FALSE:
            return "false"
        raise FieldValueError("checkbox")

    def check(self, value: str, rules: Rules, choices: Sequence[Choice]) -> None:
        if rules.must_tick and value != "true":
            raise FieldValueError("must_tick")

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if value is None:
            return ""
        yes_no = {"fr": ("Oui", "Non"), "en": ("Yes", "No")}.get(locale, ("Oui", "Non"))
        return yes_no[0] if value == "true" else yes_no[1]

    def to_source(self, value: str | None) -> object:
        return None if value is None else value == "true"


class SignatureType(FieldType):
    """A signature box: present or not. Never written to a source system."""

    name = "signature"
    widget = WidgetKind.SIGNATURE
    writable = False

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        if text.casefold() in _TRUE or text == "signed":
            return "signed"
        raise FieldValueError("signature")


FIELD_TYPES: Mapping[str, FieldType] = {
    t.name: t
    for t in (
        TextType(),
        EmailType(),
        PhoneType(),
        PostcodeType(),
        DateType(),
        IbanType(),
        SingleChoiceType(),
        MultipleChoiceType(),
        CheckboxType(),
        SignatureType(),
    )
}

#: Types whose definition must list choices.
CHOICE_TYPES = frozenset({"choice", "multiple_choice"})

Parser = Callable[[object], str | None]
