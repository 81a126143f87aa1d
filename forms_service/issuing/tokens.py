"""Signed, expiring link tokens that name a document and nothing else.

A token reads `<document id>.<expiry>.<key id>.<signature>`: the document id is 128 random
bits, the expiry is a Unix time in base 36, and the signature is a truncated HMAC-SHA256 made
with one of several keys so that keys can be rotated (the first signs, all verify).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from forms_service.core.errors import FormsError, Gone, NotFound

_TOKEN = re.compile(
    r"([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9]{1,16})\.([A-Za-z0-9_-]{22})"
)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
#: What is left of a token cut anywhere (an e-mail client wrapping or cutting the link).
_CUT = re.compile(
    r"[A-Za-z0-9_-]{1,22}(?:\.(?:[0-9a-z]{1,10}(?:\.(?:[A-Za-z0-9]{1,16}"
    r"(?:\.[A-Za-z0-9_-]{0,21})?)?)?)?)?"
)


class LinkDamage(StrEnum):
    """What happened to a link that does not verify, as far as its text tells."""

    #: Cut short: an e-mail client wrapped it, or part of it was not copied.
    TRUNCATED = "truncated"
    #: Written again in lower case (typed from paper, or a client that lower-cases URLs).
    LOWERCASED = "lowercased"
    #: Anything else: altered, or not made by this service.
    ALTERED = "altered"


def damage_of(token: str) -> LinkDamage:
    """Why a token that does not verify fails, guessed from its text alone.

    The document id and the signature are 128 random bits each in base64url: a real token
    has capital letters (all 44 characters lower case by chance: about 1 in 10^13), so a
    token without any was lower-cased. A token that is a beginning of the token pattern was
    cut.
    """
    whole = _TOKEN.fullmatch(token) is not None
    if not whole and _CUT.fullmatch(token) is None:
        return LinkDamage.ALTERED  # not even the beginning of a token
    random_parts = token.split(".")[0::3]  # the document id and, when there, the signature
    letters = "".join(c for c in "".join(random_parts) if c.isalpha())
    if len(letters) >= 4 and letters == letters.lower():
        return LinkDamage.LOWERCASED
    return LinkDamage.ALTERED if whole else LinkDamage.TRUNCATED


class TamperedLink(FormsError):
    """The link was altered or was not made by this service."""

    status = 400
    code = "tampered_link"


class ExpiredLink(Gone):
    """The link's lifetime is over."""

    code = "expired_link"


class UnknownDocument(NotFound):
    """A well-signed link to a document that is not (or no longer) stored."""

    code = "unknown_document"


def new_document_id() -> str:
    """128 bits of randomness, URL-safe (22 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def new_reference() -> str:
    """A human-readable reference such as 7Q4-K2M-98X (45 random bits, no ambiguous letters)."""
    number = secrets.randbits(45)
    chars = []
    for _ in range(9):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    text = "".join(chars)
    return f"{text[0:3]}-{text[3:6]}-{text[6:9]}"


def normalise_reference(text: str) -> str:
    """Read a reference as a person might type it (lower case, O for 0, no dashes)."""
    cleaned = (
        re.sub(r"[\s-]", "", text.upper()).replace("O", "0").replace("I", "1").replace("L", "1")
    )
    if len(cleaned) != 9 or any(c not in _ALPHABET for c in cleaned):
        return text
    return f"{cleaned[0:3]}-{cleaned[3:6]}-{cleaned[6:9]}"


@dataclass(frozen=True)
class SigningKey:
    """One key of the rotation: a short id and the secret."""

    id: str
    secret: bytes

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        """Read `id:secret` (the secret at least 32 characters)."""
        key_id, _, secret = text.partition(":")
        if not re.fullmatch(r"[A-Za-z0-9]{1,16}", key_id) or len(secret) < 32:
            raise ValueError("a link signing key reads 'id:secret', secret of 32+ characters")
        return cls(key_id, secret.encode())


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says."""

    document_id: str
    expires_at: dt.datetime
    key_id: str


class LinkSigner:
    """Makes and checks link tokens with a list of keys (the first one signs)."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one link signing key is needed")
        self._keys = {k.id: k for k in keys}
        self._current = keys[0]

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The keys of the rotation, the signing one first (other codes reuse them)."""
        return (self._current, *(k for k in self._keys.values() if k is not self._current))

    @staticmethod
    def _mac(key: SigningKey, message: str) -> str:
        digest = hmac.new(key.secret, message.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, document_id: str, expires_at: dt.datetime) -> str:
        """Token for a document valid until `expires_at`."""
        expiry = _base36(int(expires_at.timestamp()))
        message = f"{document_id}.{expiry}.{self._current.id}"
        return f"{message}.{self._mac(self._current, message)}"

    def verify(self, token: str, now: dt.datetime) -> LinkClaims:
        """Check a token's form, signature and expiry.

        Raises:
            TamperedLink: malformed, unknown key or bad signature.
            ExpiredLink: well signed but past its expiry.
        """
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise TamperedLink("This link is incomplete or has been altered.")
        document_id, expiry, key_id, mac = match.groups()
        key = self._keys.get(key_id)
        if key is None or not hmac.compare_digest(
            self._mac(key, f"{document_id}.{expiry}.{key_id}"), mac
        ):
            raise TamperedLink("This link is incomplete or has been altered.")
        expires_at = dt.datetime.fromtimestamp(int(expiry, 36), dt.UTC)
        if expires_at <= now:
            raise ExpiredLink("This link has expired.")
        return LinkClaims(document_id, expires_at, key_id)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
