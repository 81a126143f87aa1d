"""E-mail over SMTP to any relay: one session for many messages, VERP, RFC 8058, DKIM.

The message is built with the standard `email` package from the rendition: the sender's name
goes through `email.headerregistry.Address` and every header value is stripped of line breaks
first, so that a customer's name or a subject cannot add a header. The provider adds the
transport headers (Message-ID, Date, List-Unsubscribe), signs with DKIM when a key is
configured, and hands the message to the relay with the VERP envelope sender
`bounces+<message id>@domain`, so that an asynchronous bounce names its message.

Errors map to the two failures of the contract: a relay that cannot take the message now
(refused connection, timeout, 4xx) is a TemporaryFailure; a refused recipient (5xx) is a
PermanentFailure carrying the SMTP code.
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING

import dkim
from email_validator import EmailNotValidError, validate_email

from forms_service.delivery.interfaces import (
    OutgoingEmail,
    PermanentFailure,
    Purpose,
    SendResult,
    TemporaryFailure,
)

if TYPE_CHECKING:
    from forms_service.config import Settings

#: A message id goes into a Message-ID, an address and a URL: it must need no quoting.
MESSAGE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: The headers the DKIM signature covers (those a forger would change).
DKIM_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"Reply-To",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
    b"Content-Transfer-Encoding",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f<>\"\\,]")
#: Header lines are folded (at a space) beyond this length (RFC 5322's recommended 78).
_FOLD_AT = 78
_CRLF = b"\r\n"


@dataclass(frozen=True)
class BuiltEmail:
    """A message ready to send: its header lines and MIME body as on the wire.

    With its Message-ID, the checked recipient and the sender's domain.
    """

    headers: tuple[tuple[str, str], ...]
    body: bytes
    message_id: str
    recipient: str
    from_domain: str

    def header(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive), None when absent."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _text_part(text: str, subtype: str) -> bytes:
    """A text part in UTF-8, quoted-printable (readable in a .eml file, safe for 7-bit relays).

    binascii's quoted-printable (C) instead of the email package's (pure Python, most of a
    message's build time): lines of at most 76 characters, `=` and trailing spaces encoded.
    """
    lines = text.replace("\r\n", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(lines, istext=True).replace(b"\n", _CRLF)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode()
        + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + encoded
    )


def _multipart(boundary: str, parts: list[bytes]) -> bytes:
    """multipart/alternative's body (quoted-printable never holds `==`: nor the boundary)."""
    delimiter = b"--" + boundary.encode()
    body = b"".join(delimiter + _CRLF + part + _CRLF for part in parts)
    return body + delimiter + b"--" + _CRLF


def _header_line(name: str, value: str) -> bytes:
    """`Name: value` folded at spaces beyond 78 characters, CRLF-terminated.

    Values are one line already (`one_line`); encoded words come folded by `Header.encode`.
    """
    line = f"{name}: {value}"
    if len(line) <= _FOLD_AT or "\r\n" in value:
        return line.encode("utf-8") + _CRLF
    folded, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > _FOLD_AT:
            folded.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    folded.append(current)
    return "\r\n ".join(folded).encode("utf-8") + _CRLF


@functools.lru_cache(maxsize=512)
def _header_text(value: str, name: str) -> str:
    """An unstructured header value: as is in ASCII, else RFC 2047 encoded words (folded).

    Cached: a subject quotes nothing of the record, so a campaign's messages share a few
    (the email package's encoder is pure Python, the dearest step of a message).
    """
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


@dataclass(frozen=True)
class SmtpSettings:
    """What the provider needs of the settings (see the FORMS_SMTP_* ones in config.py)."""

    host: str
    port: int
    security: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    ca_file: Path | None = None
    default_from: str = "forms@localhost"
    bounce_address: str = "bounces@localhost"
    unsubscribe_mailbox: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_private_key_path: Path | None = None
    #: Makes the Message-ID's tag an HMAC of the message id: a retry of the same message
    #: carries the same Message-ID, and nobody without the key can make one up.
    message_id_key: bytes = b""

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            ca_file=settings.smtp_ca_file,
            default_from=settings.email_from,
            bounce_address=settings.email_bounce_address,
            unsubscribe_mailbox=settings.email_unsubscribe_mailbox,
            dkim_selector=settings.dkim_selector,
            dkim_domain=settings.dkim_domain,
            dkim_private_key_path=settings.dkim_private_key_path,
            message_id_key=(
                hmac.new(settings.secret_key.encode(), b"message-id", hashlib.sha256).digest()
                if settings.secret_key
                else b""
            ),
        )


