"""Checks of values read from paper: IBAN checksum, French postcodes, e-mail, phone, dates.

Checks are plain functions `str -> bool`, looked up by field type name so that a page
context naming them stays picklable. forms_service keeps its own, stricter parsing; these
only decide whether a reading is trustworthy enough to be applied without a person.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

Check = Callable[[str], bool]

POSTCODES_CSV = Path(__file__).with_name("data") / "fr_postcodes.csv"

#: IBAN length per country for the countries a French form meets most (ISO 13616 registry).
IBAN_LENGTHS = {
    "FR": 27, "MC": 27, "DE": 22, "BE": 16, "LU": 20, "CH": 21, "ES": 24, "IT": 27,
    "PT": 25, "NL": 18, "GB": 22, "IE": 22, "AT": 20,
}  # fmt: skip


def iban_valid(value: str) -> bool:
    """ISO 7064 mod-97 checksum, and the country's length where known."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")


def email_valid(value: str) -> bool:
    """E-mail syntax: local part, @, a domain with a dot."""
    return bool(_EMAIL.fullmatch(value)) and ".." not in value


def phone_valid(value: str) -> bool:
    """French phone number: ten digits starting 0[1-9], or +33 and nine digits."""
    compact = value.replace(" ", "")
    return bool(re.fullmatch(r"0[1-9]\d{8}|\+33[1-9]\d{8}", compact))


def date_valid(value: str) -> bool:
    """A real calendar date written DDMMYYYY (comb cells) or DD/MM/YYYY, years 1900-2100."""
    digits = re.sub(r"[\s/.-]", "", value)
    if not re.fullmatch(r"\d{8}", digits):
        return False
    try:
        day = dt.date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2100


def _locality_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    text = re.sub(r"\bSAINTE?\b", lambda m: "STE" if m.group(0) == "SAINTE" else "ST", text)
    return re.sub(r"[^A-Z0-9]+", " ", text).strip()


class PostcodeVerdict(StrEnum):
    """How a postcode and a city read on the same page agree with the reference list."""

    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    UNKNOWN_POSTCODE = "unknown_postcode"


@dataclass(frozen=True)
class PostcodeDirectory:
    """The shipped list of French postcodes and their main locality (see ocr/data/README.md)."""

    localities: Mapping[str, str]

    @classmethod
    def load(cls, path: Path = POSTCODES_CSV) -> PostcodeDirectory:
        """Read the CSV (postcode,locality)."""
        with path.open(encoding="utf-8", newline="") as handle:
            rows = {
                row["postcode"]: _locality_key(row["locality"]) for row in csv.DictReader(handle)
            }
        return cls(rows)

    def exists(self, postcode: str) -> bool:
        """Whether the postcode is in the list."""
        return postcode.strip() in self.localities

    def verdict(self, postcode: str, city: str) -> PostcodeVerdict:
        """Confirmed when the city is the postcode's listed locality.

        Several communes share most postcodes and the list names one, so another city is
        "unconfirmed" (a person looks), never proof of an error.
        """
        listed = self.localities.get(postcode.strip())
        if listed is None:
            return PostcodeVerdict.UNKNOWN_POSTCODE
        key = _locality_key(city)
        if key == listed or (key and listed.startswith(key + " ")):
            return PostcodeVerdict.CONFIRMED
        return PostcodeVerdict.UNCONFIRMED


@cache
def postcode_directory() -> PostcodeDirectory:
    """The shipped directory, loaded once per process."""
    return PostcodeDirectory.load()


def french_postcode_valid(value: str) -> bool:
    """Five digits and a postcode of the shipped reference list."""
    return bool(re.fullmatch(r"\d{5}", value)) and postcode_directory().exists(value)


#: Checks by forms_service field type name (definitions/fieldtypes.py).
CHECKS: Mapping[str, Check] = {
    "iban": iban_valid,
    "email": email_valid,
    "phone": phone_valid,
    "date": date_valid,
    "postcode": french_postcode_valid,
}

#: Field types whose check is a checksum: a reading that passes it is very unlikely to be a
#: misreading (mod 97 catches every single-character error), unlike a merely valid date.
CHECKSUMS = frozenset({"iban"})
