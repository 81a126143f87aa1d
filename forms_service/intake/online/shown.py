"""The shown-values snapshot, signed into the form page and checked when the answer comes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeSerializer

from forms_service.intake.online.model import ShownValues, TamperedShownValues

#: The serializer's salt: a signature made for anything else never opens as shown values.
_SALT = "online-form-base"


class ShownValuesSeal:
    """Signs what a form page shows, so that the base of the three-way diff cannot be forged.

    The page carries the values itself (no server state per opened page); the signature
    proves they are the ones this service showed for this document.
    """

    def __init__(self, secret_key: str | bytes) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=_SALT)

    def sign(self, shown: ShownValues) -> str:
        """The snapshot as the page's hidden `base` field."""
        return self._serializer.dumps(
            {
                "d": shown.document_id,
                "v": dict(shown.values),
                "o": shown.opened_at.isoformat(),
                "l": shown.live,
            }
        )

    def open(self, signed: str, document_id: str) -> ShownValues:
        """The snapshot a page posted back for `document_id`.

        Raises:
            TamperedShownValues: the signature is wrong, or it was signed for another document.
        """
        try:
            payload = self._serializer.loads(signed)
        except BadSignature:
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
