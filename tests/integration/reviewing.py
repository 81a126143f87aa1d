"""Helpers of the back-office and API tests: accounts, answered documents, signing in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from forms_service.accounts.service import (
    DECIDING_ROLES,
    DEFAULT_TOKEN_LIFETIME,
    create_api_token,
    create_user,
    parse_roles,
)
from forms_service.connectors.interfaces import Selection
from forms_service.connectors.sql import SqlConnector
from forms_service.core.errors import NotFound
from forms_service.definitions.model import Channel
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from tests.conftest import hidden_fields

PASSWORD = "correct horse battery"


def add_user(runtime: Runtime, username: str, roles: Iterable[str]) -> None:
    """A back-office account with the test password."""
    with runtime.sessions() as session, session.begin():
        create_user(session, username, PASSWORD, roles, now=dt.datetime.now(dt.UTC))


def add_token(
    runtime: Runtime,
    name: str,
    roles: Iterable[str],
    *,
    owner: str | None = None,
    lifetime: dt.timedelta = DEFAULT_TOKEN_LIFETIME,
) -> str:
    """An API token owned by `owner`; returns the clear token.

    A token that decides (clerk, supervisor, admin) needs an owner: without one, a user of
    the token's name and roles is made for it (one person per token, as before owners).
    """
    roles = list(roles)
    now = dt.datetime.now(dt.UTC)
    with runtime.sessions() as session, session.begin():
        if owner is None and DECIDING_ROLES & set(parse_roles(roles).split(",")):
            create_user(session, name, PASSWORD, roles, now=now)
            owner = name
        return create_api_token(session, name, roles, now=now, owner=owner, lifetime=lifetime)


def change_source(runtime: Runtime, key: str, columns: Mapping[str, object]) -> None:
    """Change the demo CRM's record behind the service's back (another system's edit)."""
    connector = runtime.connectors["crm"]
    assert isinstance(connector, SqlConnector)
    table, _ = connector._table("customer")
    with connector.engine.begin() as connection:
        connection.execute(update(table).where(table.c.customer_no == key).values(**columns))


def answer(
    runtime: Runtime,
    form_id: str,
    changes: Mapping[str, object],
    key: str = "C000001",
    *,
    source_changes: Mapping[str, object] | None = None,
) -> str:
    """Issue `form_id` to record `key`, answer it online with `changes`; the change set id.

    With `source_changes`, the source record changes after the issue and the customer
    answers from the issue's snapshot (a paper form, say): a changed field conflicts.
    """
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    with runtime.sessions() as session:
        document = session.get(Document, issued.document_id)
        assert document is not None
        session.expunge(document)
    definition = runtime.intake.definition(document)
    online = definition.fields_for(Channel.ONLINE)
    if source_changes:
        change_source(runtime, key, source_changes)
        shown = {f.name: document.snapshot.get(f.name) for f in online}
    else:
        prefill = runtime.intake.prefill(document)
        shown = {f.name: prefill.values.get(f.name) for f in online}
    receipt = runtime.intake.submit(
        document, shown | dict(changes), shown, locale="fr", opened_at=None
    )
    try:  # the runtime proposes right after the submit
        return runtime.changes.change_set_of_submission(receipt.submission.id).id
    except NotFound:
        return runtime.changes.propose(receipt.submission.id).id


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> int:
    """Post the login form with its CSRF token; the status code."""
    page = client.get("/backoffice/login")
    token = hidden_fields(page.text)["csrf_token"]
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": token, "username": username, "password": password},
    )
    return response.status_code


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered back-office page."""
    return hidden_fields(html)["csrf_token"]


def english_client(app: Flask) -> FlaskClient:
    """A test client whose browser asks for English (the back office's default is French)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
