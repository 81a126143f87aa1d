"""The local mail server of `make run` bounces mail to undeliverable.example, and its bounce
hook records the bounce on the message (as /hooks/bounces does): the document falls back to
SMS, and its history says so."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forms_service.cli.local_servers import local_mail_server
from forms_service.connectors.interfaces import Selection
from forms_service.delivery.local_mail import LocalMailServer, MailDirectory
from forms_service.runtime import Runtime
from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.messages import Message, MessageStatus
from tests.delivery_servers import free_port
from tests.integration.delivery_support import REACHABLE, edit_crm


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def app_settings(app_settings: dict[str, Any], smtp_port: int) -> dict[str, Any]:
    """E-mail over SMTP to the local server, SMS as files, jobs run in the caller."""
    return {**app_settings, "JOBS_EAGER": True, "EMAIL_PROVIDER": "smtp", "SMTP_PORT": smtp_port}


@pytest.fixture
def local_server(runtime: Runtime, smtp_port: int) -> Iterator[LocalMailServer]:
    """The server as `forms-service mail-server` builds it, its sink the test's runtime."""
    with local_mail_server(runtime.settings, lambda: runtime, log=lambda line: None) as server:
        yield server


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def _messages(runtime: Runtime, document_id: str) -> dict[str, Message]:
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Message).where(Message.document_id == document_id)))
        session.expunge_all()
        return {row.channel: row for row in rows}


def test_a_bounce_the_local_server_receives_is_recorded_and_falls_back_to_sms(
    runtime: Runtime, crm_url: str, local_server: LocalMailServer
) -> None:
    edit_crm(crm_url, "C000001", **{**REACHABLE, "email": "claire.nobody@undeliverable.example"})
    edit_crm(crm_url, "C000002", **REACHABLE)
    issued = runtime.issuing.issue(
        "contact-update", Selection(keys=("C000001", "C000002")), "spring"
    )
    bounced, delivered = (line.document_id for line in issued)
    runtime.delivery.send_campaign("spring")

    def sms_sent() -> bool:
        sms = _messages(runtime, bounced).get("sms")
        return sms is not None and sms.status is MessageStatus.SENT

    _wait_for(sms_sent, "the fallback's SMS")
    rows = _messages(runtime, bounced)
    assert rows["email"].status is MessageStatus.FAILED
    assert rows["email"].reason == "5.1.1"
    assert rows["sms"].status is MessageStatus.SENT
    # The other document's e-mail was not bounced: no fallback.
    assert set(_messages(runtime, delivered)) == {"email"}
    # The history a clerk reads: sent, bounced (hard, 5.1.1), fallback e-mail -> SMS, sent.
    with runtime.sessions() as session:
        events = list(
            session.scalars(
                select(DocumentEvent)
                .where(DocumentEvent.document_id == bounced, DocumentEvent.kind != "issued")
                .order_by(DocumentEvent.at, DocumentEvent.id)  # as document_history
            )
        )
    # The bounce comes back while the e-mail's group may still be handed over: whichever of
    # the two is recorded first, the history tells them in the order they happened.
    assert [(e.kind, e.channel) for e in events] == [
        (EventKind.SENT, "email"),
        (EventKind.BOUNCED, "email"),
        (EventKind.FALLBACK, "sms"),
        (EventKind.SENT, "sms"),
    ]
    fallback = next(e for e in events if e.kind is EventKind.FALLBACK)
    assert (fallback.detail["from"], fallback.detail["to"]) == ("email", "sms")
    bounce_event = next(e for e in events if e.kind is EventKind.BOUNCED)
    assert bounce_event.detail["status"] == "hard_bounce"
    # What a newcomer reads on /backoffice/dev/mail and under var/sms/: the two e-mails, the
    # server's delivery status notification to the VERP address, and the SMS.
    entries = list(MailDirectory(runtime.settings.var_dir / "mail").entries())
    assert sorted(r for e in entries for r in e.recipients) == sorted(
        [
            "anne.martin@example.org",
            "claire.nobody@undeliverable.example",
            f"bounces+{rows['email'].id}@localhost",
        ]
    )
    notification = next(e for e in entries if e.mail_from == "")
    assert notification.subject == "Undelivered Mail Returned to Sender"
    sms = [json.loads(line) for line in _sms_index(runtime).read_text().splitlines()]
    assert [entry["message_id"] for entry in sms] == [rows["sms"].id]


def _sms_index(runtime: Runtime) -> Path:
    return runtime.settings.var_dir / "sms" / "index.jsonl"


def test_a_bounce_naming_no_message_of_ours_is_kept_and_recorded_nowhere(
    runtime: Runtime, local_server: LocalMailServer, smtp_port: int
) -> None:
    import smtplib

    from tests.unit.delivery.test_reports import POSTFIX_DSN

    with smtplib.SMTP("127.0.0.1", smtp_port) as relay:
        relay.sendmail("", ["bounces+m42@localhost"], POSTFIX_DSN.replace(b"\n", b"\r\n"))
    _wait_for(lambda: len(list(local_server.mails.entries())) == 1, "the bounce's file")
    with runtime.sessions() as session:
        assert session.scalars(select(Message)).first() is None
