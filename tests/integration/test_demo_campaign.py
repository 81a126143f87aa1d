"""`make run`'s demo: `demo init`, the local mail server, `demo send` and a real job worker.

A newcomer reads the campaign's e-mails on /backoffice/dev/mail (the demo's admin account)
and its SMS under var/sms/; the e-mail's link and the SMS's short link open the form; the
customer whose address the local server bounces gets an SMS instead.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from forms_service.cli.demo import demo
from forms_service.cli.local_servers import local_mail_server
from forms_service.delivery.local_mail import LocalMailServer, MailDirectory
from forms_service.runtime import Runtime
from forms_service.storage.messages import Message, MessageStatus
from forms_service.storage.model import Document
from tests.delivery_servers import free_port
from tests.integration.delivery_support import worker_process
from tests.integration.reviewing import english_client, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """As `make run` without Kannel: SMTP to the local server, SMS as files, a job worker."""
    return {
        **app_settings,
        "JOBS_EAGER": False,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_PORT": free_port(),
        "SMS_PROVIDER": "file",
        "BASE_URL": "http://localhost",
    }


@pytest.fixture
def mail_server(runtime: Runtime) -> Iterator[LocalMailServer]:
    """`forms-service mail-server` as `make run` starts it (its bounces recorded)."""
    with local_mail_server(runtime.settings, lambda: runtime, log=lambda line: None) as server:
        yield server


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def _messages(runtime: Runtime) -> list[tuple[str, str, str, MessageStatus, str | None]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Document.record_key, Document.form_id, Message.channel, Message.status,
                   Message.reason)
            .join(Document, Document.id == Message.document_id)
            .order_by(Document.record_key, Document.form_id, Message.created_at)
        )  # fmt: skip
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _settled(runtime: Runtime) -> bool:
    rows = _messages(runtime)
    busy = (MessageStatus.QUEUED, MessageStatus.SENDING)
    # Every message sent or failed, and each failed e-mail has its fallback SMS.
    failed = {(k, f) for k, f, channel, status, _ in rows if status is MessageStatus.FAILED}
    fallen = {(k, f) for k, f, channel, _, _ in rows if channel == "sms"}
    return bool(rows) and all(row[3] not in busy for row in rows) and failed <= fallen


def test_make_run_shows_a_campaign_whose_mail_and_sms_a_newcomer_reads_and_opens(
    app: Flask,
    app_settings: dict[str, Any],
    runtime: Runtime,
    mail_server: LocalMailServer,
    tmp_path: Path,
) -> None:
    runner = app.test_cli_runner()
    init = runner.invoke(demo, ["init"])
    assert init.exit_code == 0, init.output
    assert "/backoffice/dev/mail" in init.output
    # The worker starts before, or after, `demo send`: the jobs wait in the broker.
    sent = runner.invoke(demo, ["send", "--wait", "10"])
    assert sent.exit_code == 0, sent.output
    assert "email: 6 queued" in sent.output and "sms: 3 queued" in sent.output
    assert "/backoffice/dev/mail" in sent.output and "var/sms/" in sent.output
    with worker_process(app_settings, tmp_path / "worker.log"):
        _wait_for(lambda: _settled(runtime), "the demo campaign sent")
    rows = _messages(runtime)
    by_channel = {
        (key, form, channel): (status, reason) for key, form, channel, status, reason in rows
    }
    # C000001 prefers e-mail, C000002 SMS; C000003's address bounces, and SMS follows.
    assert by_channel[("C000001", "contact-update", "email")] == (MessageStatus.SENT, None)
    assert by_channel[("C000002", "contact-update", "sms")] == (MessageStatus.SENT, None)
    assert by_channel[("C000003", "contact-update", "email")] == (MessageStatus.FAILED, "5.1.1")
    assert by_channel[("C000003", "contact-update", "sms")] == (MessageStatus.SENT, None)

    credentials = json.loads((runtime.settings.var_dir / "demo-credentials.json").read_text())
    client = english_client(app)
    assert sign_in(client, credentials["admin_user"], credentials["admin_password"]) == 303
    listing = client.get("/backoffice/dev/mail")
    assert listing.status_code == 200
    mails = MailDirectory(runtime.settings.var_dir / "mail")
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    [entry] = [
        e
        for e in mails.entries()
        if e.recipients == [record["email"]] and "toujours à jour" in e.subject
    ]
    assert entry.file in listing.text
    page = client.get(f"/backoffice/dev/mail/{entry.file}")
    assert page.status_code == 200
    # The e-mail's link (button and text) opens the form.
    link = re.search(r"http://localhost(/f/[A-Za-z0-9_.\-]+)", page.text)
    assert link, page.text
    customer = app.test_client()
    opened = customer.get(link.group(1))
    assert opened.status_code == 200 and "birth_date" in opened.text

    # The SMS's short link redirects to the form's link, which opens.
    texts = [p.read_text() for p in sorted((runtime.settings.var_dir / "sms").glob("*.txt"))]
    assert len(texts) >= 3
    short = re.search(r"http://localhost(/r/[0-9a-z]{20})", texts[0])
    assert short, texts[0]
    redirected = customer.get(short.group(1))
    assert redirected.status_code == 302
    target = redirected.headers["Location"]
    assert "/f/" in target
    assert customer.get(target).status_code == 200
    # `demo send` again queues nothing twice.
    again = runner.invoke(demo, ["send", "--wait", "0"])
    assert "already sent: 9" in again.output
