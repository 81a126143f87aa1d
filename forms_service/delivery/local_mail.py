"""The embedded default's SMTP server: every message it receives becomes a file a newcomer reads.

`make run` starts it (`forms-service mail-server`) beside the service, which sends to it as to
any relay. Each message is written as `var/mail/<time>-<n>.eml`, and one JSON line per message
is appended to `var/mail/index.jsonl` (time, envelope, subject, file) for the back office's
page. Messages addressed to the bounce address (a bounce, a complaint) are also given to the
`on_bounce` hook, which the composition root connects to the bounce parser and the report
sink, as a real deployment's bounce mailbox would be.

So that a newcomer sees a bounce without a real relay, the server bounces what it is given for
the domain `undeliverable.example` (RFC 2606 reserves `.example`: no such mailbox exists; a
`.invalid` address would be refused by the address check before any send) as a relay would
after accepting it: it takes the message, then writes a delivery status notification (RFC
3464, `5.1.1`) from MAILER-DAEMON to the message's envelope sender, the VERP bounce address,
and handles it as any mail it receives (a file, and the bounce hook).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from forms_service.delivery.interfaces import ForgedReport, ReportSink

#: Called with the raw message and its envelope recipients, for mail to the bounce address.
BounceHook = Callable[[bytes, list[str]], None]
INDEX = "index.jsonl"
#: Recipients at this domain (or under it) are bounced: RFC 2606 reserves `.example`.
UNDELIVERABLE_DOMAIN = "undeliverable.example"


@dataclass(frozen=True)
class ReceivedMail:
    """One line of the index: a message the local server received."""

    file: str
    received_at: str
    mail_from: str
    recipients: list[str]
    subject: str

    def as_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


class MailDirectory:
    """The messages under a directory: written by the server, listed by the back office."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def write(self, raw: bytes, mail_from: str, recipients: list[str]) -> ReceivedMail:
        now = dt.datetime.now(dt.UTC)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            name = f"{now:%Y%m%dT%H%M%S%f}-{next(self._counter)}.eml"
            (self.directory / name).write_bytes(raw)
            subject = str(message_from_bytes(raw, policy=default_policy).get("Subject", ""))
            entry = ReceivedMail(name, now.isoformat(), mail_from, recipients, subject)
            with (self.directory / INDEX).open("a", encoding="utf-8") as index:
                index.write(entry.as_json() + "\n")
        return entry

    def entries(self) -> Iterator[ReceivedMail]:
        """The messages received, oldest first."""
        path = self.directory / INDEX
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as index:
            for line in index:
                if line.strip():
                    yield ReceivedMail(**json.loads(line))

    def read(self, name: str) -> bytes:
        """One message's bytes; KeyError for a name that is not a message of the index."""
        if name not in {entry.file for entry in self.entries()}:
            raise KeyError(name)
        return (self.directory / name).read_bytes()


def advertising_pipelining(session: Session, hostname: str, responses: list[str]) -> list[str]:
    """What an aiosmtpd `handle_EHLO` hook answers to add PIPELINING to EHLO's extensions."""
    session.host_name = hostname
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class _Handler:
    def __init__(
        self, mails: MailDirectory, bounce_local_part: str, on_bounce: BounceHook | None
    ) -> None:
        self.mails = mails
        self.bounce_prefix = bounce_local_part.lower() + "+"
        self.bounce_local_part = bounce_local_part.lower()
        self.on_bounce = on_bounce
        self._bouncing: set[asyncio.Task[None]] = set()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """EHLO's extensions and PIPELINING (RFC 2920), as relays advertise it.

        aiosmtpd answers commands in the order they come, whether one by one or several in
        one write, and a client sends a message's content only after DATA's 354.
        """
        return advertising_pipelining(session, hostname, responses)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = [str(r) for r in envelope.rcpt_tos]
        mail_from = str(envelope.mail_from or "")
        await self._receive(raw, mail_from, recipients)
        undeliverable = [r for r in recipients if _undeliverable(r)]
        if undeliverable and mail_from:  # a null sender's mail is never bounced (RFC 5321)
            # After the answer, as a relay bounces what it accepted: a task of its own.
            bounce = self._receive(delivery_status(raw, undeliverable), "", [mail_from])
            task = asyncio.get_running_loop().create_task(bounce)
            self._bouncing.add(task)
            task.add_done_callback(self._bouncing.discard)
        return "250 Message accepted for delivery"

    async def _receive(self, raw: bytes, mail_from: str, recipients: list[str]) -> None:
        self.mails.write(raw, mail_from, recipients)
        if self.on_bounce is not None and any(self._is_bounce(r) for r in recipients):
            # The hook writes to the database: off the server's event loop.
            await asyncio.get_running_loop().run_in_executor(None, self.on_bounce, raw, recipients)

    def _is_bounce(self, recipient: str) -> bool:
        local = recipient.rpartition("@")[0].lower()
        return local == self.bounce_local_part or local.startswith(self.bounce_prefix)


