"""Postcodes: French (an existing département) or another country's; a city confirms a French one.

A field takes French postcodes by default, another country's with `rules: {country: BE}`
(that country's format, country_postcodes.py), or those of several with
`rules: {countries: [FR, BE]}`: then a postcode of any of them, or of the one chosen in the
form's `country_field` when the answer says which (the online form).
"""

from __future__ import annotations

import csv
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path

from forms_service.core.i18n import CountryCodes
from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    ascii_forms,
)
from forms_service.definitions.fieldtypes.country_postcodes import (
    PostcodeFormat,
    UnknownCountry,
    postcode_format,
)
from ocr.interfaces import PairVerdict

#: A postcode of a country the address data does not describe.
_GENERIC = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,9}")
#: French postcodes and their main locality (provenance and licence: fr_postcodes.md).
POSTCODES_CSV = Path(__file__).with_name("fr_postcodes.csv")


class PostcodeType(FieldType):
    """A postcode: French (5 digits, existing département) or of the countries the rules name."""

    name = "postcode"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    html_attributes = {"inputmode": "numeric", "autocomplete": "postal-code"}
    paper_checked = True
    failed_check = "postcode_city_mismatch"
    confirmable = True
    name_hint = re.compile(r"postcode|postal|zip|\bcp\b|code_postal", re.I)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = ascii_forms(text).upper()
        allowed = _allowed(rules)
        for country in allowed:
            found = _in_country(value, country)
            if found is not None:
                return found
        if allowed == ("FR",):
            raise FieldValueError("postcode_fr")
        if len(allowed) == 1:
            known = _format(allowed[0])
            if known is None:
                raise FieldValueError("postcode")
            raise FieldValueError(
                "postcode_country", country=CountryCodes(allowed[0]), example=known.example
            )
        raise FieldValueError("postcode_countries", countries=CountryCodes(",".join(allowed)))

    def comb_cells(self, rules: Rules) -> int | None:
        """Enough cells for the longest postcode of the countries the field takes."""
        return max(_cells(country) for country in _allowed(rules))

    def plausible(self, value: str, rules: Rules, choices: Sequence[Choice]) -> bool:
        """A French postcode in the shipped list (an existing département is not enough).

        A postcode of another country the field takes is plausible when it has that format.
        """
        allowed = _allowed(rules)
        if "FR" in allowed and postcode_directory().exists(value):
            return True
        return any(_in_country(value, c) is not None for c in allowed if c != "FR")

    def rule_problems(self, rules: Rules) -> tuple[str, ...]:
        """Unknown country codes, countries without postcodes, a lone `country_field`."""
        problems: list[str] = []
        for country in ((rules.country,) if rules.country else ()) + rules.countries:
            try:
                if postcode_format(country) is None:
                    problems.append(f"country {country!r} has no postcodes")
            except UnknownCountry:
                problems.append(f"unknown country code {country!r} (ISO 3166, such as FR or BE)")
        if rules.country and rules.countries:
            problems.append("rules 'country' and 'countries' exclude each other: keep one")
        if rules.country_field is not None and len(rules.countries) < 2:
            problems.append("rule 'country_field' needs 'countries' (two countries or more)")
        return tuple(problems)

    def charset(self, rules: Rules) -> str | None:
        """Digits, and what the other countries' postcodes hold (letters, a dash, a space)."""
        extra: set[str] = set()
        for country in _allowed(rules):
            if country != "FR":
                known = _format(country)
                extra |= set("".join(known.examples)) if known is not None else set("A -")
        if any(character.isalpha() for character in extra):
            extra |= set(string.ascii_uppercase)
        digits = self.ocr_charset or ""
        return digits + "".join(sorted(extra - set(digits)))

    def input_attributes(self, rules: Rules) -> Mapping[str, str]:
        """No numeric keyboard when a country the field takes has letters in its postcodes."""
        if all(_digits_only(country) for country in _allowed(rules)):
            return self.html_attributes
        return {k: v for k, v in self.html_attributes.items() if k != "inputmode"}

    def in_country(self, rules: Rules, country: object) -> Rules:
        """The rules for a postcode given with `country` chosen: that country's alone.

        A choice that is no country the field takes (or none) leaves them all.
        """
        chosen = str(country or "").strip().upper()
        if chosen not in rules.countries:
            return rules
        return replace(rules, countries=(chosen,))

    def confirm(self, value: str, other: str) -> PairVerdict | None:
        """Whether the city `other` is the listed locality of the postcode `value`."""
        return postcode_directory().verdict(value, other)

    def confirmed_by(self, other: str) -> tuple[str, ...]:
        """The listed postcodes of the city `other`."""
        return postcodes_of(other)

    def suggest_confirming(self, value: str) -> str | None:
        """The listed locality of a French postcode, as La Poste writes it (capitals)."""
        return postcode_directory().names.get(value.strip())

    def confirmed_alternative(self, value: str, other: str) -> str | None:
        """The one listed postcode a digit away from `value` whose locality is `other`."""
        return postcode_directory().one_digit_away(value, other)


