"""What comes back from the providers, parsed into DeliveryReports: Kannel DLRs and e-mail bounces.

Kannel calls the URL the service gave it with each message (`kannel_dlr_url`): the message id
and an HMAC of it travel in the URL, Kannel adds the report's type and time; a URL whose HMAC
does not check is a forged report (`parse_kannel_dlr` raises ForgedReport).

A bounce is an e-mail: a delivery status notification (RFC 3464, multipart/report;
report-type=delivery-status), a feedback-loop complaint (ARF, RFC 5965, report-type=
feedback-report), or a free-form message from an older MTA. `parse_bounce` finds the message it
is about by the VERP envelope address (`bounces+<message id>@domain`, which the SMTP provider
sends with) or by the Message-ID the bounce quotes (ours read `<message id>.<16 hex>@domain>`:
the flow compares the whole quoted id with the message's provider reference, so that a bounce
made up from a message id alone is refused), and what happened by its Action and Status fields,
or, in a free-form bounce, by the SMTP codes and words it contains. Nothing personal (no
address, no diagnostic text) goes into the report: codes only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from forms_service.core.errors import ConfigurationError, FormsError
from forms_service.delivery.interfaces import (
    Channel,
    DeliveryReport,
    ForgedReport,
    ReportStatus,
)

if TYPE_CHECKING:
    from forms_service.config import Settings

# -- Kannel delivery reports ---------------------------------------------------------------

#: Kannel's DLR types (dlr-mask bits) and what each says of the message.
KANNEL_DLR_STATUSES = {
    1: ReportStatus.DELIVERED,  # delivered to the phone
    2: ReportStatus.HARD_BOUNCE,  # not delivered to the phone
    4: ReportStatus.ACCEPTED,  # buffered by the SMSC
    8: ReportStatus.ACCEPTED,  # taken by the SMSC (submit)
    16: ReportStatus.HARD_BOUNCE,  # refused by the SMSC
}
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class UnreadableReport(FormsError):
    """A report whose signature checks but whose content is not one Kannel sends."""

    status = 400
    code = "unreadable_report"


def dlr_secret(settings: Settings) -> bytes:
    """The key of the DLR URLs: KANNEL_DLR_SECRET, else one derived from SECRET_KEY."""
    if settings.kannel_dlr_secret:
        return settings.kannel_dlr_secret.encode()
    if not settings.secret_key:
        raise ConfigurationError("KANNEL_DLR_SECRET (or SECRET_KEY) is needed to sign DLR URLs")
    return hmac.new(settings.secret_key.encode(), b"kannel-dlr-url", hashlib.sha256).digest()


def _signature(message_id: str, secret: bytes) -> str:
    digest = hmac.new(secret, b"kannel-dlr:" + message_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]  # 128 bits


def kannel_dlr_url(base_url: str, message_id: str, secret: bytes) -> str:
    """The dlr-url given to Kannel for one message: Kannel fills in `%d` (type) and `%T` (time).

    The message id must need no URL quoting: a `%` of the URL would be one of Kannel's escapes.
    """
    if not _SAFE_ID.fullmatch(message_id):
        raise ValueError(f"message id {message_id!r} is not [A-Za-z0-9_-]")
    if "%" in base_url or "#" in base_url:
        raise ValueError("the DLR URL may hold no % or # (Kannel's escapes)")
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}m={message_id}&s={_signature(message_id, secret)}&type=%d&at=%T"


def parse_kannel_dlr(params: Mapping[str, str], secret: bytes) -> DeliveryReport:
    """The report a Kannel DLR callback carries (its query parameters).

    Raises:
        ForgedReport: the message id or its signature is missing or does not check.
        UnreadableReport: a signed callback with a type Kannel never sends.
    """
    message_id, signature = params.get("m", ""), params.get("s", "")
    if not message_id or not signature or not _SAFE_ID.fullmatch(message_id):
        raise ForgedReport("forged_report")
    if not hmac.compare_digest(signature.encode(), _signature(message_id, secret).encode()):
        raise ForgedReport("forged_report")
    raw_type = params.get("type", "")
    if not raw_type.isdigit() or int(raw_type) not in KANNEL_DLR_STATUSES:
        raise UnreadableReport("unknown DLR type", field="type")
    dlr_type = int(raw_type)
    return DeliveryReport(
        message_id=message_id,
        channel=Channel.SMS,
        status=KANNEL_DLR_STATUSES[dlr_type],
        at=_unix_time(params.get("at", "")),
        code=str(dlr_type),
        detail={"dlr_type": dlr_type},
    )


def _unix_time(value: str) -> dt.datetime:
    if value.isdigit():
        try:
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)


# -- e-mail bounces ------------------------------------------------------------------------

#: A Message-ID the SMTP provider wrote: `<message id>.<16 hex>@domain>`.
OUR_MESSAGE_ID = re.compile(r"<([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([0-9a-f]{16})@([^<>\s]+)>")
_MESSAGE_ID_LINE = re.compile(r"^(?:message-id|in-reply-to|references):(.*)$", re.I | re.M)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY_CODE = re.compile(r"(?<!\d)([45]\d\d)(?:[ -]|$)", re.M)
_SOFT_WORDS = re.compile(
    r"delay|temporar|will (?:be )?retr|try again|deferred|mailbox (?:is )?full|over quota", re.I
)
_HARD_WORDS = re.compile(
    r"permanent|could not be delivered|couldn't be delivered|undeliverable|delivery failed|"
    r"does not exist|user unknown|no such user|address rejected|delivery has failed",
    re.I,
)
#: The envelope and header fields a bounce names its recipient (our VERP address) in.
_RECIPIENT_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To", "To")


def parse_bounce(
    raw: bytes,
    *,
    envelope_recipients: Iterable[str] = (),
    bounce_local_part: str = "bounces",
) -> DeliveryReport | None:
    """The report a bounce or complaint carries; None for mail that is neither (auto-replies).

    Args:
        raw: the message as received on the bounce address.
        envelope_recipients: the RCPT TO addresses it came with (the VERP address), if known.
        bounce_local_part: the local part of EMAIL_BOUNCE_ADDRESS (`bounces`).
    """
    message = message_from_bytes(raw, policy=default_policy)
    verp = _verp_message_id(message, envelope_recipients, bounce_local_part)
    quoted = _our_quoted_message_id(message)
    message_id = verp or (quoted.group(1) if quoted else "")
    if not message_id:
        return None
    detail: dict[str, Any] = {"found_by": "verp" if verp else "message-id"}
    if quoted:
        detail["quoted_message_id"] = quoted.group(0)
    report_type = (
        str(message.get_param("report-type", "")).lower()
        if message.get_content_type() == "multipart/report"
        else ""
    )
    at = _date(message)
    if report_type == "feedback-report":
        feedback = _feedback_type(message)
        detail["feedback_type"] = feedback
        return DeliveryReport(
            message_id, Channel.EMAIL, ReportStatus.COMPLAINT, at, feedback, detail
        )
    if report_type == "delivery-status":
        found = _delivery_status(message)
        if found is not None:
            status, code, extra = found
            return DeliveryReport(message_id, Channel.EMAIL, status, at, code, detail | extra)
    if not _from_a_mail_system(message):
        return None  # a person's (or a vacation) reply to the bounce address: no report
    free_form = _free_form_status(message)
    if free_form is None:
        return None
    return DeliveryReport(message_id, Channel.EMAIL, free_form[0], at, free_form[1], detail)


def _verp_message_id(message: Message, envelope: Iterable[str], local_part: str) -> str:
    pattern = re.compile(rf"^{re.escape(local_part)}\+([A-Za-z0-9][A-Za-z0-9_-]{{0,63}})@", re.I)
    headers = [str(value) for name in _RECIPIENT_HEADERS for value in message.get_all(name, [])]
    for _, address in [("", a) for a in envelope] + getaddresses(headers):
        match = pattern.match(address.strip().strip("<>"))
        if match:
            return match.group(1)
    return ""


def _our_quoted_message_id(message: Message) -> re.Match[str] | None:
    """The first of our Message-IDs the bounce refers to or quotes (headers, parts, text)."""
    for text in _quoting_texts(message):
        match = OUR_MESSAGE_ID.search(text)
        if match:
            return match
    return None


def _quoting_texts(message: Message) -> Iterator[str]:
    yield " ".join(str(message.get(name, "")) for name in ("In-Reply-To", "References"))
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                yield str(inner.get("Message-ID", ""))
        elif content_type == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_text(part))
            yield str(headers.get("Message-ID", ""))
    for part in message.walk():
        if part.get_content_type().startswith("text/"):
            # A free-form bounce quotes the original headers in its text.
            yield " ".join(_MESSAGE_ID_LINE.findall(_text(part)))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def _feedback_type(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            match = re.search(r"^Feedback-Type:\s*([A-Za-z0-9_-]+)", _flat(part), re.I | re.M)
            if match:
                return match.group(1).lower()
    return "abuse"


def _flat(part: Message) -> str:
    """A message/* part's fields as text, however the parser held them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(
            "\n".join(f"{k}: {v}" for k, v in block.items())
            for block in payload
            if isinstance(block, Message)
        )
    return str(payload)


#: Worst first: the report says the worst of what its recipients' blocks say.
_ACTIONS = {
    "failed": 0,
    "delayed": 1,
    "delivered": 2,
    "relayed": 3,
    "expanded": 3,
}


def _delivery_status(message: Message) -> tuple[ReportStatus, str, dict[str, Any]] | None:
    blocks: list[Message] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks.extend(b for b in payload if isinstance(b, Message))
    recipients = [b for b in blocks if b.get("Action")]
    if not recipients:
        return None
    block = min(recipients, key=lambda b: _ACTIONS.get(str(b["Action"]).strip().lower(), 9))
    action = str(block["Action"]).strip().lower()
    status_match = _ENHANCED.search(str(block.get("Status", "")))
    status_code = ".".join(status_match.groups()) if status_match else ""
    extra: dict[str, Any] = {"action": action}
    reply = re.search(r"smtp;\s*(\d{3})", str(block.get("Diagnostic-Code", "")), re.I)
    if reply:
        extra["smtp_code"] = reply.group(1)
    if action == "failed":
        status = (
            ReportStatus.SOFT_BOUNCE if status_code.startswith("4") else ReportStatus.HARD_BOUNCE
        )
    elif action == "delayed":
        status = ReportStatus.SOFT_BOUNCE
    elif action == "delivered":
        status = ReportStatus.DELIVERED
    else:
        status = ReportStatus.ACCEPTED
    return status, status_code, extra


_MAIL_SYSTEM = re.compile(r"mailer-daemon|postmaster|mail delivery|mail system", re.I)


def _from_a_mail_system(message: Message) -> bool:
    """A free-form bounce comes from a mail system (with the null sender), not a person."""
    return str(message.get("Return-Path", "")).strip() == "<>" or bool(
        _MAIL_SYSTEM.search(str(message.get("From", "")))
    )


def _free_form_status(message: Message) -> tuple[ReportStatus, str] | None:
    """A non-standard bounce's meaning from its SMTP codes, else from its words."""
    texts = [str(message.get("Subject", ""))]
    texts += [_text(p) for p in message.walk() if p.get_content_type() == "text/plain"]
    text = "\n".join(texts)
    enhanced = next((m for m in _ENHANCED.finditer(text) if m.group(1) in "45"), None)
    if enhanced:
        code = ".".join(enhanced.groups())
        hard = enhanced.group(1) == "5"
        return (ReportStatus.HARD_BOUNCE if hard else ReportStatus.SOFT_BOUNCE), code
    reply = _REPLY_CODE.search(text)
    if reply:
        hard = reply.group(1).startswith("5")
        return (ReportStatus.HARD_BOUNCE if hard else ReportStatus.SOFT_BOUNCE), reply.group(1)
    if _SOFT_WORDS.search(text):
        return ReportStatus.SOFT_BOUNCE, ""
    if _HARD_WORDS.search(text):
        return ReportStatus.HARD_BOUNCE, ""
    return None


def _date(message: Message) -> dt.datetime:
    value = message.get("Date")
    if value:
        try:
            parsed = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
    return dt.datetime.now(dt.UTC)