def verp_address(bounce_address: str, message_id: str) -> str:
    """The envelope sender of a message: `local+<message id>@domain` (VERP)."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{message_id}@{domain}"


def one_line(value: str) -> str:
    """`value` with every line break and control character made one space: no header injection."""
    return _CONTROL.sub(" ", value).strip()


def checked_recipient(address: str) -> str:
    """The recipient's address, normalised; PermanentFailure `invalid_address` if it is none.

    Checked before anything is sent, so that a bad address in the source never reaches the
    relay (and never becomes a second recipient: the syntax allows one mailbox).

    An ASCII dot-atom local part (nearly every address) is checked here and its domain by
    email_validator once per domain: the same verdict and normalisation as email_validator
    on the whole address (tests/unit/delivery/test_recipients.py compares them), without
    its cost for every message of a campaign. Anything else goes to email_validator whole.
    """
    local, at, domain = address.rpartition("@")
    if at and len(address) <= _MAX_ADDRESS and _DOT_ATOM.fullmatch(local):
        normalized = _normalized_domain(domain)
        if normalized and len(local) + 1 + len(normalized) <= _MAX_ADDRESS:
            return f"{local}@{normalized}"
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PermanentFailure("invalid_address", field="to", params={}) from exc
    return valid.normalized


#: An unquoted ASCII local part (RFC 5322's dot-atom), at most 64 characters (RFC 5321).
_DOT_ATOM = re.compile(
    r"(?=.{1,64}\Z)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
#: RFC 5321's longest path (256) less its angle brackets, as email_validator counts.
_MAX_ADDRESS = 254


@functools.lru_cache(maxsize=4096)
def _normalized_domain(domain: str) -> str:
    """The domain as email_validator normalises it; empty when it refuses it."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return ""


