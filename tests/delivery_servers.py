"""Real servers for the delivery tests: an aiosmtpd relay (plain, STARTTLS, TLS, AUTH) and TLS keys.

The relay is aiosmtpd's own SMTP server, run in its thread by aiosmtpd's Controller: it
records what it was given (envelope and bytes), refuses recipients whose local part starts
with `nobody` with `550 5.1.1`, and those starting with `full` with `452 4.2.2`, as relays do. With
`pipelining`, it advertises PIPELINING (RFC 2920) and notes, at each MAIL, whether the
client's RCPT and DATA had already come with it.
The Kannel stack is forms_service.delivery.local_kannel, the same one `make run` starts.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from forms_service.delivery.local_mail import advertising_pipelining

USERNAME, PASSWORD = "relay-user", "relay-password-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    """One message the relay took."""

    mail_from: str
    recipients: list[str]
    data: bytes
    authenticated_as: str | None


@dataclass
class RecordingHandler:
    """aiosmtpd handler: keeps every message, refuses the `nobody*` and `full*` recipients."""

    messages: list[Received] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pipelining: bool = False
    #: For each MAIL: were its RCPT and DATA in the server's buffer already (pipelined)?
    pipelined: list[bool] = field(default_factory=list)
    #: Senders whose MAIL is refused (`550 5.7.1`).
    refused_senders: set[str] = field(default_factory=set)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        if not self.pipelining:
            session.host_name = hostname
            return responses
        return advertising_pipelining(session, hostname, responses)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        waiting = bytes(getattr(server._reader, "_buffer", b""))  # what came after MAIL
        self.pipelined.append(b"RCPT TO:" in waiting and b"DATA\r\n" in waiting)
        if address in self.refused_senders:
            return "550 5.7.1 Sender refused"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        local = address.partition("@")[0].lower()
        if local.startswith("nobody"):
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        if local.startswith("full"):
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data
        with self.lock:
            self.sessions.add(id(session))
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    recipients=[str(r) for r in envelope.rcpt_tos],
                    data=envelope.original_content or b"",
                    authenticated_as=login.login.decode()
                    if isinstance(login, LoginPassword)
                    else None,
                )
            )
        return "250 2.0.0 Ok: queued"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    if isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    ):
        return AuthResult(success=True, auth_data=data)
    return AuthResult(success=False, handled=False)


class Relay:
    """An aiosmtpd server on a free loopback port; `security` none, starttls or tls."""

    def __init__(
        self,
        *,
        security: str = "none",
        tls: TlsFiles | None = None,
        auth: bool = False,
        pipelining: bool = False,
    ) -> None:
        self.handler = RecordingHandler(pipelining=pipelining)
        self.port = free_port()
        self.security = security
        kwargs: dict[str, Any] = {}
        context = tls.server_context() if tls else None
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if auth:
            kwargs.update(
                authenticator=_authenticator,
                auth_required=True,
                auth_require_tls=security != "none",
            )
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if security == "tls" else None,
            server_hostname="localhost",
            **kwargs,
        )

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> Relay:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for `localhost` and 127.0.0.1, made for the test run."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> TlsFiles:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = dt.datetime.now(dt.UTC)
        import ipaddress

        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "relay.crt", directory / "relay.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        return cls(cert_path, key_path)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@dataclass(frozen=True)
class DkimKey:
    """An RSA key for DKIM: the private PEM on disk, the DNS TXT record dkimpy verifies with."""

    private_key_path: Path
    dns_record: bytes

    @classmethod
    def make(cls, directory: Path) -> DkimKey:
        import base64

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = directory / "dkim.pem"
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))
