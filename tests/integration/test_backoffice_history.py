"""The change set's page shows its document's delivery and answer history, in the office's
language; the history reaches `applied` once the change set is applied."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from forms_service.runtime import Runtime
from tests.integration.reviewing import add_user, answer, english_client, sign_in


def test_the_change_set_page_lists_the_documents_history(
    app: Flask, client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "claire", ["clerk"])
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    sign_in(client, "claire")
    page = client.get(f"/backoffice/change-sets/{change_set_id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="document-events"' in html
    assert "Envois et réponses" in html
    assert '<tr data-kind="issued">' in html and '<tr data-kind="submitted">' in html
    assert "réponse reçue" in html and "formulaire en ligne" in html
    english = english_client(app)
    sign_in(english, "claire")
    text = english.get(f"/backoffice/change-sets/{change_set_id}").text
    assert "Delivery and answers" in text and "answer received" in text


def test_an_applied_change_set_is_in_the_history(runtime: Runtime) -> None:
    from forms_service.delivery.history import document_history
    from forms_service.storage.model import ChangeSet

    change_set_id = answer(runtime, "contact-update", {"email": "anne.new@example.org"})
    with runtime.sessions() as session:
        change_set = session.get_one(ChangeSet, change_set_id)
        kinds = [e.kind for e in document_history(session, change_set.document_id)]
    assert kinds == ["issued", "submitted", "applied"]
