"""Unsubscribe links (RFC 8058 one-click): signed tokens naming a document, a purpose, a channel.

A token reads `<document id>.<purpose><channel>.<key id>.<signature>`: the document id is 128
random bits (no personal data), the purpose and channel one letter each, the signature a
truncated HMAC-SHA256 with the link signing keys (the first signs, all verify). It does not
expire: an unsubscribe link must work as long as the message may be read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from forms_service.core.errors import FormsError

_PURPOSES = {"regulatory": "r", "commercial": "c"}
_CHANNELS = {"email": "e", "sms": "s", "letter": "l"}
_TOKEN = re.compile(r"([A-Za-z0-9_-]{22})\.([rc])([esl])\.([A-Za-z0-9]{1,16})\.([A-Za-z0-9_-]{22})")
#: Keeps these signatures apart from the document links' made with the same keys.
_DOMAIN = "unsubscribe"


class TamperedUnsubscribeLink(FormsError):
    """The unsubscribe link was altered or not made by this service."""

    status = 400
    code = "tampered_link"


class SigningKey(Protocol):
    """A key of the link signing rotation (issuing/tokens.py's SigningKey)."""

    @property
    def id(self) -> str: ...

    @property
    def secret(self) -> bytes: ...


@dataclass(frozen=True)
class UnsubscribeClaims:
    """What a verified token says."""

    document_id: str
    purpose: str
    channel: str


class UnsubscribeTokens:
    """Makes and checks unsubscribe tokens."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one link signing key is needed")
        self._keys = {k.id: k for k in keys}
        self._current = keys[0]

    @staticmethod
    def _mac(key: SigningKey, message: str) -> str:
        digest = hmac.new(key.secret, f"{_DOMAIN}:{message}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, document_id: str, purpose: str, channel: str) -> str:
        """The token of (document, purpose, channel)."""
        message = f"{document_id}.{_PURPOSES[purpose]}{_CHANNELS[channel]}.{self._current.id}"
        return f"{message}.{self._mac(self._current, message)}"

    def verify(self, token: str) -> UnsubscribeClaims:
        """Check a token; TamperedUnsubscribeLink when malformed or badly signed."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise TamperedUnsubscribeLink("This link is incomplete or has been altered.")
        document_id, purpose, channel, key_id, mac = match.groups()
        key = self._keys.get(key_id)
        message = f"{document_id}.{purpose}{channel}.{key_id}"
        if key is None or not hmac.compare_digest(self._mac(key, message), mac):
            raise TamperedUnsubscribeLink("This link is incomplete or has been altered.")
        purposes = {v: k for k, v in _PURPOSES.items()}
        channels = {v: k for k, v in _CHANNELS.items()}
        return UnsubscribeClaims(document_id, purposes[purpose], channels[channel])


def unsubscribe_url(base_url: str, token: str) -> str:
    """The page of a token: `<base>/u/<token>`."""
    return f"{base_url.rstrip('/')}/u/{token}"
