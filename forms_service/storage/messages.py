"""Outbound messages: one row per document, channel and reminder, plus campaigns' settings.

Also the per-channel send schedule every worker shares (the rate limit).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    bindparam,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import BindParameter

from forms_service.storage.model import Base, _enum
from forms_service.storage.sql import unindexed


class MessageStatus(StrEnum):
    """Where one outbound message is (the transitions are delivery/service.py's table).

    queued -> sending -> sent -> accepted -> delivered; or soft_bounced (the provider may
    still deliver it), failed (permanent: the document falls back to its next channel),
    unreachable (the source's address or number cannot be used: never sent), suppressed
    (the customer opted out), unknown (a send was started and its outcome never recorded:
    never sent again blindly, see docs/delivery.md "Sending").
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    SOFT_BOUNCED = "soft_bounced"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SUPPRESSED = "suppressed"
    UNKNOWN = "unknown"


#: Messages handed to the provider (whatever came back since).
HANDED_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.ACCEPTED,
        MessageStatus.DELIVERED,
        MessageStatus.SOFT_BOUNCED,
    }
)
#: Messages whose channel is given up for this document.
GIVEN_UP_STATUSES = frozenset(
    {MessageStatus.FAILED, MessageStatus.UNREACHABLE, MessageStatus.SUPPRESSED}
)


def new_message_id() -> str:
    """128 random bits as 32 lower-case hex digits: safe in a VERP address and a DLR URL."""
    return secrets.token_hex(16)


class Message(Base):
    """One message of one document on one channel: written before the send, updated after."""

    __tablename__ = "messages"
    __table_args__ = (
        # A second row for the same send is impossible: a retry, a racing worker or a
        # resumed command finds the first one.
        UniqueConstraint("document_id", "channel", "reminder", name="uq_messages_send"),
        Index("ix_messages_status_next", "status", "next_attempt_at"),
        Index("ix_messages_campaign_status", "campaign", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    campaign: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    #: 0 for the first message, n for the n-th reminder.
    reminder: Mapped[int] = mapped_column(Integer, default=0)
    #: The address or number it goes to (empty for letters: the address is the record's).
    recipient: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    #: Why it failed, was unreachable or suppressed: a stable code (no personal data).
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    #: When the current attempt was started (status sending).
    sending_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


def among(
    message_ids: Collection[str] | BindParameter[Any], *statuses: MessageStatus
) -> ColumnElement[bool]:
    """The rows of `message_ids` whose status is one of `statuses`, found by their ids.

    `message_ids` is a list, or an expanding bind parameter (`MESSAGE_IDS`) for a statement
    built once. Never by `ix_messages_status_next`: a campaign's thousands of queued rows
    would be read to find a group's ten (see storage/sql.py's `unindexed`).
    """
    ids = message_ids if isinstance(message_ids, BindParameter) else list(message_ids)
    return and_(Message.id.in_(ids), unindexed(Message.status).in_(statuses))


#: The message ids of a statement built once and executed with `{"ids": [...]}`.
MESSAGE_IDS: Final[BindParameter[list[str]]] = bindparam("ids", expanding=True)


class DeliveryCampaign(Base):
    """How a campaign's documents are sent: channels, order, reminders (one row a campaign)."""

    __tablename__ = "delivery_campaigns"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The channels that may be used, in the order they are tried.
    channels: Mapped[list[str]] = mapped_column(JSON)
    #: Whether the record's preferred channel goes first (False: the order is forced).
    honour_preference: Mapped[bool] = mapped_column(default=True)
    purpose: Mapped[str] = mapped_column(String(16))
    #: Days after the first message when reminders go out, e.g. [7, 21].
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: "same": a reminder goes on the channel of the last message; "next": on the next one.
    remind_channel: Mapped[str] = mapped_column(String(8), default="same")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SendSchedule(Base):
    """The next free send slot of a channel, shared by every worker (the rate limit)."""

    __tablename__ = "send_schedule"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: Seconds since the epoch of the next free slot.
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)
