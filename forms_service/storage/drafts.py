"""Answers in progress: one encrypted draft per document, kept until its link expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forms_service.storage.model import Base


class Draft(Base):
    """The answer a customer has started on a document's online form, sealed.

    `sealed` is encrypted and authenticated (intake/online/drafts.py): the database holds no
    readable value of it. Deleted when the answer is submitted; ignored once it expired.
    """

    __tablename__ = "drafts"

    document_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("documents.id"), primary_key=True
    )
    sealed: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
