"""The consent ledger's tables: the wordings, the append-only events, the current states.

`consent_events` only ever grows: every opt-in and every opt-out, with when, through what and
the wording shown (a row of `consent_texts`, stored once and named by its SHA-256).
`consent_states` holds the latest event of each (customer, purpose, channel), written in the
same transaction as the event, so that a campaign reads a million customers' states by
primary key (consent/ledger.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forms_service.storage.model import Base


class ConsentText(Base):
    """One wording a customer was shown (or read out), stored once."""

    __tablename__ = "consent_texts"

    #: The SHA-256 of the UTF-8 text, in hex: the wording's version.
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    #: The language it was written in (fr, en).
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime]


class ConsentEvent(Base):
    """One opt-in or opt-out of one customer for one purpose on one channel."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_customer", "customer", "purpose", "channel", "at"),
        Index("ix_consent_events_unknown", "unknown_customer", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The customer key (consent/interfaces.py: connector/record type/record key).
    customer: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    #: granted or withdrawn.
    state: Mapped[str] = mapped_column(String(16))
    #: When the customer gave it (the answer's time, the call's time, the click's time).
    at: Mapped[dt.datetime]
    #: When the service wrote it down.
    recorded_at: Mapped[dt.datetime]
    #: Through what: form, clerk, api, import, unsubscribe.
    source: Mapped[str] = mapped_column(String(16))
    #: The document answered or unsubscribed from, when there is one.
    document_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: The way it came: online, pdf, paper (a form), email (a link), phone (a clerk), crm.
    via: Mapped[str | None] = mapped_column(String(16))
    #: The clerk's username or the API client's name (None: the customer themself).
    actor: Mapped[str | None] = mapped_column(String(128))
    #: The wording shown or read out (None: unknown, e.g. imported from a CRM column).
    text_hash: Mapped[str | None] = mapped_column(ForeignKey("consent_texts.hash"))
    #: The source record was not found when the event was written: kept and reported.
    unknown_customer: Mapped[bool] = mapped_column(default=False)
    #: Codes and references (change set, form version, CRM column): no personal data.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConsentStateRow(Base):
    """The current state of one (customer, purpose, channel): its latest event."""

    __tablename__ = "consent_states"

    customer: Mapped[str] = mapped_column(String(200), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    #: The event's `at`: an older event written later (an import of history) changes nothing.
    at: Mapped[dt.datetime]
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_events.id"))
