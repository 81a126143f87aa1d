"""Access codes: what a customer types from the letter, at `host/r`, instead of scanning its QR code.

A code is 15 characters in three groups of five (`K7PXM-3QR9T-WHB4A`) from an alphabet of 31
that leaves out every character a person can take for another: no 0 or O, no 1, I or L. It
is read in any case, with or without the dashes and spaces. The first 14 characters are an
HMAC-SHA256 of the document id made with the link signing key (domain-separated from the
link signatures and the short link codes), taken modulo 31^14: 69.4 bits, the service can
print the same code again without storing it, and the table keeps only its SHA-256
(`short_links.access_digest`, beside the short link of the same document).

The 15th is a check character: the sum of every character's value times its weight (1 for
the check character, 2 to 15 for the others) is a multiple of 31. 31 is prime and the weights
are distinct, so any one character mistyped and any two characters swapped are caught before
the service looks anything up (`read_access_code`).

Guessing, in numbers (docs/delivery.md, "Access codes"): 31^14 = 7.6e20 codes. With 10 million live
documents, one guess in 7.6e13 hits one. The entry page takes at most
RATELIMIT_SHORT_LINK_GLOBAL guesses a minute from everyone together (6,000 by default):
3.2e9 a year, so 4e-5 hits expected in a year at the cap, and a hit still meets the identity
question of the forms that have one.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from forms_service.core.errors import InvalidInput

#: No 0/O, no 1/I/L: 8 digits and 23 letters.
ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE: Final = len(ALPHABET)
#: Characters derived from the document (the 15th is the check character).
DATA_LENGTH: Final = 14
CODE_LENGTH: Final = DATA_LENGTH + 1
GROUP: Final = 5
_VALUES: Final = {c: i for i, c in enumerate(ALPHABET)}
_DOMAIN: Final = b"forms_service access code\x00"
_SEPARATORS: Final = str.maketrans("", "", " -.\u00a0\u2010\u2011\u2013")


class MistypedAccessCode(InvalidInput):
    """A typed access code that cannot be one: refused before any lookup.

    `code` says why: too short or too long, a character codes never use, a typo.
    """

    code = "access_code_mistyped"


class AccessCodeLength(MistypedAccessCode):
    """Not 15 characters."""

    code = "access_code_length"


class AccessCodeCharacter(MistypedAccessCode):
    """A character no code has (0, O, 1, I, L, punctuation)."""

    code = "access_code_character"


def _check_value(values: list[int]) -> int:
    """The check character's value for the 14 data characters' values."""
    total = sum((index + 2) * value for index, value in enumerate(values))
    return (-total) % BASE


def with_check(data: str) -> str:
    """The 14 data characters followed by their check character."""
    return data + ALPHABET[_check_value([_VALUES[c] for c in data])]


def grouped(code: str) -> str:
    """A canonical code as printed: three groups of five, joined by dashes."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def read_access_code(text: str) -> str:
    """The canonical code (15 characters, upper case) a person typed.

    Raises:
        AccessCodeLength: not 15 characters once spaces and dashes are left out.
        AccessCodeCharacter: a character no code has.
        MistypedAccessCode: the check character does not match (a typo).
    """
    cleaned = text.translate(_SEPARATORS).upper()
    if len(cleaned) != CODE_LENGTH:
        raise AccessCodeLength("The code has 15 characters.", field="code")
    if any(c not in _VALUES for c in cleaned):
        raise AccessCodeCharacter("The code has a character codes never use.", field="code")
    values = [_VALUES[c] for c in cleaned]
    if _check_value(values[:DATA_LENGTH]) != values[DATA_LENGTH]:
        raise MistypedAccessCode("The code has a typo.", field="code")
    return cleaned


def access_code_for(secret: bytes, document_id: str) -> str:
    """The canonical access code of a document with one link signing key's secret."""
    mac = hmac.new(secret, _DOMAIN + document_id.encode(), hashlib.sha256).digest()
    number = int.from_bytes(mac, "big") % BASE**DATA_LENGTH
    chars = []
    for _ in range(DATA_LENGTH):
        number, digit = divmod(number, BASE)
        chars.append(ALPHABET[digit])
    return with_check("".join(reversed(chars)))


def access_digest(code: str) -> str:
    """The digest a canonical access code is stored and looked up by."""
    return hashlib.sha256(b"access\x00" + code.encode("ascii")).hexdigest()
