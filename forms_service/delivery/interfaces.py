"""What the parts of delivery agree on: channels, renditions, providers and their reports.

The flow is one line: a campaign's documents are issued; for each, delivery picks a channel,
writes a message row, renders the message for that channel (`Renderer`), and a job hands it to
the channel's provider (`EmailProvider`, `SmsProvider`; letters go to the print files). What
comes back (an SMTP bounce, a Kannel delivery report) is parsed into a `DeliveryReport` and
given to a `ReportSink`, which records it on the message and in the document's history, and
falls back to the next channel when the failure is permanent.

Nothing here imports Flask or a provider's library: providers are modules of their own
(delivery/providers/), chosen by the settings in the composition root (runtime/).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from forms_service.core.errors import FormsError


class Channel(StrEnum):
    """The channels a document can be sent on."""

    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"


class Purpose(StrEnum):
    """Why a message is sent: service messages are not optional, commercial ones need consent.

    Only service messages go without `List-Unsubscribe`.
    """

    SERVICE = "service"
    REGULATORY = "regulatory"
    COMMERCIAL = "commercial"


@dataclass(frozen=True)
class MessageContext:
    """Everything a rendition may show, for one document on one channel.

    Attributes:
        form_id: the form (its definition names the message template).
        locale: "fr" or "en".
        record: the source values the message may quote (names for the greeting); never put
            into a URL or a log.
        link: the document's full signed link.
        short_link: its short form (`https://host/r/<code>`), for SMS and QR codes.
        deadline: the last day an answer is expected (the link's expiry, in the office's zone).
        reminder: 0 for the first message, n for the n-th reminder.
        unsubscribe_url: the one-click unsubscribe link (RFC 8058), None for service messages.
    """

    form_id: str
    locale: str
    record: Mapping[str, Any]
    link: str
    short_link: str
    deadline: dt.date
    reminder: int = 0
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who a message says it is from."""

    name: str
    address: str = ""
    reply_to: str = ""


@dataclass(frozen=True)
class EmailRendition:
    """An e-mail ready to be sent, but for its envelope and transport headers.

    `html` and `text` are the two parts of multipart/alternative; the provider adds
    Message-ID, Date, the bounce address (Return-Path), List-Unsubscribe and DKIM.
    """

    subject: str
    text: str
    html: str
    sender: Sender
    purpose: Purpose
    locale: str
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class SmsRendition:
    """An SMS: its text and the sender shown on the phone (an alphanumeric id or a number)."""

    text: str
    sender: str
    purpose: Purpose
    locale: str


class Renderer(Protocol):
    """Renders a form's message for one channel (delivery/messages.py)."""

    def render_email(self, context: MessageContext) -> EmailRendition: ...

    def render_sms(self, context: MessageContext) -> SmsRendition: ...


@dataclass(frozen=True)
class OutgoingEmail:
    """One e-mail to send.

    `message_id` is the service's message row id, which the provider puts into the Message-ID
    and the bounce address, so that a bounce finds its message.
    """

    message_id: str
    to: str
    rendition: EmailRendition


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS to send; `message_id` goes into the delivery-report URL given to the gateway."""

    message_id: str
    to: str
    rendition: SmsRendition


@dataclass(frozen=True)
class SendResult:
    """What a provider said when it took a message.

    Attributes:
        provider_ref: the provider's reference (the Message-ID header for e-mail, the
            gateway's id or the service's own for SMS), stored on the message row.
        at: when the provider took it.
    """

    provider_ref: str
    at: dt.datetime


class TemporaryFailure(FormsError):
    """The provider cannot take the message now (relay or gateway down, throttled): retry."""

    status = 503
    code = "delivery_temporary_failure"


class PermanentFailure(FormsError):
    """The message can never go this way (invalid address or number, refused recipient).

    The document falls back to its next channel.
    """

    status = 422
    code = "delivery_permanent_failure"


class EmailProvider(Protocol):
    """Hands e-mails to a relay (SMTP) or a local sink."""

    def send(self, message: OutgoingEmail) -> SendResult:
        """Send one e-mail; raises TemporaryFailure or PermanentFailure."""
        ...


class SmsProvider(Protocol):
    """Hands SMS to a gateway (Kannel's sendsms) or a local sink."""

    def send(self, message: OutgoingSms) -> SendResult:
        """Send one SMS; raises TemporaryFailure or PermanentFailure."""
        ...


class ReportStatus(StrEnum):
    """What a delivery report or a bounce says of a message."""

    #: Taken by the next hop (Kannel's SMSC accepted it, buffered): not yet delivered.
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    #: A temporary failure (mailbox full, phone off): the provider may still deliver it.
    SOFT_BOUNCE = "soft_bounce"
    #: A permanent failure (no such mailbox, invalid number, DLR failed).
    HARD_BOUNCE = "hard_bounce"
    #: The recipient marked the e-mail as spam (feedback loop, ARF).
    COMPLAINT = "complaint"


#: The statuses after which the channel is given up for this document.
PERMANENT_STATUSES = frozenset({ReportStatus.HARD_BOUNCE, ReportStatus.COMPLAINT})


@dataclass(frozen=True)
class DeliveryReport:
    """A parsed delivery report (Kannel DLR) or bounce (RFC 3464 DSN, asynchronous bounce).

    Attributes:
        message_id: the service's message id the report is about (from the DLR URL, the VERP
            bounce address or the Message-ID the bounce quotes).
        channel: the message's channel.
        status: what happened.
        at: when the provider says it happened (or when the report arrived).
        code: the provider's own code (SMTP status such as "5.1.1", Kannel's DLR type), no
            personal data.
        detail: further codes and figures, no personal data.
    """

    message_id: str
    channel: Channel
    status: ReportStatus
    at: dt.datetime
    code: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


class ReportSink(Protocol):
    """Records reports: the message's status, the document's history, the fallback."""

    def record_report(self, report: DeliveryReport) -> None: ...


class ForgedReport(FormsError):
    """A delivery report or bounce whose signature or reference does not check."""

    status = 403
    code = "forged_report"
