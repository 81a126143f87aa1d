"""Providers that write files instead of sending: var/mail/*.eml and var/sms/*.txt.

For a laptop without a local SMTP server (`EMAIL_PROVIDER=file`) or without Kannel
(`SMS_PROVIDER=file`, the default when Kannel is not installed): the message is built and
checked exactly as the real provider would (same headers, same address and number checks),
then written where a newcomer can read it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from forms_service.delivery.interfaces import OutgoingEmail, OutgoingSms, SendResult
from forms_service.delivery.local_mail import MailDirectory
from forms_service.delivery.providers.kannel import checked_number, needs_ucs2
from forms_service.delivery.providers.smtp import SmtpProvider, SmtpSettings, verp_address

if TYPE_CHECKING:
    from forms_service.config import Settings


class EmailFileSink:
    """An `EmailProvider` writing each message, as the relay would get it, under var/mail/."""

    def __init__(self, settings: Settings, directory: Path | None = None) -> None:
        self._builder = SmtpProvider(SmtpSettings.from_settings(settings))
        self.mails = MailDirectory(directory or settings.var_dir / "mail")
        self._bounce_address = settings.email_bounce_address

    def send(self, message: OutgoingEmail) -> SendResult:
        built = self._builder.build(message)
        data = self._builder.message_bytes(built)
        envelope_from = verp_address(self._bounce_address, message.message_id)
        self.mails.write(data, envelope_from, [built.recipient])
        return SendResult(provider_ref=built.message_id, at=dt.datetime.now(dt.UTC))


class SmsFileSink:
    """An `SmsProvider` writing each SMS as var/sms/<time>-<message id>.txt (and index.jsonl)."""

    def __init__(self, settings: Settings, directory: Path | None = None) -> None:
        self.directory = directory or settings.var_dir / "sms"
        self.default_region = settings.sms_default_region
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendResult:
        to = checked_number(message.to, self.default_region)
        now = dt.datetime.now(dt.UTC)
        text = message.rendition.text
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{now:%Y%m%dT%H%M%S%f}-{message.message_id}.txt"
        coding = "UCS-2" if needs_ucs2(text) else "GSM-7"
        with self._lock:
            (self.directory / name).write_text(
                f"From: {message.rendition.sender}\nTo: {to}\nCoding: {coding}\n\n{text}\n",
                encoding="utf-8",
            )
            entry = {
                "file": name,
                "at": now.isoformat(),
                "to": to,
                "message_id": message.message_id,
            }
            with (self.directory / "index.jsonl").open("a", encoding="utf-8") as index:
                index.write(json.dumps(entry) + "\n")
        return SendResult(provider_ref=message.message_id, at=now)