class SmtpProvider:
    """An `EmailProvider` handing messages to one SMTP relay, reusing one session.

    Thread-safe: a lock serialises the session (one provider per worker process; several
    workers open several sessions).
    """

    def __init__(self, settings: Settings | SmtpSettings) -> None:
        self.settings = (
            settings if isinstance(settings, SmtpSettings) else SmtpSettings.from_settings(settings)
        )
        self._session: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._dkim_key: bytes | None = None
        key_path = self.settings.dkim_private_key_path
        if self.settings.dkim_selector and key_path is not None:
            self._dkim_key = key_path.read_bytes()

    # -- the message ------------------------------------------------------------------------
    def build(self, message: OutgoingEmail) -> BuiltEmail:
        """The message as it will be sent (without DKIM), its Message-ID and recipient.

        Written directly as wire bytes, several times faster than the email package's
        generator for the same message: every header value is made one line first
        (`one_line`), names and addresses are checked by `Address` and written by
        `formataddr` (quoted, RFC 2047-encoded when not ASCII), the parts encoded by binascii.
        """
        if not MESSAGE_ID_PATTERN.fullmatch(message.message_id):
            raise ValueError(f"message id {message.message_id!r} is not [A-Za-z0-9_-]")
        to = checked_recipient(message.to)
        rendition = message.rendition
        sender = _address(
            one_line(rendition.sender.name), rendition.sender.address or self.settings.default_from
        )
        message_id = f"<{message.message_id}.{self._tag(message.message_id)}@{sender.domain}>"
        headers = [
            ("From", _from_header(sender.display_name, sender.addr_spec)),
            ("To", to),
        ]
        if rendition.sender.reply_to:
            reply_to = _address("", one_line(rendition.sender.reply_to)).addr_spec
            headers.append(("Reply-To", reply_to))
        headers += [
            ("Subject", _header_text(one_line(rendition.subject), "Subject")),
            ("Date", format_datetime(dt.datetime.now(dt.UTC))),
            ("Message-ID", message_id),
        ]
        if rendition.locale:
            headers.append(("Content-Language", one_line(rendition.locale)))
        if rendition.purpose is not Purpose.SERVICE:
            url = rendition.unsubscribe_url
            if not url or not url.startswith("https://") or _UNSAFE_URL.search(url):
                raise PermanentFailure("unsubscribe_link_missing", field="unsubscribe_url")
            targets = [f"<{url}>"]
            if self.settings.unsubscribe_mailbox:
                targets.append(
                    f"<mailto:{self.settings.unsubscribe_mailbox}"
                    f"?subject=unsubscribe-{message.message_id}>"
                )
            headers.append(("List-Unsubscribe", ", ".join(targets)))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        boundary = f"=={secrets.token_hex(12)}=="
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        body = _multipart(
            boundary, [_text_part(rendition.text, "plain"), _text_part(rendition.html, "html")]
        )
        return BuiltEmail(tuple(headers), body, message_id, to, sender.domain)

    def _tag(self, message_id: str) -> str:
        """The Message-ID's 64-bit tag: keyed on the message id, else random."""
        key = self.settings.message_id_key
        if not key:
            return secrets.token_hex(8)
        return hmac.new(key, message_id.encode(), hashlib.sha256).hexdigest()[:16]

    def message_bytes(self, built: BuiltEmail) -> bytes:
        """The message's bytes as sent (CRLF), signed with DKIM when a key is configured."""
        head = b"".join(_header_line(name, value) for name, value in built.headers)
        data = head + _CRLF + built.body
        if self._dkim_key is None:
            return data
        signature = dkim.sign(
            data,
            self.settings.dkim_selector.encode(),
            (self.settings.dkim_domain or built.from_domain).encode(),
            self._dkim_key,
            include_headers=[h for h in DKIM_HEADERS if built.header(h.decode()) is not None],
        )
        return bytes(signature) + data

    # -- sending ----------------------------------------------------------------------------
    def send(self, message: OutgoingEmail) -> SendResult:
        """Send one message on the open session (opened, or reopened once, as needed)."""
        built = self.build(message)
        data = self.message_bytes(built)
        envelope_from = verp_address(self.settings.bounce_address, message.message_id)
        recipient = built.recipient
        with self._lock:
            for attempt in (1, 2):
                reused = self._session is not None
                session = self._connected()
                try:
                    if session.has_extn("pipelining"):
                        _pipelined_sendmail(session, envelope_from, recipient, data)
                    else:
                        session.sendmail(envelope_from, [recipient], data)
                    break
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reply = next(iter(exc.recipients.values()))
                    raise _failure(code, reply, "recipient") from exc
                except smtplib.SMTPSenderRefused as exc:
                    # Our own envelope refused: a configuration matter, never the recipient's.
                    self._drop()
                    raise TemporaryFailure(
                        "smtp_sender_refused %(code)s", params={"code": exc.smtp_code}
                    ) from exc
                except smtplib.SMTPDataError as exc:
                    raise _failure(exc.smtp_code, exc.smtp_error, "data") from exc
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    # A reused session the relay closed meanwhile: reconnect once.
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise TemporaryFailure("smtp_unreachable") from exc
                except smtplib.SMTPResponseException as exc:
                    self._drop()
                    raise _failure(exc.smtp_code, exc.smtp_error, "reply") from exc
        return SendResult(provider_ref=built.message_id, at=dt.datetime.now(dt.UTC))

    def close(self) -> None:
        """End the session politely (QUIT)."""
        with self._lock:
            if self._session is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._session.quit()
                self._session = None

    def _connected(self) -> smtplib.SMTP:
        if self._session is not None:
            return self._session
        settings = self.settings
        session: smtplib.SMTP | None = None
        try:
            if settings.security == "tls":
                session = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    timeout=settings.timeout,
                    context=self._tls_context(),
                )
            else:
                session = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            session.ehlo()
            if settings.security == "starttls":
                session.starttls(context=self._tls_context())
                session.ehlo()
            if settings.username:
                session.login(settings.username, settings.password)
        except (smtplib.SMTPException, OSError) as exc:
            if session is not None:
                session.close()
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                raise TemporaryFailure("smtp_authentication_failed") from exc
            if isinstance(exc, smtplib.SMTPResponseException):
                raise _failure(exc.smtp_code, exc.smtp_error, "connect", temporary=True) from exc
            raise TemporaryFailure("smtp_unreachable") from exc
        self._session = session
        return session

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self.settings.ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _drop(self) -> None:
        if self._session is not None:
            with contextlib.suppress(OSError):
                self._session.close()
            self._session = None


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _pipelined_sendmail(session: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """`session.sendmail(sender, [recipient], data)` in two round trips instead of four.

    RFC 2920 (PIPELINING, which the relay advertised): MAIL, RCPT and DATA go in one write
    and their three replies are read after it; the content follows the 354 only. Raises
    what sendmail raises, for the same replies, after the same RSET.
    """
    size = f" SIZE={len(data)}" if session.has_extn("size") else ""
    session.send(f"MAIL FROM:{_path(sender)}{size}\r\nRCPT TO:{_path(recipient)}\r\nDATA\r\n")
    mail, rcpt, start = session.getreply(), session.getreply(), session.getreply()
    if start[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
        # A relay that opened the content all the same: end it empty, then reset.
        session.send(b".\r\n")
        session.getreply()
    if mail[0] != 250:
        _reset(session, mail[0])
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    if rcpt[0] not in (250, 251):
        _reset(session, rcpt[0])
        raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
    if start[0] != 354:
        _reset(session, start[0])
        raise smtplib.SMTPDataError(*start)
    content = _LEADING_DOT.sub(b"..", data)
    if not content.endswith(_CRLF):
        content += _CRLF
    session.send(content + b"." + _CRLF)
    code, reply = session.getreply()
    if code != 250:
        _reset(session, code)
        raise smtplib.SMTPDataError(code, reply)


#: A bare mailbox (`local@domain`, no name, bracket, space or comment).
_BARE_MAILBOX = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


def _path(address: str) -> str:
    """`<address>` as smtplib.quoteaddr gives it, without its parsing for a bare mailbox."""
    return f"<{address}>" if _BARE_MAILBOX.fullmatch(address) else smtplib.quoteaddr(address)


def _reset(session: smtplib.SMTP, code: int) -> None:
    """RSET after a refusal, as sendmail does (a 421 closes the session: no RSET)."""
    if code == 421:
        session.close()
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        session.rset()


@functools.lru_cache(maxsize=512)
def _from_header(name: str, address: str) -> str:
    """The From value of a sender (one per organisation or form: cached)."""
    return formataddr((name, address), charset="utf-8")


@functools.lru_cache(maxsize=512)
def _address(name: str, address: str) -> Address:
    try:
        return Address(display_name=name, addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise PermanentFailure("invalid_address", field="from") from exc


def _failure(
    code: int, reply: bytes | str, stage: str, *, temporary: bool = False
) -> TemporaryFailure | PermanentFailure:
    """The failure an SMTP reply means: 5xx permanent, anything else temporary."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    enhanced = re.match(r"\s*([245]\.\d{1,3}\.\d{1,3})", text)
    params = {"code": code, "status": enhanced.group(1) if enhanced else "", "stage": stage}
    if 500 <= code < 600 and not temporary:
        return PermanentFailure("smtp_refused %(code)s %(status)s", params=params)
    return TemporaryFailure("smtp_deferred %(code)s %(status)s", params=params)