def _undeliverable(recipient: str) -> bool:
    domain = recipient.rpartition("@")[2].lower().rstrip(".")
    return domain == UNDELIVERABLE_DOMAIN or domain.endswith("." + UNDELIVERABLE_DOMAIN)


def delivery_status(original: bytes, recipients: list[str], host: str = "localhost") -> bytes:
    """The RFC 3464 notification a relay sends back for `recipients` it cannot deliver to."""
    headers = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"MAILER-DAEMON@{host} (Mail Delivery System)"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    report["Message-ID"] = make_msgid(domain=host)
    report["Auto-Submitted"] = "auto-replied"
    report.attach(
        MIMEText(
            f"This is the local mail server of forms_service at {host}.\n\n"
            "Your message could not be delivered: these recipients do not exist (mail to\n"
            f"{UNDELIVERABLE_DOMAIN} is always bounced):\n\n"
            + "".join(f"  <{r}>\n" for r in recipients)
        )
    )
    status = MIMEBase("message", "delivery-status")
    # Its payload is header blocks: the per-message fields, then one block per recipient.
    blocks: list[Message | str] = [_fields({"Reporting-MTA": f"dns; {host}"})]
    for recipient in recipients:
        blocks.append(
            _fields(
                {
                    "Final-Recipient": f"rfc822; {recipient}",
                    "Action": "failed",
                    "Status": "5.1.1",
                    "Diagnostic-Code": "smtp; 550 5.1.1 Recipient address rejected: User unknown",
                }
            )
        )
    status.set_payload(blocks)
    report.attach(status)
    quoted = MIMEBase("text", "rfc822-headers")
    quoted.set_payload(headers.decode("ascii", "replace"))
    report.attach(quoted)
    return report.as_bytes()


def _fields(values: dict[str, str]) -> Message:
    block = Message()
    for name, value in values.items():
        block[name] = value
    return block


class LocalMailServer:
    """An aiosmtpd server on `host:port` writing every message under `directory`.

    Use as a context manager, or `start()` / `stop()`; `serve_forever` for the command.
    """

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8025,
        bounce_address: str = "bounces@localhost",
        on_bounce: BounceHook | None = None,
    ) -> None:
        self.mails = MailDirectory(directory)
        handler = _Handler(self.mails, bounce_address.rpartition("@")[0], on_bounce)
        self._controller = Controller(handler, hostname=host, port=port)
        self.host, self.port = host, port

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> LocalMailServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl+C or SIGTERM)."""
        stop = threading.Event()
        self.start()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def reporting_bounces(
    sink: ReportSink | None, bounce_address: str, log: Callable[[str], None] = print
) -> BounceHook:
    """The `on_bounce` hook that parses a bounce and hands its report to `sink`.

    Without a sink, the report is only logged. A report naming no message of the service (a
    forged or foreign bounce) is logged and recorded nowhere.
    """
    from forms_service.delivery.reports import parse_bounce

    local_part = bounce_address.rpartition("@")[0]

    def on_bounce(raw: bytes, recipients: list[str]) -> None:
        report = parse_bounce(raw, envelope_recipients=recipients, bounce_local_part=local_part)
        if report is None:
            log("mail to the bounce address that is no bounce: kept, not recorded")
            return
        log(f"bounce: message {report.message_id} {report.status} {report.code}".rstrip())
        if sink is None:
            return
        try:
            sink.record_report(report)
        except ForgedReport:
            log(f"bounce for message {report.message_id}: no message of the service, ignored")

    return on_bounce
