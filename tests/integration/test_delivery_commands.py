"""`forms-service send`, `POST /api/v1/campaigns/<name>/send`, the history API and page,
the providers' webhooks (authenticated, forged input refused) and the metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from forms_service.cli.delivery import delivery as delivery_group
from forms_service.cli.delivery import send
from forms_service.connectors.interfaces import Selection
from forms_service.delivery.local_mail import LocalMailServer, MailDirectory
from forms_service.delivery.reports import dlr_secret, kannel_dlr_url
from forms_service.runtime import Runtime
from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.messages import Message, MessageStatus
from tests.delivery_servers import free_port
from tests.integration.delivery_support import REACHABLE, edit_crm
from tests.integration.reviewing import add_token

SECRET = "hook-secret-" + "x" * 32
KEYS = [f"C{n:06d}" for n in range(1, 5)]


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[LocalMailServer]:
    """The local SMTP server of `make run` (writing var/mail/), on a port of the test's own."""
    with LocalMailServer(tmp_path / "var" / "mail", port=free_port()) as server:
        yield server


@pytest.fixture
def app_settings(app_settings: dict[str, Any], relay: LocalMailServer) -> dict[str, Any]:
    """Jobs run in the caller; e-mail over SMTP to the local server, SMS as files; hooks keyed."""
    return {
        **app_settings,
        "JOBS_EAGER": True,
        "DELIVERY_HOOK_SECRET": SECRET,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_PORT": relay.port,
    }


@pytest.fixture
def campaign(runtime: Runtime, crm_url: str) -> list[str]:
    for key in KEYS:
        edit_crm(crm_url, key, **REACHABLE)
    edit_crm(crm_url, KEYS[1], preferred_channel="sms")
    edit_crm(crm_url, KEYS[2], email="broken@", phone=None)
    edit_crm(crm_url, KEYS[3], email=None, phone=None, address_line=None)
    issued = runtime.issuing.issue("contact-update", Selection(keys=tuple(KEYS)), "spring")
    return [line.document_id for line in issued]


def _body(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict), response.data
    return body


def _messages(runtime: Runtime) -> list[Message]:
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Message).order_by(Message.created_at)))
        session.expunge_all()
        return rows


def _sink(runtime: Runtime, channel: str) -> list[str]:
    """The recipients of what the local SMTP server received, or of the SMS files written."""
    if channel == "email":
        mails = MailDirectory(runtime.settings.var_dir / "mail")
        return [to for entry in mails.entries() for to in entry.recipients]
    path: Path = runtime.settings.var_dir / "sms" / "index.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["to"] for line in path.read_text().splitlines()]


