"""SmtpProvider against a real aiosmtpd relay: headers, VERP, STARTTLS/TLS, AUTH, DKIM, failures."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import dkim
import pytest

from forms_service.config import Settings
from forms_service.delivery.interfaces import (
    EmailRendition,
    OutgoingEmail,
    PermanentFailure,
    Purpose,
    Sender,
    TemporaryFailure,
)
from forms_service.delivery.providers.smtp import SmtpProvider
from tests.delivery_servers import PASSWORD, USERNAME, DkimKey, Relay, TlsFiles, free_port


def _settings(tmp_path: Path, relay: Relay | None, **values: Any) -> Settings:
    defaults: dict[str, Any] = {
        "var_dir": tmp_path,
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port if relay else free_port(),
        "smtp_timeout": 5,
        "email_bounce_address": "bounces@bounce.example.org",
    }
    return Settings(**{**defaults, **values})


def _email(
    message_id: str = "m42",
    to: str = "claire.martin@example.com",
    *,
    name: str = "Mutuelle Exemple",
    subject: str = "Votre formulaire à confirmer",
    purpose: Purpose = Purpose.REGULATORY,
    unsubscribe: str | None = "https://forms.example.org/u/abc",
) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        to=to,
        rendition=EmailRendition(
            subject=subject,
            text="Bonjour Claire,\nconfirmez vos coordonnées : https://forms.example.org/r/x\n",
            html="<p>Bonjour Claire, <a href='https://forms.example.org/r/x'>confirmer</a></p>",
            sender=Sender(name=name, address="service@mutuelle.example.org"),
            purpose=purpose,
            locale="fr",
            unsubscribe_url=unsubscribe,
        ),
    )


def _parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module", params=[False, True], ids=["one-by-one", "pipelining"])
def relay(request: pytest.FixtureRequest) -> Iterator[Relay]:
    """The relay, as one that answers each command in turn and as one advertising PIPELINING."""
    server = Relay(pipelining=request.param).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.make(tmp_path_factory.mktemp("tls"))


def test_a_message_has_its_headers_parts_and_verp_envelope(tmp_path: Path, relay: Relay) -> None:
    relay.messages.clear()
    provider = SmtpProvider(_settings(tmp_path, relay))
    result = provider.send(_email())
    provider.close()

    [received] = relay.messages
    assert received.mail_from == "bounces+m42@bounce.example.org"
    assert received.recipients == ["claire.martin@example.com"]
    message = _parsed(received.data)
    assert message["Message-ID"] == result.provider_ref
    assert result.provider_ref.startswith("<m42.") and result.provider_ref.endswith(
        "@mutuelle.example.org>"
    )
    assert message["From"].addresses[0].display_name == "Mutuelle Exemple"
    assert message["From"].addresses[0].addr_spec == "service@mutuelle.example.org"
    assert message["Subject"] == "Votre formulaire à confirmer"
    assert message["Date"].datetime is not None
    assert message["List-Unsubscribe"] == "<https://forms.example.org/u/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "coordonnées" in text.get_content()
    assert text.get_content_charset() == "utf-8"
    assert "confirmer</a>" in html.get_content()


def test_service_messages_carry_no_list_unsubscribe_and_unsubscribe_mailto(
    tmp_path: Path, relay: Relay
) -> None:
    relay.messages.clear()
    provider = SmtpProvider(
        _settings(tmp_path, relay, email_unsubscribe_mailbox="unsubscribe@mutuelle.example.org")
    )
    provider.send(_email("s1", purpose=Purpose.SERVICE, unsubscribe=None))
    provider.send(_email("c1", purpose=Purpose.COMMERCIAL))
    provider.close()
    service, commercial = (_parsed(r.data) for r in relay.messages)
    assert service["List-Unsubscribe"] is None and service["List-Unsubscribe-Post"] is None
    assert commercial["List-Unsubscribe"] == (
        "<https://forms.example.org/u/abc>, "
        "<mailto:unsubscribe@mutuelle.example.org?subject=unsubscribe-c1>"
    )


def test_a_commercial_message_without_an_unsubscribe_link_is_refused(
    tmp_path: Path, relay: Relay
) -> None:
    relay.messages.clear()
    provider = SmtpProvider(_settings(tmp_path, relay))
    with pytest.raises(PermanentFailure, match="unsubscribe_link_missing"):
        provider.send(_email(purpose=Purpose.COMMERCIAL, unsubscribe=None))
    assert relay.messages == []


def test_one_session_carries_many_messages(tmp_path: Path, relay: Relay) -> None:
    relay.messages.clear()
    relay.handler.sessions.clear()
    provider = SmtpProvider(_settings(tmp_path, relay))
    refs = {provider.send(_email(f"m{n}")).provider_ref for n in range(20)}
    provider.close()
    assert len(relay.messages) == 20 and len(refs) == 20
    assert len(relay.handler.sessions) == 1


def test_a_session_the_relay_closed_is_reopened(tmp_path: Path) -> None:
    first = Relay().start()
    provider = SmtpProvider(_settings(tmp_path, first))
    provider.send(_email("before"))
    first.stop()  # the relay restarts: the provider's session is dead
    second = Relay()
    second.port = first.port
    second.controller.port = first.port
    second.start()
    try:
        provider.send(_email("after"))
    finally:
        provider.close()
        second.stop()
    assert [r.mail_from for r in second.messages] == ["bounces+after@bounce.example.org"]


def test_header_injection_through_name_subject_or_address_is_impossible(
    tmp_path: Path, relay: Relay
) -> None:
    relay.messages.clear()
    provider = SmtpProvider(_settings(tmp_path, relay))
    provider.send(
        _email(
            name='Martin, "Claire"\r\nBcc: victim@evil.example\r\n',
            subject="Bonjour\r\nBcc: victim@evil.example\nX-Injected: yes",
        )
    )
    with pytest.raises(PermanentFailure, match="invalid_address"):
        provider.send(_email(to="claire@example.com\r\nBcc: victim@evil.example"))
    with pytest.raises(PermanentFailure, match="invalid_address"):
        provider.send(_email(to="claire@example.com, victim@evil.example"))
    provider.close()

    [received] = relay.messages
    assert received.recipients == ["claire.martin@example.com"]
    message = _parsed(received.data)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert len(message.get_all("To") or []) == 1
    [sender] = message["From"].addresses
    assert sender.display_name == 'Martin, "Claire" Bcc: victim@evil.example'
    assert sender.addr_spec == "service@mutuelle.example.org"
    assert message["Subject"] == "Bonjour Bcc: victim@evil.example X-Injected: yes"


def test_an_invalid_address_fails_permanently_before_connecting(tmp_path: Path) -> None:
    # No relay at all: an invalid address is found before any connection is tried.
    provider = SmtpProvider(_settings(tmp_path, None))
    for address in ("", "claire", "claire@", "@example.com", "claire@exa mple.com"):
        with pytest.raises(PermanentFailure, match="invalid_address"):
            provider.send(_email(to=address))


def test_a_refused_recipient_fails_permanently_with_its_code(tmp_path: Path, relay: Relay) -> None:
    provider = SmtpProvider(_settings(tmp_path, relay))
    with pytest.raises(PermanentFailure) as refused:
        provider.send(_email(to="nobody@example.com"))
    assert refused.value.params == {"code": 550, "status": "5.1.1", "stage": "recipient"}
    with pytest.raises(TemporaryFailure) as deferred:
        provider.send(_email(to="full@example.com"))
    assert deferred.value.params["code"] == 452
    # The session stays usable after both.
    relay.messages.clear()
    provider.send(_email())
    provider.close()
    assert len(relay.messages) == 1


def test_a_relay_that_is_down_is_a_temporary_failure(tmp_path: Path) -> None:
    provider = SmtpProvider(_settings(tmp_path, None))
    with pytest.raises(TemporaryFailure, match="smtp_unreachable"):
        provider.send(_email())


def test_a_relay_that_does_not_answer_is_a_temporary_failure(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings = _settings(tmp_path, None, smtp_timeout=0.5)
        settings = settings.model_copy(update={"smtp_port": silent.getsockname()[1]})
        with pytest.raises(TemporaryFailure, match="smtp_unreachable"):
            SmtpProvider(settings).send(_email())


def test_starttls_and_authentication(tmp_path: Path, tls_files: TlsFiles) -> None:
    relay = Relay(security="starttls", tls=tls_files, auth=True).start()
    try:
        good = SmtpProvider(
            _settings(
                tmp_path,
                relay,
                smtp_security="starttls",
                smtp_ca_file=tls_files.cert,
                smtp_username=USERNAME,
                smtp_password=PASSWORD,
            )
        )
        good.send(_email())
        good.close()
        wrong_password = SmtpProvider(
            _settings(
                tmp_path,
                relay,
                smtp_security="starttls",
                smtp_ca_file=tls_files.cert,
                smtp_username=USERNAME,
                smtp_password="wrong",
            )
        )
        with pytest.raises(TemporaryFailure, match="smtp_authentication_failed"):
            wrong_password.send(_email())
        unverified = SmtpProvider(  # the system's CAs do not know the self-signed relay
            _settings(tmp_path, relay, smtp_security="starttls", smtp_username=USERNAME)
        )
        with pytest.raises(TemporaryFailure, match="smtp_unreachable"):
            unverified.send(_email())
        plain = SmtpProvider(_settings(tmp_path, relay))  # the relay requires STARTTLS
        with pytest.raises((TemporaryFailure, PermanentFailure)):
            plain.send(_email())
    finally:
        relay.stop()
    assert [r.authenticated_as for r in relay.messages] == [USERNAME]


def test_implicit_tls(tmp_path: Path, tls_files: TlsFiles) -> None:
    relay = Relay(security="tls", tls=tls_files).start()
    try:
        provider = SmtpProvider(
            _settings(tmp_path, relay, smtp_security="tls", smtp_ca_file=tls_files.cert)
        )
        provider.send(_email())
        provider.close()
    finally:
        relay.stop()
    assert len(relay.messages) == 1


def test_dkim_signature_verifies_with_the_public_key(tmp_path: Path, relay: Relay) -> None:
    key = DkimKey.make(tmp_path / "dkim")
    relay.messages.clear()
    provider = SmtpProvider(
        _settings(
            tmp_path,
            relay,
            dkim_selector="forms2026",
            dkim_domain="mutuelle.example.org",
            dkim_private_key_path=key.private_key_path,
        )
    )
    provider.send(_email(name="Mutuelle Éxemple"))
    provider.close()
    [received] = relay.messages
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return key.dns_record

    assert dkim.verify(received.data, dnsfunc=dns)
    assert asked == [b"forms2026._domainkey.mutuelle.example.org."]
    signature = _parsed(received.data)["DKIM-Signature"]
    signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
    assert {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "content-type",
    } <= signed
    # A changed subject breaks the signature.
    tampered = received.data.replace(b"Subject: ", b"Subject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_retry_of_a_message_carries_the_same_message_id(tmp_path: Path, relay: Relay) -> None:
    keyed = SmtpProvider(_settings(tmp_path, relay, secret_key="k" * 48))
    first, again = keyed.send(_email("m7")), keyed.send(_email("m7"))
    other_key = SmtpProvider(_settings(tmp_path, relay, secret_key="j" * 48))
    assert first.provider_ref == again.provider_ref != other_key.send(_email("m7")).provider_ref
    assert keyed.send(_email("m8")).provider_ref != first.provider_ref
    keyed.close()
    other_key.close()


def test_with_pipelining_mail_rcpt_and_data_go_in_one_write(tmp_path: Path, relay: Relay) -> None:
    relay.handler.pipelined.clear()
    relay.messages.clear()
    provider = SmtpProvider(_settings(tmp_path, relay))
    for n in range(3):
        provider.send(_email(f"p{n}"))
    provider.close()
    assert len(relay.messages) == 3
    # Where the relay advertises it, and only there (RFC 2920: never unasked).
    assert relay.handler.pipelined == [relay.handler.pipelining] * 3


def test_lines_starting_with_a_dot_arrive_whole(tmp_path: Path, relay: Relay) -> None:
    relay.messages.clear()
    message = _email("dots")
    dotted = ".\n..two dots\n. one dot and a space\nthe end."
    rendition = message.rendition.__class__(
        **{**message.rendition.__dict__, "text": dotted, "html": "<p>.</p>\n.<p>x</p>"}
    )
    provider = SmtpProvider(_settings(tmp_path, relay))
    provider.send(OutgoingEmail(message_id="dots", to=message.to, rendition=rendition))
    provider.close()
    (received,) = relay.messages
    parts = [part.get_content() for part in _parsed(received.data).iter_parts()]
    assert parts[0].replace("\r\n", "\n").rstrip("\n") == dotted
    assert parts[1].replace("\r\n", "\n").rstrip("\n") == "<p>.</p>\n.<p>x</p>"


def test_our_envelope_sender_refused_is_temporary_and_the_session_goes_on(
    tmp_path: Path, relay: Relay
) -> None:
    relay.messages.clear()
    relay.handler.refused_senders.add("bounces+refused@bounce.example.org")
    provider = SmtpProvider(_settings(tmp_path, relay))
    try:
        with pytest.raises(TemporaryFailure) as refused:
            provider.send(_email("refused"))
        assert refused.value.params == {"code": 550}
        provider.send(_email("accepted"))
    finally:
        provider.close()
        relay.handler.refused_senders.clear()
    assert [r.mail_from for r in relay.messages] == ["bounces+accepted@bounce.example.org"]
