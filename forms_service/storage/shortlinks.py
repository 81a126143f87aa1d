"""Short links: one row per code, holding a digest of the code and never the code itself.

A short link's code (issuing/shortcodes.py) is an HMAC of the document id, so the service can
print it again; the table keeps only the SHA-256 of the code, looked up by that digest: a copy
of the database gives no working link. The same row holds the digest of the document's access
code (the code typed from the letter), which lives and dies with the short link. A row names a document and nothing personal.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from forms_service.storage.model import Base


class ShortLink(Base):
    """One short link of a document."""

    __tablename__ = "short_links"

    #: SHA-256 (hex) of the normalised code.
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(32), ForeignKey("documents.id"), index=True)
    #: The link signing key the code was derived with (its id only).
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    #: The document's expiry when the link was made: the link expires with it.
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    #: SHA-256 of the document's access code, typed at `host/r` (issuing/accesscodes.py);
    #: None for links made before access codes.
    access_digest: Mapped[str | None] = mapped_column(String(64), unique=True)


def code_digest(code: str) -> str:
    """The digest a normalised code is stored and looked up by."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def links_of(session: Session, document_id: str) -> list[ShortLink]:
    """A document's short links, oldest first."""
    query = select(ShortLink).where(ShortLink.document_id == document_id)
    return list(session.scalars(query.order_by(ShortLink.created_at)))
