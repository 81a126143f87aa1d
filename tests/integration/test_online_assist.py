"""Help while typing: what a postcode suggests for its city, asked by POST with the CSRF token.

The rule is the postcode type's own (the one the paper channel applies): the listed commune
is suggested and a city that does not match is flagged; nothing of it travels in an address.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms_service.runtime import Runtime
from tests.conftest import hidden_fields
from tests.integration.test_online_form import _issue, _pass_challenge


@pytest.fixture
def signed(app: Flask, runtime: Runtime) -> tuple[FlaskClient, str]:
    """A browser on a form page, and that page's CSRF token."""
    client = app.test_client()
    page = _pass_challenge(client, runtime, _issue(runtime, "contact-update"))
    assert 'data-confirms="city"' in page and 'data-maxlength="38"' in page
    return client, hidden_fields(page)["csrf_token"]


def _ask(client: FlaskClient, token: str | None, **body: Any) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    question = {"form": "contact-update", "field": "postcode", **body}
    return client.post("/assist/confirm", json=question, headers=headers)


def test_a_postcode_suggests_its_commune_and_checks_the_city(
    signed: tuple[FlaskClient, str],
) -> None:
    client, token = signed
    answer = _ask(client, token, value="69003", other="lyon")
    assert answer.status_code == 200
    assert answer.json == {"valid": True, "suggestion": "LYON", "verdict": "confirmed"}
    assert _ask(client, token, value="69 003", other="Paris").json == {
        "valid": True,
        "suggestion": "LYON",
        "verdict": "unconfirmed",
    }
    assert _ask(client, token, value="75002").json["verdict"] is None
    # Not a French postcode (no such département): nothing to suggest.
    assert _ask(client, token, value="00123", other="Lyon").json == {
        "valid": False,
        "suggestion": None,
        "verdict": None,
    }
    assert answer.headers["Cache-Control"] == "no-store"


def test_questions_without_the_page_s_token_or_off_the_form_are_refused(
    signed: tuple[FlaskClient, str],
) -> None:
    client, token = signed
    assert _ask(client, None, value="69003").status_code == 400  # no CSRF token
    assert _ask(client, token, field="city", value="Lyon").status_code == 404  # confirms nothing
    assert _ask(client, token, form="nope", value="69003").status_code == 404
    assert _ask(client, token, value="6" * 121).status_code == 400
    assert _ask(client, token, value=69003).status_code == 400
    refused = client.post("/assist/confirm", data="not json", headers={"X-CSRFToken": token})
    assert refused.status_code == 400
