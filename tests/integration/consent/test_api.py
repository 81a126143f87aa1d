"""The consent API: an integration records a consent with its wording, reads states in bulk."""

from __future__ import annotations

from flask.testing import FlaskClient

from forms_service.consent.interfaces import ConsentState, customer_key
from forms_service.runtime import Runtime
from tests.integration.reviewing import add_token

KEY = "C000007"
WORDING = "J'accepte de recevoir les offres par SMS (application mobile, écran Préférences)"


def test_an_api_client_records_a_consent_and_reads_the_states(
    runtime: Runtime, client: FlaskClient
) -> None:
    token = add_token(runtime, "mobile-app", ["integration"])
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        "source": "crm/customer",
        "key": KEY,
        "purpose": "commercial",
        "channel": "sms",
        "state": "withdrawn",
        "at": "2026-12-06T18:30:00+01:00",
        "wording": WORDING,
    }
    recorded = client.post("/api/v1/consents", json=body, headers=auth)
    assert recorded.status_code == 201, recorded.json
    answer = recorded.get_json()
    assert answer["write_back"] in ("written", "unchanged")
    with runtime.sessions() as session:
        (event,) = runtime.consent_ledger.history(session, customer_key("crm", "customer", KEY))
    assert event.id == answer["event"]
    assert (event.source, event.via, event.actor, event.text) == (
        "api",
        "api",
        "api:mobile-app",
        WORDING,
    )
    assert event.state is ConsentState.WITHDRAWN and event.at.hour == 17
    assert runtime.connectors["crm"].read("customer", KEY)["consent_sms"] is False  # type: ignore[index]

    query = {
        "source": "crm/customer",
        "keys": [KEY, "C000008"],
        "purpose": "commercial",
        "channel": "sms",
    }
    states = client.post("/api/v1/consents/states", json=query, headers=auth)
    assert states.status_code == 200 and states.json == {"states": {KEY: "withdrawn"}}


def test_the_consent_api_refuses_bad_input_and_other_roles(
    runtime: Runtime, client: FlaskClient
) -> None:
    token = add_token(runtime, "mobile-app", ["integration"])
    auth = {"Authorization": f"Bearer {token}"}
    good = {
        "source": "crm/customer",
        "key": KEY,
        "purpose": "commercial",
        "channel": "sms",
        "state": "granted",
        "at": "2026-12-06T18:30:00+01:00",
        "wording": "Oui",
    }
    for change in (
        {"purpose": "service"},
        {"channel": "fax"},
        {"at": "2026-12-06T18:30:00"},
        {"wording": ""},
    ):
        assert client.post("/api/v1/consents", json=good | change, headers=auth).status_code == 422
    assert (
        client.post("/api/v1/consents", json=good | {"source": "erp/x"}, headers=auth).status_code
        == 404
    )
    assert client.post("/api/v1/consents", json=good).status_code == 401
    clerk = add_token(runtime, "desk", ["clerk"])
    refused = client.post(
        "/api/v1/consents", json=good, headers={"Authorization": f"Bearer {clerk}"}
    )
    assert refused.status_code == 403
    with runtime.sessions() as session:
        assert runtime.consent_ledger.history(session, customer_key("crm", "customer", KEY)) == []
