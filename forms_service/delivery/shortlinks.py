"""Short links `https://host/r/<code>` for SMS and QR codes: made, resolved, revoked.

Issuing makes one for every new document in the same transaction (issuing/shortcodes.py);
`ShortLinks` is how delivery and the web reach them. A code resolves to its document, which the
web layer sends on (302) to the document's normal signed link, so that every page after it
(the identity question, an answer already processed) is the long link's own. A short link
stops with its document: expired or withdrawn, it gives the long link's 410 page; an unknown
or malformed code gives the long link's "no such form" page, after the same single lookup by
digest, so that a code tells nothing more than a long link would. Codes are never logged
(core/logs.py redacts `/r/<code>` like `/f/<token>`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import Gone, NotFound
from forms_service.issuing.accesscodes import access_digest, grouped, read_access_code
from forms_service.issuing.shortcodes import ShortCodes, normalise_code, short_url
from forms_service.issuing.tokens import ExpiredLink, SigningKey, UnknownDocument
from forms_service.storage.model import Document, DocumentStatus
from forms_service.storage.shortlinks import ShortLink, code_digest

__all__ = [
    "ExpiredLink",
    "RevokedShortLink",
    "ShortLinkTarget",
    "ShortLinks",
    "UnknownAccessCode",
    "short_url",
]


class RevokedShortLink(Gone):
    """The short link, or its document, was withdrawn (the long link's `revoked_link` page)."""

    code = "revoked_link"


class UnknownAccessCode(NotFound):
    """A well-typed access code that no document has (said on the entry page itself)."""

    code = "access_code_unknown"


@dataclass(frozen=True)
class ShortLinkTarget:
    """Where a working short link leads: the document and the expiry its long link carries."""

    document_id: str
    expires_at: dt.datetime


class ShortLinks:
    """Short links of documents, with the link signing keys of the service."""

    def __init__(self, keys: Sequence[SigningKey], clock: Clock = utc_now) -> None:
        self.codes = ShortCodes(keys)
        self.clock = clock

    def create(
        self,
        session: Session,
        document_id: str,
        expires_at: dt.datetime,
        *,
        now: dt.datetime | None = None,
    ) -> str:
        """The code of a document's short link, made in the caller's transaction if needed."""
        return self.codes.add(session, document_id, expires_at, now or self.clock())

    def create_many(
        self, session: Session, documents: Sequence[tuple[str, dt.datetime]]
    ) -> dict[str, str]:
        """`create` for each (document id, expiry): document id -> code, in one query."""
        return self.codes.ensure(session, documents, self.clock())

    def code_of(self, session: Session, document_id: str) -> str | None:
        """The code of a document's working short link (None: issued before short links)."""
        return self.codes.existing_code(session, document_id)

    def target(
        self, session: Session, code: str, now: dt.datetime | None = None
    ) -> ShortLinkTarget:
        """Where a code leads.

        Raises:
            UnknownDocument: not a code, or no such code (404, as a long link to nothing).
            ExpiredLink: the link or its document has expired (410).
            RevokedShortLink: the link or its document was withdrawn (410).
        """
        canonical = normalise_code(code)
        # A malformed code costs the same lookup as a well-formed unknown one.
        digest = code_digest(canonical or "-" * 20)
        row = session.execute(
            select(ShortLink, Document.status, Document.expires_at)
            .join(Document, Document.id == ShortLink.document_id)
            .where(ShortLink.digest == digest)
        ).one_or_none()
        if canonical is None or row is None:
            raise UnknownDocument("This link does not lead to any form.")
        return self._working(row, now)

    def access_target(
        self, session: Session, typed: str, now: dt.datetime | None = None
    ) -> ShortLinkTarget:
        """Where an access code typed from the letter leads (issuing/accesscodes.py).

        A mistyped code (length, a character codes never use, the check character) is
        refused before any lookup; a well-typed one costs one lookup by digest.

        Raises:
            MistypedAccessCode: the typed text cannot be a code (nothing looked up).
            UnknownAccessCode: no document has this code.
            ExpiredLink: the link or its document has expired (410).
            RevokedShortLink: the link or its document was withdrawn (410).
        """
        canonical = read_access_code(typed)
        row = session.execute(
            select(ShortLink, Document.status, Document.expires_at)
            .join(Document, Document.id == ShortLink.document_id)
            .where(ShortLink.access_digest == access_digest(canonical))
        ).one_or_none()
        if row is None:
            raise UnknownAccessCode("No form has this code.", field="code")
        return self._working(row, now)

    def _working(self, row: Any, now: dt.datetime | None) -> ShortLinkTarget:
        link, status, document_expires = row
        if link.revoked_at is not None or status is DocumentStatus.REVOKED:
            raise RevokedShortLink("This form was withdrawn.")
        expires_at = min(link.expires_at, document_expires)
        if expires_at <= (now or self.clock()):
            raise ExpiredLink("This link has expired.")
        return ShortLinkTarget(link.document_id, document_expires)

    def access_code_of(self, session: Session, document_id: str) -> str | None:
        """The access code of a document's working short link, as printed (None: none)."""
        codes = self.codes.existing_access_codes(session, [document_id])
        return grouped(codes[document_id]) if document_id in codes else None

    def resolve(self, session: Session, code: str, now: dt.datetime | None = None) -> str:
        """The document a code leads to; raises NotFound (unknown) or Gone (expired, revoked)."""
        return self.target(session, code, now).document_id

    def revoke(self, session: Session, document_id: str, now: dt.datetime | None = None) -> int:
        """Withdraw a document's short links (its long link is untouched); give how many.

        Raises:
            NotFound: no such document.
        """
        if session.get(Document, document_id) is None:
            raise NotFound("unknown document", field="document")
        links = session.scalars(
            select(ShortLink).where(
                ShortLink.document_id == document_id, ShortLink.revoked_at.is_(None)
            )
        ).all()
        for link in links:
            link.revoked_at = now or self.clock()
        return len(links)
