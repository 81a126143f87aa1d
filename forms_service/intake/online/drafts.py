"""Save and resume: the answer in progress, kept on the server until the link expires.

While the customer types, the page sends what its boxes hold (every 2 seconds at most after
a change, and when it is closed); without a script, a refused answer is kept the same way.
Reopening the link on any device, after the identity question, starts from it.

A draft keeps what the boxes held and what the page showed when they were filled (its
`shown` values), so that a resumed page can tell the customer's own edits (a box that no
longer holds what was shown) from the values shown, and say which values changed in the
source since. It is sealed with Fernet (AES and HMAC, with a key derived from the service's
secret, which is not in the database): a copy of the database reads nothing of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from forms_service.definitions.model import Channel, FormDefinition
from forms_service.definitions.online_form import form_value
from forms_service.storage.drafts import Draft as DraftRow
from forms_service.storage.model import Document
from forms_service.storage.service import reading

_SALT = b"online-form-draft"
#: What one draft may hold: a form's boxes, not a file.
MAX_DRAFT_BYTES = 64_000


@dataclass(frozen=True)
class Draft:
    """An answer in progress.

    Attributes:
        boxes: what each box of the form held (WTForms data: text, a bool, a list).
        shown: the values the page showed when they were filled (the three-way base).
        saved_at: when it was last saved.
        attachment: the file attached to it, as kept in the file store (its key, type and
            size: intake/online/attachments.py), None when none.
    """

    boxes: Mapping[str, Any]
    shown: Mapping[str, str | None]
    saved_at: dt.datetime
    attachment: Mapping[str, Any] | None = None


class DraftTooLarge(ValueError):
    """A draft larger than `MAX_DRAFT_BYTES`: not kept."""


class DraftStore:
    """Keeps one sealed draft per document."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret_key: str | bytes,
        *,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        key = hashlib.sha256(_SALT + b"\x00" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def save(
        self,
        document: Document,
        boxes: Mapping[str, Any],
        shown: Mapping[str, str | None],
        attachment: Mapping[str, Any] | None = None,
    ) -> dt.datetime:
        """Keep what the boxes hold now; returns when it was saved.

        `attachment` is a file just attached; without one the draft keeps the one it had (the
        page sends a file once, not with every save).
        """
        content: dict[str, Any] = {"b": dict(boxes), "s": dict(shown)}
        if attachment is not None:
            content["a"] = dict(attachment)
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = session.get(DraftRow, document.id)
            if attachment is None and row is not None:
                kept = self._opened(row.sealed)
                if kept is not None and kept.get("a"):
                    content["a"] = kept["a"]
            payload = json.dumps(content, separators=(",", ":"))
            if len(payload) > MAX_DRAFT_BYTES:
                raise DraftTooLarge(f"a draft holds at most {MAX_DRAFT_BYTES} bytes")
            sealed = self._fernet.encrypt(payload.encode()).decode("ascii")
            if row is None:
                session.add(
                    DraftRow(
                        document_id=document.id,
                        sealed=sealed,
                        saved_at=now,
                        expires_at=document.expires_at,
                    )
                )
            else:
                row.sealed, row.saved_at, row.expires_at = sealed, now, document.expires_at
        return now

    def load(self, document_id: str) -> Draft | None:
        """The document's draft; None when there is none, it expired or cannot be opened."""
        with reading(self.sessions) as session:
            row = session.get(DraftRow, document_id)
            if row is None or row.expires_at <= self.clock():
                return None
            sealed, saved_at = row.sealed, row.saved_at
        payload = self._opened(sealed)
        if payload is None:
            return None  # sealed with another secret: as if there were none
        return Draft(
            boxes=payload["b"], shown=payload["s"], saved_at=saved_at, attachment=payload.get("a")
        )

    def _opened(self, sealed: str) -> dict[str, Any] | None:
        try:
            payload: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            return None
        return payload

    def purge_expired(self) -> int:
        """Delete the drafts whose link expired; how many."""
        with self.sessions() as session, session.begin():
            result = session.execute(delete(DraftRow).where(DraftRow.expires_at <= self.clock()))
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Resumed:
    """A form page started again from a draft.

    Attributes:
        boxes: what each box holds: the customer's own edits, else the live value.
        changed: the fields whose value in the source changed since the draft was saved.
        saved_at: when the draft was saved.
    """

    boxes: Mapping[str, Any]
    changed: tuple[str, ...]
    saved_at: dt.datetime


def resume(definition: FormDefinition, live: Mapping[str, str | None], draft: Draft) -> Resumed:
    """The boxes of a page opened now from `draft`, with the live values `live`.

    A box is the customer's edit when it no longer holds what the page showed then; every
    other box shows the live value (the page's new base), and a value that changed in the
    source since the draft is listed, so that the customer sees it before submitting.
    """
    boxes: dict[str, Any] = {}
    changed = []
    for field in definition.fields_for(Channel.ONLINE):
        shown_then = draft.shown.get(field.name)
        edited = field.name in draft.boxes and draft.boxes[field.name] != form_value(
            field, shown_then
        )
        live_value = live.get(field.name)
        boxes[field.name] = draft.boxes[field.name] if edited else form_value(field, live_value)
        if field.name in draft.shown and shown_then != live_value:
            changed.append(field.name)
    return Resumed(boxes=boxes, changed=tuple(changed), saved_at=draft.saved_at)
