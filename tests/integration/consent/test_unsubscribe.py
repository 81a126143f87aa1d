"""The unsubscribe link of a commercial e-mail: made by delivery, one-click POST, the ledger."""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, delete, func, select

from forms_service.cli.consent import consent as consent_commands
from forms_service.connectors.interfaces import Selection
from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.delivery.campaigns import CampaignOptions
from forms_service.delivery.interfaces import Channel, OutgoingEmail, Purpose
from forms_service.demo.service import customers_table
from forms_service.runtime import Runtime
from forms_service.storage.consent import ConsentEvent
from forms_service.storage.events import DocumentEvent, EventKind
from forms_service.storage.messages import Message
from forms_service.storage.model import AuditEvent
from tests.integration.delivery_support import RecordingProvider


def _opted_in_key(runtime: Runtime) -> str:
    crm = runtime.connectors["crm"]
    for key in crm.keys("customer", Selection(all=True)):
        record: Any = crm.read("customer", key)
        if record["consent_email"] and record["email"] and "@" in record["email"]:
            return key
    raise AssertionError("the demo CRM has nobody opted in to e-mail")


def _send_commercial_email(runtime: Runtime, key: str) -> OutgoingEmail:
    provider = RecordingProvider(runtime.clock)
    runtime.delivery_providers = lambda settings: (provider, provider)
    list(runtime.issuing.issue("consent-preferences", Selection(keys=(key,)), "offers"))
    options = CampaignOptions(channels=(Channel.EMAIL,), purpose=Purpose.COMMERCIAL)
    runtime.delivery.send_campaign("offers", options)
    with runtime.sessions() as session:
        (message_id,) = session.scalars(select(Message.id).where(Message.campaign == "offers"))
    runtime.delivery.send_message(message_id)
    (sent,) = provider.sent
    assert isinstance(sent, OutgoingEmail)
    return sent


def _count(runtime: Runtime, model: Any, *where: Any) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_one_click_unsubscribe_writes_the_ledger_the_history_and_the_crm(
    runtime: Runtime, client: FlaskClient
) -> None:
    key = _opted_in_key(runtime)
    email = _send_commercial_email(runtime, key)
    url = email.rendition.unsubscribe_url
    assert url is not None and url in email.rendition.text and url in email.rendition.html
    path = urllib.parse.urlsplit(url).path
    assert path.startswith("/u/") and key not in url  # the document's random id, signed

    # The confirmation page changes nothing (mail scanners open links).
    page = client.get(path)
    assert page.status_code == 200 and b"from_page" in page.data
    assert _count(runtime, ConsentEvent) == 0

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, no cookie, no CSRF token.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    customer = customer_key("crm", "customer", key)
    with runtime.sessions() as session:
        (event,) = runtime.consent_ledger.history(session, customer)
        states = runtime.consent_ledger.states(session, [customer], "commercial", "email")
    assert states == {customer: ConsentState.WITHDRAWN}
    assert (event.source, event.via, event.detail["how"]) == ("unsubscribe", "email", "one_click")
    assert event.text and "List-Unsubscribe" in event.text
    assert _count(runtime, DocumentEvent, DocumentEvent.kind == EventKind.OPTED_OUT) == 1
    assert runtime.connectors["crm"].read("customer", key)["consent_email"] is False  # type: ignore[index]
    kinds = {e for (e,) in _rows(runtime, AuditEvent.kind)}
    assert {"consent_withdrawn", "consent_written_back"} <= kinds

    # A second click (or the page's button afterwards) records nothing more.
    assert (
        client.post(path, data={"List-Unsubscribe": "One-Click", "from_page": "1"}).status_code
        == 200
    )
    assert _count(runtime, ConsentEvent) == 1
    assert b'class="unsubscribed"' in client.get(path).data


def test_an_altered_link_is_refused_and_records_nothing(
    runtime: Runtime, client: FlaskClient
) -> None:
    email = _send_commercial_email(runtime, _opted_in_key(runtime))
    url = email.rendition.unsubscribe_url
    assert url is not None
    path = urllib.parse.urlsplit(url).path
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get("/u/not-a-token").status_code == 400
    assert _count(runtime, ConsentEvent) == 0


def _rows(runtime: Runtime, *columns: Any) -> list[Any]:
    with runtime.sessions() as session:
        return list(session.execute(select(*columns)))


def test_an_unsubscribe_for_a_customer_gone_from_the_crm_is_kept_and_reported(
    app: Any, runtime: Runtime, client: FlaskClient, crm_url: str
) -> None:
    key = _opted_in_key(runtime)
    email = _send_commercial_email(runtime, key)
    assert email.rendition.unsubscribe_url is not None
    # The CRM deleted the record meanwhile (another application, a merge of duplicates).
    engine = create_engine(crm_url)
    with engine.begin() as connection:
        table = customers_table(MetaData())
        connection.execute(delete(table).where(table.c.customer_no == key))
    engine.dispose()

    path = urllib.parse.urlsplit(email.rendition.unsubscribe_url).path
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    customer = customer_key("crm", "customer", key)
    with runtime.sessions() as session:
        (event,) = runtime.consent_ledger.history(session, customer)
        assert event.unknown_customer and event.state is ConsentState.WITHDRAWN
        assert runtime.consent_ledger.unknown_customers(session) == (1, [customer])
    report = app.test_cli_runner().invoke(consent_commands, ["unknown"])
    assert "1 event(s) for customers unknown to their source" in report.output
    assert customer in report.output
