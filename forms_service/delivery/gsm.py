r"""How many SMS segments a text takes: GSM 03.38 (3GPP TS 23.038) 7-bit alphabet, else UCS-2.

A text made only of the GSM 7-bit default alphabet is sent in septets: one per character of
the basic set, two for a character of the extension table (an escape, then the character:
form feed ^ { } \\ [ ~ ] | €). One segment holds 160 septets; a longer text is split into
segments of 153 (the 7 others carry the concatenation header), and an escape pair is never
split across two segments. One character outside the alphabet (a curly apostrophe, ç, â, an
emoji) makes the whole text UCS-2: 70 UTF-16 code units in one segment, 67 a segment when
concatenated, a character outside the Basic Multilingual Plane counting two units (a surrogate
pair, never split either).

National language shift tables (Turkish, Portuguese…) are not used: French and English texts
are what the service sends, and operators do not all honour them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

#: The basic character set, in code order 0x00-0x7F (0x1B is the escape to the extension).
BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
#: The extension table's characters, each sent as escape + character (two septets).
EXTENSION: Final = "\f^{}\\[~]|€"

_BASIC_SET: Final = frozenset(BASIC) - {"\x1b"}
_EXTENSION_SET: Final = frozenset(EXTENSION)

SINGLE_GSM: Final = 160
CONCATENATED_GSM: Final = 153
SINGLE_UCS2: Final = 70
CONCATENATED_UCS2: Final = 67


class Encoding(StrEnum):
    """The data coding of an SMS."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentCount:
    """How a text goes out as SMS.

    Attributes:
        encoding: GSM-7 or UCS-2.
        units: septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
        segments: the number of SMS it takes (at least 1, an empty text being one SMS).
        per_segment: the units a segment holds for this text (160 or 153, 70 or 67).
        forced_by: the first character outside GSM-7, which made the text UCS-2.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    forced_by: str | None = None

    def describe(self) -> str:
        """One line a person reads, e.g. `’ (U+2019) is outside GSM-7: …, 3 segments of 67`."""
        size = f"{self.segments} segment{'s' if self.segments > 1 else ''} of {self.per_segment}"
        if self.forced_by is not None:
            return (
                f"{self.forced_by} (U+{ord(self.forced_by):04X}) is outside GSM-7: "
                f"the SMS is UCS-2, {self.units} code units, {size}"
            )
        return f"the SMS is {self.encoding}, {self.units} septets, {size}"


def is_gsm(character: str) -> bool:
    """Whether one character is in the GSM 7-bit alphabet (basic set or extension)."""
    return character in _BASIC_SET or character in _EXTENSION_SET


def septets(character: str) -> int:
    """The septets of one GSM character: 1 in the basic set, 2 in the extension table."""
    if character in _BASIC_SET:
        return 1
    if character in _EXTENSION_SET:
        return 2
    raise ValueError(f"{character!r} is not in the GSM 7-bit alphabet")


def outside_gsm(text: str) -> list[str]:
    """The distinct characters of `text` outside GSM-7, in order of first appearance."""
    seen: dict[str, None] = {}
    for character in text:
        if not is_gsm(character):
            seen.setdefault(character)
    return list(seen)


def count_segments(text: str, *, ucs2: bool = False) -> SegmentCount:
    """How many SMS segments `text` takes, and in which encoding.

    Args:
        text: the SMS.
        ucs2: count it in UCS-2 even if every character is in GSM-7 (a text whose
            placeholders may bring any letter).
    """
    outside = next((c for c in text if not is_gsm(c)), None)
    if outside is None and not ucs2:
        sizes = [septets(c) for c in text]
        return _split(Encoding.GSM7, sizes, SINGLE_GSM, CONCATENATED_GSM)
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _split(Encoding.UCS2, sizes, SINGLE_UCS2, CONCATENATED_UCS2, forced_by=outside)


def _split(
    encoding: Encoding,
    sizes: list[int],
    single: int,
    concatenated: int,
    *,
    forced_by: str | None = None,
) -> SegmentCount:
    """Fill segments with characters of `sizes` units, never splitting a character."""
    total = sum(sizes)
    if total <= single:
        return SegmentCount(encoding, total, 1, single, forced_by)
    segments, used = 1, 0
    for size in sizes:
        if used + size > concatenated:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding, total, segments, concatenated, forced_by)
