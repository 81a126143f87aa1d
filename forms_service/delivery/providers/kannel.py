"""SMS through Kannel's smsbox: its HTTP `sendsms` interface, with signed delivery-report URLs.

Each SMS is one GET of `/cgi-bin/sendsms` (username, password, from, to, text in UTF-8; coding
2, UCS-2, when a character is outside the GSM 03.38 alphabet), asking for every delivery report
(dlr-mask 31) to be called back on the service's webhook at a URL that carries the message id
and its HMAC (`kannel_dlr_url`), so that a report nobody signed is refused. The HTTP connection
is kept open across sends (smsbox answers HTTP/1.1 keep-alive) and reopened when it drops.

smsbox answers `202 0: Accepted for delivery` or `202 3: Queued for later delivery` (the
bearerbox keeps it in its store until the SMSC takes it): both are taken. A refused connection,
a timeout or a 5xx is a TemporaryFailure; a 4xx (a number or a text Kannel refuses) is a
PermanentFailure, except 403 (the service's own credentials), which waits for a fix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers

from forms_service.delivery.gsm import is_gsm
from forms_service.delivery.interfaces import (
    OutgoingSms,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from forms_service.delivery.reports import dlr_secret, kannel_dlr_url

if TYPE_CHECKING:
    from forms_service.config import Settings

#: Every DLR type: 1 delivered, 2 failed, 4 buffered, 8 SMSC submit, 16 SMSC reject.
DLR_MASK = 1 + 2 + 4 + 8 + 16


def needs_ucs2(text: str) -> bool:
    """Whether `text` has a character outside GSM 03.38 (then it goes as UCS-2, 70 a segment)."""
    return not all(is_gsm(character) for character in text)


def checked_number(number: str, default_region: str) -> str:
    """The number in E.164 (`+33612345678`); PermanentFailure `invalid_number` if it is none."""
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PermanentFailure("invalid_number", field="to") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PermanentFailure("invalid_number", field="to")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def kannel_password(settings: Settings) -> str:
    """KANNEL_PASSWORD; in development without one, a password derived from SECRET_KEY.

    The derived one is what `forms-service sms-gateway` gives the local Kannel, so that the
    service and its local gateway agree without a password to configure.
    """
    if settings.kannel_password or settings.env == "production":
        return settings.kannel_password
    if not settings.secret_key:
        return ""
    key = settings.secret_key.encode()
    return hmac.new(key, b"local-kannel-password", hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class KannelSettings:
    """What the provider needs of the settings (the FORMS_KANNEL_* ones in config.py)."""

    sendsms_url: str
    username: str
    password: str
    dlr_url: str
    dlr_secret: bytes
    smsc: str = ""
    timeout: float = 10.0
    default_region: str = "FR"

    @classmethod
    def from_settings(cls, settings: Settings) -> KannelSettings:
        return cls(
            sendsms_url=settings.kannel_sendsms_url,
            username=settings.kannel_username,
            password=kannel_password(settings),
            dlr_url=settings.kannel_dlr_url or settings.base_url.rstrip("/") + "/hooks/kannel/dlr",
            dlr_secret=dlr_secret(settings),
            smsc=settings.kannel_smsc,
            timeout=settings.kannel_timeout,
            default_region=settings.sms_default_region,
        )


class KannelProvider:
    """An `SmsProvider` on Kannel's sendsms interface; thread-safe, one connection at a time."""

    def __init__(self, settings: Settings | KannelSettings) -> None:
        self.settings = (
            settings
            if isinstance(settings, KannelSettings)
            else KannelSettings.from_settings(settings)
        )
        url = urllib.parse.urlsplit(self.settings.sendsms_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("KANNEL_SENDSMS_URL must be an http:// or https:// address")
        self._url = url
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def query(self, message: OutgoingSms) -> str:
        """The sendsms query string for `message` (credentials included: never log it)."""
        to = checked_number(message.to, self.settings.default_region)
        text = message.rendition.text
        if not text:
            raise PermanentFailure("empty_text", field="text")
        parameters = {
            "username": self.settings.username,
            "password": self.settings.password,
            "from": message.rendition.sender,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            "coding": "2" if needs_ucs2(text) else "0",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": kannel_dlr_url(
                self.settings.dlr_url, message.message_id, self.settings.dlr_secret
            ),
        }
        if self.settings.smsc:
            parameters["smsc"] = self.settings.smsc
        return urllib.parse.urlencode(parameters)

    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one SMS to smsbox; raises TemporaryFailure or PermanentFailure."""
        target = f"{self._url.path or '/cgi-bin/sendsms'}?{self.query(message)}"
        with self._lock:
            status, answer = self._get(target)
        if status == 202 or (200 <= status < 300 and answer.startswith(("0:", "3:"))):
            return SendResult(provider_ref=message.message_id, at=dt.datetime.now(dt.UTC))
        params = {"status": status, "answer": answer[:80]}
        if status == 403 or status >= 500 or status < 400:
            raise TemporaryFailure("kannel_refused %(status)s %(answer)s", params=params)
        raise PermanentFailure("kannel_refused %(status)s %(answer)s", params=params)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _get(self, target: str) -> tuple[int, str]:
        for attempt in (1, 2):
            reused = self._connection is not None
            connection = self._connected()
            try:
                connection.request("GET", target)
                response = connection.getresponse()
                answer = response.read().decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._connection = None
                # A kept-alive connection smsbox closed while it was idle fails at once,
                # without a status line: once more on a new connection. Anything else (a
                # timeout: smsbox may have taken the message) is left to the job's retry.
                idle_closed = isinstance(exc, (BrokenPipeError, ConnectionResetError))
                if reused and attempt == 1 and idle_closed:
                    continue
                raise TemporaryFailure("kannel_unreachable") from exc
            if response.will_close:
                connection.close()
                self._connection = None
            return response.status, answer
        raise AssertionError("unreachable")

    def _connected(self) -> http.client.HTTPConnection:
        if self._connection is None:
            port = self._url.port
            host = self._url.hostname or "127.0.0.1"
            timeout = self.settings.timeout
            self._connection = (
                http.client.HTTPSConnection(host, port, timeout=timeout)
                if self._url.scheme == "https"
                else http.client.HTTPConnection(host, port, timeout=timeout)
            )
        return self._connection