def _allowed(rules: Rules) -> tuple[str, ...]:
    """The countries whose postcodes the field takes (France by default)."""
    return rules.countries or ((rules.country or "FR").upper(),)


def _format(country: str) -> PostcodeFormat | None:
    """The country's format; None when it has no postcodes or is unknown (checked at load)."""
    try:
        return postcode_format(country)
    except UnknownCountry:
        return None


def _in_country(value: str, country: str) -> str | None:
    """The canonical postcode when `value` is one of `country`, else None."""
    if country == "FR":
        compact = value.replace(" ", "")
        # ASCII digits only: \d also matches "٦٩٠٠٣", which no source system expects.
        if re.fullmatch(r"[0-9]{5}", compact) and _french_department_exists(compact):
            return compact
        return None
    known = _format(country)
    if known is None:
        return value if _GENERIC.fullmatch(value) else None
    # The data's patterns use \d: ASCII digits only, as for France.
    return value if value.isascii() and known.matches(value) else None


def _cells(country: str) -> int:
    if country == "FR":
        return 5
    known = _format(country)
    return known.cells if known is not None else 10


def _digits_only(country: str) -> bool:
    known = _format(country)
    return country == "FR" or (known is not None and known.digits_only)


def _french_department_exists(code: str) -> bool:
    prefix = int(code[:2])
    if prefix == 0:
        return False
    if prefix == 97:  # 971-976: Guadeloupe … Mayotte, 975 Saint-Pierre-et-Miquelon
        return code[2] in "123456"
    if prefix == 98:
        return code[2] in "046789"
    return prefix <= 95


def _locality_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    text = re.sub(r"\bSAINTE?\b", lambda m: "STE" if m.group(0) == "SAINTE" else "ST", text)
    return re.sub(r"[^A-Z0-9]+", " ", text).strip()


@dataclass(frozen=True)
class PostcodeDirectory:
    """The shipped list of French postcodes and their main locality (see fr_postcodes.md)."""

    localities: Mapping[str, str]
    #: The localities as listed (capitals, as La Poste writes an address's last line).
    names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = POSTCODES_CSV) -> PostcodeDirectory:
        """Read the CSV (postcode,locality)."""
        with path.open(encoding="utf-8", newline="") as handle:
            names = {row["postcode"]: row["locality"] for row in csv.DictReader(handle)}
        return cls({code: _locality_key(name) for code, name in names.items()}, names)

    def exists(self, postcode: str) -> bool:
        """Whether the postcode is in the list."""
        return postcode.strip() in self.localities

    def verdict(self, postcode: str, city: str) -> PairVerdict:
        """Confirmed when the city is the postcode's listed locality.

        Several communes share most postcodes and the list names one, so another city is
        "unconfirmed" (a person looks), never proof of an error.
        """
        listed = self.localities.get(postcode.strip())
        if listed is None:
            return PairVerdict.UNKNOWN
        key = _locality_key(city)
        if key == listed or (key and listed.startswith(key + " ")):
            return PairVerdict.CONFIRMED
        return PairVerdict.UNCONFIRMED

    def one_digit_away(self, postcode: str, city: str) -> str | None:
        """The only listed postcode of `city` that differs from `postcode` in one digit.

        None when there is none or several: a guess between two is left to a person.
        """
        code, key = postcode.strip(), _locality_key(city)
        if not key:
            return None
        found = [
            other
            for other in self._codes_of.get(key, ())
            if len(other) == len(code)
            and sum(a != b for a, b in zip(other, code, strict=True)) == 1
        ]
        return found[0] if len(found) == 1 else None

    @cached_property
    def _codes_of(self) -> Mapping[str, tuple[str, ...]]:
        """Locality key -> its postcodes (built on first use, kept with the directory)."""
        grouped: dict[str, list[str]] = {}
        for code, locality in self.localities.items():
            grouped.setdefault(locality, []).append(code)
        return {locality: tuple(codes) for locality, codes in grouped.items()}


@cache
def postcode_directory() -> PostcodeDirectory:
    """The shipped directory, loaded once per process."""
    return PostcodeDirectory.load()


@cache
def _codes_by_locality() -> Mapping[str, tuple[str, ...]]:
    codes: dict[str, list[str]] = {}
    for code, key in postcode_directory().localities.items():
        codes.setdefault(key, []).append(code)
    return {key: tuple(found) for key, found in codes.items()}


def postcodes_of(city: str) -> tuple[str, ...]:
    """The listed postcodes whose main locality is `city` (a city read on the page)."""
    return _codes_by_locality().get(_locality_key(city), ())
