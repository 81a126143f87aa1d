"""The QR payload of a form page: document, page number and definition version, signed.

A payload reads `F1.<document id>.<page>.<version>.<key id>.<mac>`: short enough for a
version 4 QR code, and verifiable with the link signing keys (a truncated HMAC-SHA256 over
a message that a link token can never be, so one cannot stand in for the other).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from forms_service.errors import FormsError
from forms_service.issuing.tokens import SigningKey

PREFIX = "F1"
_PAYLOAD = re.compile(
    r"F1\.([A-Za-z0-9_-]{22})\.([1-9][0-9]{0,2})\.([1-9][0-9]{0,5})\.([A-Za-z0-9]{1,16})"
    r"\.([A-Za-z0-9_-]{11})"
)


class TamperedPageCode(FormsError):
    """A page's QR code that this service did not make, or that was altered."""

    status = 400
    code = "tampered_page_code"


@dataclass(frozen=True)
class PageClaims:
    """What a verified page code says."""

    document_id: str
    page: int
    version: int
    key_id: str


class PageCodes:
    """Makes and checks page payloads with the link signing keys (the first one signs)."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._current = keys[0]
        self._keys = {k.id: k for k in keys}

    @staticmethod
    def _mac(key: SigningKey, message: str) -> str:
        digest = hmac.new(key.secret, f"page:{message}".encode(), hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def encode(self, document_id: str, page: int, version: int) -> str:
        """The payload for one form page of one document."""
        message = f"{PREFIX}.{document_id}.{page}.{version}.{self._current.id}"
        return f"{message}.{self._mac(self._current, message)}"

    def decode(self, payload: str) -> PageClaims:
        """Check a payload read from a page.

        Raises:
            TamperedPageCode: not a page code, unknown key or wrong signature.
        """
        match = _PAYLOAD.fullmatch(payload.strip())
        if match is None:
            raise TamperedPageCode("This page's code is not one of ours.")
        document_id, page, version, key_id, mac = match.groups()
        key = self._keys.get(key_id)
        message = payload.strip().rsplit(".", 1)[0]
        if key is None or not hmac.compare_digest(self._mac(key, message), mac):
            raise TamperedPageCode("This page's code is not one of ours.")
        return PageClaims(document_id, int(page), int(version), key_id)
