"""Contact pressure: one row per message counted against the caps, and channels' bookings.

A `contact_pressure` row is written in the same transaction as the claim of the message it
counts (`queued` -> `sending`), keyed by the message: a worker killed after the claim leaves
the message `sending` (never resent blindly) and its row counted once; a message claimed again
(a retry, a resolved unknown) keeps its one row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from forms_service.storage.model import Base


class ContactPressure(Base):
    """One message that counts against a customer's caps, across every campaign."""

    __tablename__ = "contact_pressure"
    __table_args__ = (Index("ix_contact_pressure_customer_at", "customer_key", "at"),)

    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: `consent.interfaces.customer_key`: connector/record type/record key.
    customer_key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    #: When it was handed over (the claim).
    at: Mapped[dt.datetime]


class ChannelBooking(Base):
    """How many messages are planned on a channel in one day or hour (its capacity)."""

    __tablename__ = "channel_bookings"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: "day" or "hour".
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: The period's start (UTC; a day starts at midnight in the rules' time zone).
    starts_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)
