"""Digests of identity answers: keyed (HMAC-SHA256, key outside the database), old ones still read.

A digest is stored per question in `documents.challenge_digests`, beside the document's salt.
Since issue 18 a digest reads `hmac-sha256$<hex>`: HMAC-SHA256 keyed with the
`IDENTITY_ANSWER_KEY` setting over the salt and the answer, so a copy of the database alone
no longer lets anyone try every birth date (a plain salted SHA-256 fell in 0.1 s). Digests
written before carry no prefix (`sha256(salt NUL answer)`): they still verify, and a right
answer rewrites them keyed (`check_identity`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The prefix of keyed digests; a digest without a known prefix is a legacy salted SHA-256.
KEYED = "hmac-sha256$"


def legacy_digest(salt: str, value: str | None) -> str:
    """The salted SHA-256 written before keyed digests (read only, never written again)."""
    return hashlib.sha256(f"{salt}\x00{value or ''}".encode()).hexdigest()


@dataclass(frozen=True)
class AnswerDigester:
    """Writes keyed digests of identity answers and checks answers against any version."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise ValueError("the identity answer key must have at least 32 bytes")

    def digest(self, salt: str, value: str | None) -> str:
        """The keyed digest of `value` for a document of salt `salt`."""
        message = f"{salt}\x00{value or ''}".encode()
        return KEYED + hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def matches(self, salt: str, value: str | None, stored: str) -> bool:
        """Whether `value` is the answer `stored` was made from (keyed or legacy digest)."""
        if stored.startswith(KEYED):
            expected = self.digest(salt, value)
        else:
            expected = legacy_digest(salt, value)
        return hmac.compare_digest(expected.encode(), stored.encode())

    def digests(self, salt: str, values: Mapping[str, str | None]) -> dict[str, Any]:
        """The `challenge_digests` of a document: its salt and each answer's keyed digest."""
        return {"salt": salt, **{name: self.digest(salt, v) for name, v in values.items()}}


def outdated(digests: Mapping[str, Any]) -> bool:
    """Whether some digest of a document is of the legacy format (to rewrite keyed)."""
    return any(
        isinstance(value, str) and not value.startswith(KEYED)
        for name, value in digests.items()
        if name != "salt"
    )
