"""The QR payload of a form page: layout, document, page number and definition version, signed.

A payload reads `F<layout>.<document id>.<page>.<version>.<key id>.<mac>`: the digits after
F are the layout version the page was printed with (every page printed before layout
versions existed reads `F1`, which is layout version 1), so the reader recomputes the
geometry that page was printed with. Short enough for a version 4 QR code, and verifiable
with the link signing keys (a truncated HMAC-SHA256 over a message that a link token can
never be, so one cannot stand in for the other); the layout version is inside the MAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from forms_service.core.errors import FormsError
from forms_service.issuing.tokens import SigningKey

PREFIX = "F"
_PAYLOAD = re.compile(
    r"F([1-9][0-9]{0,2})\.([A-Za-z0-9_-]{22})\.([1-9][0-9]{0,2})\.([1-9][0-9]{0,5})"
    r"\.([A-Za-z0-9]{1,16})\.([A-Za-z0-9_-]{11})"
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
    #: The layout version the page was printed with.
    layout: int


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

    def encode(self, document_id: str, page: int, version: int, *, layout: int) -> str:
        """The payload for one form page of one document, printed with layout `layout`."""
        if not 1 <= layout <= 999:
            raise ValueError(f"layout version {layout} does not fit a page code")
        message = f"{PREFIX}{layout}.{document_id}.{page}.{version}.{self._current.id}"
        return f"{message}.{self._mac(self._current, message)}"

    def decode(self, payload: str) -> PageClaims:
        """Check a payload read from a page.

        Whether the layout version it names is known is the caller's question (the registry
        is in forms_service.issuing.layout): a well-signed code of an unknown layout is ours.

        Raises:
            TamperedPageCode: not a page code, unknown key or wrong signature.
        """
        match = _PAYLOAD.fullmatch(payload.strip())
        if match is None:
            raise TamperedPageCode("This page's code is not one of ours.")
        layout, document_id, page, version, key_id, mac = match.groups()
        key = self._keys.get(key_id)
        message = payload.strip().rsplit(".", 1)[0]
        if key is None or not hmac.compare_digest(self._mac(key, message), mac):
            raise TamperedPageCode("This page's code is not one of ours.")
        return PageClaims(document_id, int(page), int(version), key_id, int(layout))
