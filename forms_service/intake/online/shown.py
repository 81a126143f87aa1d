"""The shown-values snapshot, sealed into the form page and checked when the answer comes back.

Sealed, not only signed: the page's hidden field is encrypted and authenticated (Fernet:
AES-128-CBC and HMAC-SHA256, with a key derived from the service's secret), so that the
values it carries (a whole IBAN that the page itself shows masked) cannot be read from the
page's source, a browser's cache or a saved copy, nor forged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeSerializer

from forms_service.intake.online.model import ShownValues, TamperedShownValues

#: The serializer's salt: a signature made for anything else never opens as shown values.
_SALT = "online-form-base"
#: What starts a sealed snapshot (a signed-only one, from before, starts with "{" encoded).
_SEALED = "s1."


class ShownValuesSeal:
    """Signs what a form page shows, so that the base of the three-way diff cannot be forged.

    The page carries the values itself (no server state per opened page); the signature
    proves they are the ones this service showed for this document.
    """

    def __init__(self, secret_key: str | bytes) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._serializer = URLSafeSerializer(secret_key, salt=_SALT)
        key = hashlib.sha256(_SALT.encode() + b"\x00" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def sign(self, shown: ShownValues) -> str:
        """The snapshot as the page's hidden `base` field, encrypted."""
        payload = {
            "d": shown.document_id,
            "v": dict(shown.values),
            "o": shown.opened_at.isoformat(),
            "l": shown.live,
        }
        sealed = self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode())
        return _SEALED + sealed.decode("ascii")

    def open(self, signed: str, document_id: str) -> ShownValues:
        """The snapshot a page posted back for `document_id`.

        Raises:
            TamperedShownValues: the signature is wrong, or it was signed for another document.
        """
        try:
            if signed.startswith(_SEALED):
                payload = json.loads(self._fernet.decrypt(signed[len(_SEALED) :].encode()))
            else:  # a page opened before the values were sealed: signed only
                payload = self._serializer.loads(signed)
        except (BadSignature, InvalidToken, ValueError, UnicodeError):
            raise TamperedShownValues("the shown values are not signed by this service") from None
        if not isinstance(payload, Mapping) or payload.get("d") != document_id:
            raise TamperedShownValues("the shown values were signed for another document")
        return ShownValues(
            document_id=document_id,
            values=payload["v"],
            opened_at=dt.datetime.fromisoformat(payload["o"]),
            # A page signed without it shows the snapshot note only when it said so.
            live=bool(payload.get("l", True)),
        )
