"""The online channel end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import html

from flask.testing import FlaskClient
from sqlalchemy import func, select

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, SecurityEvent, Submission
from tests.conftest import hidden_fields


def _issue(runtime: Runtime, form_id: str, key: str = "C000001") -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    return issued.link.removeprefix("http://localhost")


def _birth_date(runtime: Runtime, key: str = "C000001") -> str:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return record["birth_date"].strftime("%d/%m/%Y")


def _pass_challenge(client: FlaskClient, runtime: Runtime, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    assert "date de naissance" in page.text
    fields = hidden_fields(page.text)
    answer = client.post(
        f"{path}/challenge",
        data={"csrf_token": fields["csrf_token"], "birth_date": _birth_date(runtime)},
    )
    assert answer.status_code == 303
    form = client.get(path)
    assert form.status_code == 200
    return form.text


def test_contact_update_end_to_end(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    page = _pass_challenge(client, runtime, path)
    # Prefilled with the live source values (escaped in HTML).
    assert html.escape(record["city"], quote=True) in page
    fields = hidden_fields(page)
    response = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "address_line": "12 rue des Lilas",
            "address_extra": record["address_extra"] or "",
            "postcode": "69003",
            "city": "Lyon",
            "email": record["email"].upper(),  # same address, other case: no change
            "phone": record["phone"],
        },
    )
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert "12 rue des Lilas" in done.text
    assert "69003" in done.text and "Lyon" in done.text
    assert "Adresse e-mail" not in done.text  # unchanged fields are not listed
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values["postcode"] == "69003"
        assert submission.raw_values["city"] == "Lyon"
        assert submission.base["city"] == record["city"]


def test_invalid_values_redisplay_with_messages(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "contact-update")
    page = _pass_challenge(client, runtime, path)
    fields = hidden_fields(page)
    response = client.post(
        path,
        data={
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "address_line": "",
            "postcode": "00000",
            "city": "Lyon",
            "email": "not-an-email",
            "phone": "123",
        },
    )
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in response.text
    assert "Code postal incorrect" in response.text
    assert "Adresse e-mail incorrecte" in response.text
    assert "Numéro de téléphone incorrect" in response.text
    with runtime.sessions() as session:
        assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0


def test_tampered_link_is_refused_and_recorded(client: FlaskClient, runtime: Runtime) -> None:
    path = _issue(runtime, "consent-preferences")
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "modifié" in response.text
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
        assert kinds == ["link_tampered"]
        assert session.execute(select(Document.opened_at)).scalar_one() is None
