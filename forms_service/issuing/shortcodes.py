"""Short link codes: 100 bits of an HMAC of the document id, in lower-case Crockford base 32.

A code is 20 characters of the alphabet `0-9 a-z` without `i l o u`, the shortest alphabet a
person can type from an SMS or a letter without doubt: reading is case-insensitive and the
look-alikes are taken for what they resemble (`O` for `0`, `I` and `L` for `1`), and dashes
and spaces are ignored. It is the HMAC-SHA256 of the document id with the link signing key
(domain-separated from the link signatures), truncated to 100 bits: as unguessable as 100
random bits, and the service can print the same code again (a letter downloaded later, a
reminder) without storing it. The table keeps its SHA-256 only (storage/shortlinks.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.issuing.accesscodes import access_code_for, access_digest
from forms_service.issuing.tokens import SigningKey
from forms_service.storage.shortlinks import ShortLink, code_digest

#: Crockford's base 32, in lower case (no i, l, o, u).
ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_LENGTH: Final = 20
#: Bits of the HMAC a code carries (20 characters of 5 bits).
CODE_BITS: Final = CODE_LENGTH * 5
_LOOK_ALIKES: Final = str.maketrans({"o": "0", "i": "1", "l": "1"})
_DOMAIN: Final = b"forms_service short link\x00"


def normalise_code(text: str) -> str | None:
    """The code a person typed, in canonical form; None when it cannot be a code."""
    cleaned = text.strip().lower().replace("-", "").replace(" ", "").translate(_LOOK_ALIKES)
    if len(cleaned) != CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def short_url(base_url: str, code: str) -> str:
    """`https://host/r/<code>`."""
    return f"{base_url.rstrip('/')}/r/{code}"


class ShortCodes:
    """Derives, stores and finds short link codes with the link signing keys."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one link signing key is needed")
        self._keys = {k.id: k for k in keys}
        self._current = keys[0]

    def code_for(self, document_id: str, key_id: str | None = None) -> str:
        """The code of a document with a key of the rotation (the signing one by default).

        Raises:
            KeyError: `key_id` is no longer in the rotation.
        """
        key = self._current if key_id is None else self._keys[key_id]
        mac = hmac.new(key.secret, _DOMAIN + document_id.encode(), hashlib.sha256).digest()
        number = int.from_bytes(mac[:13], "big") >> (13 * 8 - CODE_BITS)
        chars = []
        for _ in range(CODE_LENGTH):
            number, digit = divmod(number, 32)
            chars.append(ALPHABET[digit])
        return "".join(reversed(chars))

    def access_code_for(self, document_id: str, key_id: str | None = None) -> str:
        """The access code of a document (issuing/accesscodes.py), canonical.

        Raises:
            KeyError: `key_id` is no longer in the rotation.
        """
        key = self._current if key_id is None else self._keys[key_id]
        return access_code_for(key.secret, document_id)

    def _row(self, document_id: str, expires_at: dt.datetime, now: dt.datetime) -> ShortLink:
        return ShortLink(
            digest=code_digest(self.code_for(document_id)),
            access_digest=access_digest(self.access_code_for(document_id)),
            document_id=document_id,
            key_id=self._current.id,
            created_at=now,
            expires_at=expires_at,
        )

    def add(
        self, session: Session, document_id: str, expires_at: dt.datetime, now: dt.datetime
    ) -> str:
        """Store a document's short link in the caller's transaction; give its code.

        A document that has one already made with a key still in the rotation keeps it.
        """
        return self.ensure(session, [(document_id, expires_at)], now)[document_id]

    def ensure(
        self, session: Session, documents: Sequence[tuple[str, dt.datetime]], now: dt.datetime
    ) -> dict[str, str]:
        """`add` for each (document id, expiry): document id -> code, one query per 500."""
        codes = self.existing_codes(session, [document_id for document_id, _ in documents])
        for document_id, expires_at in documents:
            if document_id not in codes:
                session.add(self._row(document_id, expires_at, now))
                codes[document_id] = self.code_for(document_id)
        return codes

    def add_many(
        self, session: Session, documents: Sequence[tuple[str, dt.datetime]], now: dt.datetime
    ) -> None:
        """Store the short links of documents just inserted (none has one yet)."""
        session.add_all(
            self._row(document_id, expires_at, now) for document_id, expires_at in documents
        )

    def existing_codes(self, session: Session, document_ids: Sequence[str]) -> dict[str, str]:
        """The codes of the working short links of documents, in one query per 500 ids."""
        found: dict[str, str] = {}
        for start in range(0, len(document_ids), 500):
            rows = session.execute(
                select(ShortLink.document_id, ShortLink.key_id).where(
                    ShortLink.document_id.in_(document_ids[start : start + 500]),
                    ShortLink.revoked_at.is_(None),
                )
            )
            for document_id, key_id in rows:
                if key_id in self._keys and document_id not in found:
                    found[document_id] = self.code_for(document_id, key_id)
        return found

    def existing_access_codes(
        self, session: Session, document_ids: Sequence[str]
    ) -> dict[str, str]:
        """The access codes of documents' working short links (none: made before them)."""
        found: dict[str, str] = {}
        for start in range(0, len(document_ids), 500):
            rows = session.execute(
                select(ShortLink.document_id, ShortLink.key_id).where(
                    ShortLink.document_id.in_(document_ids[start : start + 500]),
                    ShortLink.revoked_at.is_(None),
                    ShortLink.access_digest.is_not(None),
                )
            )
            for document_id, key_id in rows:
                if key_id in self._keys and document_id not in found:
                    found[document_id] = self.access_code_for(document_id, key_id)
        return found

    def existing_code(self, session: Session, document_id: str) -> str | None:
        """The code of a document's working short link, None when it has none."""
        rows = session.scalars(
            select(ShortLink).where(
                ShortLink.document_id == document_id, ShortLink.revoked_at.is_(None)
            )
        )
        for row in rows:
            if row.key_id in self._keys:
                return self.code_for(document_id, row.key_id)
        return None