def test_dry_run_prints_counts_and_reasons_and_sends_nothing(
    app: Flask, runtime: Runtime, campaign: list[str]
) -> None:
    result = app.test_cli_runner().invoke(send, ["--campaign", "spring", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "campaign 'spring': 4 documents" in result.output
    assert "email: 1 would go" in result.output
    assert "sms: 1 would go" in result.output
    assert "letter: 1 would go" in result.output
    assert "no_email: 1" in result.output
    assert "email:invalid_email: 1" in result.output
    assert "dry run: nothing was sent or written" in result.output
    assert _messages(runtime) == []
    assert _sink(runtime, "email") == []


def test_send_queues_sends_and_resumes(app: Flask, runtime: Runtime, campaign: list[str]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(send, ["--campaign", "spring", "--remind", "7,21", "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["channels"] == {"email": 1, "sms": 1, "letter": 1}
    assert counts["unreachable"] == {"no_email": 1}
    assert _sink(runtime, "email") == ["anne.martin@example.org"]
    assert _sink(runtime, "sms") == ["+33612345678"]
    statuses = sorted((m.channel, m.status.value) for m in _messages(runtime))
    assert ("email", "sent") in statuses and ("sms", "sent") in statuses
    assert ("letter", "queued") in statuses
    again = runner.invoke(send, ["--campaign", "spring", "--json"])
    # Every document was dealt with, the unreachable one included (its history says why).
    assert json.loads(again.output)["already"] == 4
    assert len(_sink(runtime, "email")) == 1  # nothing twice
    printed = runner.invoke(delivery_group, ["mark-printed", "--campaign", "spring"])
    assert "1 letter(s)" in printed.output
    bad = runner.invoke(send, ["--campaign", "spring", "--channels", "fax"])
    assert bad.exit_code != 0 and "fax" in str(bad.exception or bad.output)


def test_the_api_sends_a_campaign_with_the_same_options(
    client: FlaskClient, runtime: Runtime, campaign: list[str]
) -> None:
    token = add_token(runtime, "crm", ["integration"])
    headers = {"Authorization": f"Bearer {token}"}
    dry = client.post("/api/v1/campaigns/spring/send", json={"dry_run": True}, headers=headers)
    assert dry.status_code == 200, dry.data
    assert _body(dry)["channels"] == {"email": 1, "sms": 1, "letter": 1}
    assert _body(dry)["dry_run"] is True and _messages(runtime) == []
    forced = client.post(
        "/api/v1/campaigns/spring/send",
        json={"channels": ["letter"], "force": True},
        headers=headers,
    )
    assert forced.status_code == 200, forced.data
    assert _body(forced)["channels"] == {"letter": 3}
    assert client.post("/api/v1/campaigns/spring/send", json={}).status_code == 401
    unknown = client.post("/api/v1/campaigns/autumn/send", json={}, headers=headers)
    assert unknown.status_code == 404 and _body(unknown)["field"] == "campaign"
    bad = client.post("/api/v1/campaigns/spring/send", json={"channels": ["fax"]}, headers=headers)
    assert bad.status_code == 422
    clerk = add_token(runtime, "office", ["clerk"])
    refused = client.post(
        "/api/v1/campaigns/spring/send", json={}, headers={"Authorization": f"Bearer {clerk}"}
    )
    assert refused.status_code == 403
    spec = _body(client.get("/api/openapi.json"))
    assert "/api/v1/campaigns/{name}/send" in spec["paths"]
    assert "/api/v1/documents/{document_id}/events" in spec["paths"]


def test_history_api_and_metrics(
    app: Flask, client: FlaskClient, runtime: Runtime, campaign: list[str]
) -> None:
    app.test_cli_runner().invoke(send, ["--campaign", "spring"])
    token = add_token(runtime, "crm", ["integration"])
    response = client.get(
        f"/api/v1/documents/{campaign[0]}/events", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.data
    kinds = [e["kind"] for e in _body(response)["events"]]
    assert kinds == ["issued", "sent"]
    assert _body(response)["events"][1]["channel"] == "email"
    assert client.get(f"/api/v1/documents/{campaign[0]}/events").status_code == 401
    missing = client.get(
        "/api/v1/documents/nope/events", headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 404
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'forms_document_events_total{channel="email",kind="sent"} 1.0' in metrics
    assert 'forms_document_events_total{channel="",kind="issued"} 4.0' in metrics
    assert 'forms_delivery_messages{channel="letter",status="queued"} 1.0' in metrics


def _sent_sms(app: Flask, runtime: Runtime, document_id: str) -> Message:
    app.test_cli_runner().invoke(send, ["--campaign", "spring"])
    (sms,) = [m for m in _messages(runtime) if m.document_id == document_id]
    assert sms.channel == "sms"
    return sms


def test_a_signed_kannel_report_is_recorded_a_forged_one_refused(
    app: Flask, client: FlaskClient, runtime: Runtime, campaign: list[str]
) -> None:
    sms = _sent_sms(app, runtime, campaign[1])
    hook = "http://localhost/hooks/kannel/dlr"
    url = kannel_dlr_url(hook, sms.id, dlr_secret(runtime.settings))
    path = url.removeprefix("http://localhost")
    forged = path.replace("&s=", "&s=0")
    assert client.get(forged.replace("%d", "1")).status_code == 403
    other_key = kannel_dlr_url(hook, sms.id, b"another secret")
    assert (
        client.get(other_key.removeprefix("http://localhost").replace("%d", "1")).status_code == 403
    )
    assert client.get(f"/hooks/kannel/dlr?id={sms.id}&type=1").status_code == 403
    assert [m.status for m in _messages(runtime) if m.id == sms.id] == [MessageStatus.SENT]
    assert client.get(path.replace("%d", "1")).status_code == 200
    assert [m.status for m in _messages(runtime) if m.id == sms.id] == [MessageStatus.DELIVERED]
    with runtime.sessions() as session:
        kinds = list(
            session.scalars(select(DocumentEvent.kind).where(DocumentEvent.message_id == sms.id))
        )
    assert EventKind.DELIVERED in kinds


def _bounce(message_id: str, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as an MTA writes it."""
    return f"""From: MAILER-DAEMON@example.org
To: bounces+{message_id}@forms.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system could not deliver your message.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; a@b.example
Action: failed
Status: {status}

--B
Content-Type: text/rfc822-headers

Message-ID: <{message_id}@forms-service>
Subject: x

--B--
""".replace("\n", "\r\n").encode()


def test_a_bounce_needs_the_secret_and_falls_back(
    app: Flask, client: FlaskClient, runtime: Runtime, campaign: list[str]
) -> None:
    app.test_cli_runner().invoke(send, ["--campaign", "spring"])
    before = len(_messages(runtime))
    (email,) = [m for m in _messages(runtime) if m.document_id == campaign[0]]
    raw = _bounce(email.id)
    assert client.post("/hooks/bounces", data=raw).status_code == 403
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert client.post("/hooks/bounces", data=raw, headers=wrong).status_code == 403
    right = {"Authorization": f"Bearer {SECRET}"}
    forged = client.post("/hooks/bounces", data=_bounce("f" * 32), headers=right)
    assert forged.status_code == 403
    assert client.post("/hooks/bounces", data=b"hello", headers=right).status_code == 202
    with runtime.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Message))
    assert count == before  # nothing added by the refused ones
    assert [m.status for m in _messages(runtime) if m.id == email.id] == [MessageStatus.SENT]
    assert client.post("/hooks/bounces", data=raw, headers=right).status_code == 200
    rows = {m.channel: m for m in _messages(runtime) if m.document_id == email.document_id}
    assert rows["email"].status is MessageStatus.FAILED
    # The fallback job ran (eager): the SMS went out.
    assert rows["sms"].status is MessageStatus.SENT
    assert len(_sink(runtime, "sms")) == 2
