"""The back office's customer page: found by a posted search, consents, history, phone change."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.connectors.interfaces import Selection
from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent, Document
from tests.integration.reviewing import add_user, csrf_of, sign_in

KEY = "C000003"
CUSTOMER = customer_key("crm", "customer", KEY)


def _find(client: FlaskClient, **data: str) -> str:
    token = csrf_of(client.get("/backoffice/customers").text)
    found = client.post("/backoffice/customers", data={"csrf_token": token, **data})
    assert found.status_code == 303, found.text
    return found.headers["Location"]


def test_a_clerk_finds_a_customer_and_records_a_consent_change_by_phone(
    runtime: Runtime, client: FlaskClient
) -> None:
    add_user(runtime, "clara", ["clerk"])
    list(runtime.issuing.issue("consent-preferences", Selection(keys=(KEY,)), "spring"))
    with runtime.sessions() as session:
        reference = session.scalars(select(Document.reference)).one()
    sign_in(client, "clara")

    # By the document's reference (typed as people do) or by customer number: same customer,
    # and the page's address never holds the number.
    by_reference = _find(client, reference=reference.lower().replace("-", " "))
    by_number = _find(client, source="crm/customer", key=KEY)
    for location in (by_reference, by_number):
        assert location.startswith("/backoffice/customers/") and KEY not in location
    page = client.get(by_number)
    assert page.status_code == 200
    assert reference in page.text and "data-contact-points" in page.text
    assert 'data-kind="issued"' in page.text

    wording = "Acceptez-vous de recevoir nos offres par SMS ?"
    form = client.post(
        by_number + "/consents",
        data={
            "csrf_token": csrf_of(page.text),
            "purpose": "commercial",
            "channel": "sms",
            "state": "granted",
            "at": "2026-12-07T10:15",
            "wording": wording,
        },
    )
    assert form.status_code == 303
    page = client.get(by_number)
    assert 'data-consent="commercial/sms" data-state="granted"' in page.text
    assert wording.replace("'", "&#39;") in page.text and "clara" in page.text
    with runtime.sessions() as session:
        (event,) = runtime.consent_ledger.history(session, CUSTOMER)
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "consent_recorded")
        ).one()
    assert (event.state, event.source, event.via, event.actor) == (
        ConsentState.GRANTED,
        "clerk",
        "phone",
        "clara",
    )
    assert event.text == wording
    # 10:15 in the office's zone (Paris, winter): 09:15 UTC.
    assert (event.at.hour, event.at.minute) == (9, 15)
    assert audit.actor == "clara" and audit.detail["event"] == event.id
    assert runtime.connectors["crm"].read("customer", KEY)["consent_sms"] is True  # type: ignore[index]


def test_the_page_needs_a_clerk_the_csrf_token_and_a_wording(
    runtime: Runtime, client: FlaskClient
) -> None:
    add_user(runtime, "mo", ["mailroom"])
    add_user(runtime, "clara", ["clerk"])
    sign_in(client, "mo")
    assert client.get("/backoffice/customers").status_code == 403
    client.post(
        "/backoffice/logout", data={"csrf_token": csrf_of(client.get("/backoffice/login").text)}
    )
    sign_in(client, "clara")
    location = _find(client, source="crm/customer", key=KEY)
    # Without the CSRF token: refused.
    assert client.post(location + "/consents", data={"purpose": "commercial"}).status_code == 400
    page = client.get(location)
    refused = client.post(
        location + "/consents",
        data={
            "csrf_token": csrf_of(page.text),
            "purpose": "commercial",
            "channel": "sms",
            "state": "granted",
            "wording": "",
        },
    )
    assert refused.status_code == 422
    # An unknown number, a forged reference: nothing found.
    token = csrf_of(client.get("/backoffice/customers").text)
    missing = client.post(
        "/backoffice/customers", data={"csrf_token": token, "source": "crm/customer", "key": "NOPE"}
    )
    assert missing.status_code == 404
    assert client.get("/backoffice/customers/forged").status_code == 404
    with runtime.sessions() as session:
        assert runtime.consent_ledger.history(session, CUSTOMER) == []
