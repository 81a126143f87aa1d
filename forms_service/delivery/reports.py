"""Providers' reports as DeliveryReports: Kannel's delivery reports and bounced e-mails.

==========================================================================================
INTERIM (i13flow): a minimal stand-in with the agreed signatures, so that the webhooks work
and are tested on this branch. i13transport owns this module: at merge their version
(signature scheme of kannel_dlr_url, RFC 3464 DSNs, VERP, ARF complaints) replaces this one
whole; the webhooks only call `parse_kannel_dlr(params, secret)` and `parse_bounce(raw)`.
==========================================================================================
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import urlencode

from forms_service.delivery.interfaces import Channel, DeliveryReport, ForgedReport, ReportStatus

#: Kannel's DLR types (`%d` of the dlr-url) -> what they say.
_DLR_TYPES = {
    "1": ReportStatus.DELIVERED,
    "2": ReportStatus.HARD_BOUNCE,
    "4": ReportStatus.ACCEPTED,
    "8": ReportStatus.ACCEPTED,
    "16": ReportStatus.HARD_BOUNCE,
}
_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")


def _signature(message_id: str, secret: bytes) -> str:
    return hmac.new(secret, f"dlr:{message_id}".encode(), hashlib.sha256).hexdigest()


def kannel_dlr_url(base_url: str, message_id: str, secret: bytes) -> str:
    """The dlr-url given to Kannel for one message (Kannel fills in `%d`, the DLR type)."""
    query = urlencode({"id": message_id, "sig": _signature(message_id, secret)})
    return f"{base_url.rstrip('/')}/hooks/kannel/dlr?{query}&type=%d"


def parse_kannel_dlr(params: Mapping[str, str], secret: bytes) -> DeliveryReport:
    """The report of a Kannel dlr-url call; ForgedReport when its signature does not check."""
    message_id = params.get("id", "")
    signature = params.get("sig", "")
    if not secret or not _MESSAGE_ID.fullmatch(message_id):
        raise ForgedReport("the delivery report is not signed by this service")
    if not hmac.compare_digest(signature, _signature(message_id, secret)):
        raise ForgedReport("the delivery report is not signed by this service")
    status = _DLR_TYPES.get(params.get("type", ""))
    if status is None:
        raise ForgedReport("unknown delivery report type")
    return DeliveryReport(
        message_id=message_id,
        channel=Channel.SMS,
        status=status,
        at=dt.datetime.now(dt.UTC),
        code=f"dlr:{params.get('type')}",
    )


def parse_bounce(raw: bytes) -> DeliveryReport | None:
    """The report of a bounced e-mail (a DSN quoting our Message-ID); None when not one."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if message.get_content_type() != "multipart/report":
        return None
    status_code = ""
    found_id = None
    for part in message.walk():
        text = ""
        if part.get_content_type() in ("message/delivery-status", "text/rfc822-headers"):
            payload = part.get_payload()
            text = payload if isinstance(payload, str) else str(part)
        elif part.get_content_type() == "message/rfc822":
            text = str(part)
        else:
            continue
        code = re.search(r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", text, re.M | re.I)
        if code and not status_code:
            status_code = code.group(1)
        quoted = re.search(r"^Message-ID:\s*<([0-9a-f]{32})@", text, re.M | re.I)
        if quoted and found_id is None:
            found_id = quoted.group(1)
    if found_id is None or not status_code:
        return None
    status = ReportStatus.HARD_BOUNCE if status_code.startswith("5") else ReportStatus.SOFT_BOUNCE
    if status_code.startswith("2"):
        status = ReportStatus.DELIVERED
    return DeliveryReport(
        message_id=found_id,
        channel=Channel.EMAIL,
        status=status,
        at=dt.datetime.now(dt.UTC),
        code=status_code,
    )
