"""Postcodes: French (an existing département) or generic; a city confirms a French one."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    ascii_forms,
)
from ocr.interfaces import PairVerdict

#: French postcodes and their main locality (provenance and licence: fr_postcodes.md).
POSTCODES_CSV = Path(__file__).with_name("fr_postcodes.csv")


class PostcodeType(FieldType):
    """A postcode: French (5 digits, existing département) or generic."""

    name = "postcode"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    html_attributes = {"inputmode": "numeric", "autocomplete": "postal-code"}
    paper_checked = True
    failed_check = "postcode_city_mismatch"
    confirmable = True
    name_hint = re.compile(r"postcode|postal|zip|\bcp\b|code_postal", re.I)
    _GENERIC = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,9}")

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        value = ascii_forms(text).upper()
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

    def plausible(self, value: str, rules: Rules, choices: Sequence[Choice]) -> bool:
        """A French postcode in the shipped list (an existing département is not enough)."""
        return (rules.country or "FR") != "FR" or postcode_directory().exists(value)

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
