"""The servers of `make run`: the local SMTP server's files and bounce hook, the commands, file sinks."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from forms_service.config import Settings, ensure_secrets
from forms_service.delivery.interfaces import (
    DeliveryReport,
    EmailRendition,
    OutgoingEmail,
    OutgoingSms,
    Purpose,
    ReportStatus,
    Sender,
    SmsRendition,
)
from forms_service.delivery.local_kannel import kannel_installed
from forms_service.delivery.local_mail import LocalMailServer, MailDirectory, reporting_bounces
from forms_service.delivery.providers import build_email_provider, build_sms_provider
from forms_service.delivery.providers.filesink import EmailFileSink, SmsFileSink
from forms_service.delivery.providers.kannel import KannelProvider
from forms_service.delivery.providers.smtp import SmtpProvider
from tests.delivery_servers import free_port
from tests.unit.delivery.test_reports import POSTFIX_DSN

ROOT = Path(__file__).resolve().parents[3]


def _email(message_id: str = "m1") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        to="claire.martin@example.com",
        rendition=EmailRendition(
            subject="Votre formulaire",
            text="Bonjour",
            html="<p>Bonjour</p>",
            sender=Sender(name="Mutuelle Exemple", address="service@mutuelle.example.org"),
            purpose=Purpose.SERVICE,
            locale="fr",
        ),
    )


class Sink:
    def __init__(self) -> None:
        self.reports: list[DeliveryReport] = []

    def record_report(self, report: DeliveryReport) -> None:
        self.reports.append(report)


def test_the_local_server_writes_each_message_and_hands_bounces_to_the_sink(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = Settings(
        var_dir=tmp_path, smtp_port=port, email_bounce_address="bounces@bounce.example.org"
    )
    sink = Sink()
    hook = reporting_bounces(sink, settings.email_bounce_address, log=lambda line: None)
    with LocalMailServer(
        tmp_path / "mail", port=port, bounce_address=settings.email_bounce_address, on_bounce=hook
    ) as server:
        provider = build_email_provider(settings)
        assert isinstance(provider, SmtpProvider)
        result = provider.send(_email("m1"))
        provider.close()
        # A relay's DSN to the VERP address comes back to the same server.
        import smtplib

        with smtplib.SMTP("127.0.0.1", port) as relay:
            relay.sendmail(
                "", ["bounces+m42@bounce.example.org"], POSTFIX_DSN.replace(b"\n", b"\r\n")
            )

    entries = list(server.mails.entries())
    assert [e.recipients for e in entries] == [
        ["claire.martin@example.com"],
        ["bounces+m42@bounce.example.org"],
    ]
    assert entries[0].mail_from == "bounces+m1@bounce.example.org"
    assert entries[0].subject == "Votre formulaire"
    message = email.message_from_bytes(server.mails.read(entries[0].file))
    assert message["Message-ID"] == result.provider_ref
    assert [(r.message_id, r.status, r.code) for r in sink.reports] == [
        ("m42", ReportStatus.HARD_BOUNCE, "5.1.1")
    ]
    # Only files of the index can be read.
    for name in ("index.jsonl", "../x.eml", "nothing.eml"):
        try:
            server.mails.read(name)
        except KeyError:
            pass
        else:
            raise AssertionError(name)


def test_file_sinks_write_what_a_newcomer_reads(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, email_provider="file", sms_provider="file")
    email_sink = build_email_provider(settings)
    sms_sink = build_sms_provider(settings)
    assert isinstance(email_sink, EmailFileSink) and isinstance(sms_sink, SmsFileSink)
    email_sink.send(_email("m5"))
    sms_sink.send(
        OutgoingSms(
            "s5",
            "06 12 34 56 78",
            SmsRendition("Confirmez : https://f.example/r/x", "MUTUELLE", Purpose.SERVICE, "fr"),
        )
    )
    [mail] = list(MailDirectory(tmp_path / "mail").entries())
    assert mail.mail_from == "bounces+m5@localhost"
    [sms_file] = sorted((tmp_path / "sms").glob("*-s5.txt"))
    assert sms_file.read_text(encoding="utf-8") == (
        "From: MUTUELLE\nTo: +33612345678\nCoding: GSM-7\n\nConfirmez : https://f.example/r/x\n"
    )
    index = [
        json.loads(line) for line in (tmp_path / "sms" / "index.jsonl").read_text().splitlines()
    ]
    assert [entry["message_id"] for entry in index] == ["s5"]


def _command(tmp_path: Path, *argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from forms_service.cli import main; main()", *argv],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_mail_server_and_sms_gateway_commands(tmp_path: Path) -> None:
    smtp_port, sendsms_port = free_port(), free_port()
    env = {
        "FORMS_VAR_DIR": str(tmp_path / "var"),
        "FORMS_SMTP_PORT": str(smtp_port),
        "FORMS_SMS_PROVIDER": "kannel",
        "FORMS_KANNEL_SENDSMS_URL": f"http://127.0.0.1:{sendsms_port}/cgi-bin/sendsms",
    }
    settings = ensure_secrets(  # var/secrets.json first: the commands read it
        Settings(
            var_dir=tmp_path / "var",
            smtp_port=smtp_port,
            sms_provider="kannel",
            kannel_sendsms_url=env["FORMS_KANNEL_SENDSMS_URL"],
        )
    )
    assert kannel_installed(), "Kannel (kannel, kannel-extras) is part of the tests' packages"
    commands = [_command(tmp_path, name, env=env) for name in ("mail-server", "sms-gateway")]
    try:
        mailer = SmtpProvider(settings)
        _retry(lambda: mailer.send(_email("m9")))
        mailer.close()
        [mail] = list(MailDirectory(tmp_path / "var" / "mail").entries())
        assert mail.mail_from == "bounces+m9@localhost"
        sms = OutgoingSms(
            "s9", "+33612345678", SmsRendition("Bonjour s9", "MUTUELLE", Purpose.SERVICE, "fr")
        )
        gateway = KannelProvider(settings)  # the password both derive from SECRET_KEY
        _retry(lambda: gateway.send(sms), timeout=30)
        gateway.close()
        log = tmp_path / "var" / "sms" / "fakesmsc.log"
        _retry(lambda: _assert("text Bonjour s9" in log.read_text()), timeout=15)
    finally:
        outputs = []
        for command in commands:
            command.send_signal(signal.SIGTERM)
            outputs.append(command.communicate(timeout=30)[0])
    assert "Local SMTP server on 127.0.0.1" in outputs[0], outputs[0]
    assert f"sendsms on port {sendsms_port}" in outputs[1], outputs[1]
    # The gateway's Kannel processes ended with it.
    config = str(tmp_path / "var" / "kannel" / "kannel.conf")
    _retry(lambda: _assert(subprocess.run(["pgrep", "-f", config], check=False).returncode == 1))


def _assert(condition: bool) -> None:
    assert condition


def _retry(action: object, timeout: float = 60.0) -> None:
    assert callable(action)
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
