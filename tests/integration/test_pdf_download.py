"""The customer's PDF download on the link's pages (`/f/<token>/pdf`), over HTTP.

The PDF is the one the campaign prints, rendered again: it opens with pdfplumber, carries one
widget per answer box and the hidden token field; the identity question comes first where the
form asks one; bad links get the same refusal pages as the other link routes, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import secrets
from typing import Any

import pdfplumber
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text
from sqlalchemy import select, update

from forms_service.app import create_app
from forms_service.connectors.interfaces import Selection, SourceUnavailable
from forms_service.definitions.model import Channel
from forms_service.issuing.widgets import TOKEN_FIELD, split_widget_name
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, DocumentStatus, SecurityEvent
from forms_service.web.extensions import limiter
from tests.conftest import hidden_fields
from tests.integration.test_pdf_rendering import _walk

OPEN_FORM = "consent-preferences"  # no identity question
GUARDED_FORM = "contact-update"  # asks the birth date first


def _issue(runtime: Runtime, form_id: str, key: str = "C000003") -> tuple[str, str]:
    """The link's path and the document id."""
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "download-test")
    return issued.link.removeprefix(runtime.issuing.base_url), issued.document_id


def _document(runtime: Runtime, document_id: str) -> Document:
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document


def _fields(pdf: bytes) -> dict[str, Any]:
    """Field name -> value (None when empty) of every widget, read with pdfplumber."""
    found: dict[str, Any] = {}
    with pdfplumber.open(io.BytesIO(pdf)) as plumber:
        acroform = resolve1(plumber.doc.catalog["AcroForm"])
        for name, widget in _walk(acroform["Fields"]):
            value = resolve1(widget.get("V"))
            found[name] = decode_text(value) if isinstance(value, bytes) else value
        texts = [page.extract_text() or "" for page in plumber.pages]
    found["__pages__"] = texts
    return found


def _plain(value: Any) -> Any:
    """A checkbox state (a PDF name) as its text; anything else as it is."""
    return value.name if isinstance(value, PSLiteral) else value


def _expected_widgets(runtime: Runtime, form_id: str) -> set[str]:
    definition = runtime.definitions[form_id]
    return {f.name for f in definition.fields_for(Channel.PDF)}


def _assert_the_letter(runtime: Runtime, response: Any, document_id: str, form_id: str) -> None:
    document = _document(runtime, document_id)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{document.reference}.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    pdf = response.data
    assert pdf.startswith(b"%PDF-")
    fields = _fields(pdf)
    assert fields[TOKEN_FIELD] == runtime.issuing.token_for(document)
    printed = {split_widget_name(name)[0] for name in fields if not name.startswith("__")}
    assert printed - {TOKEN_FIELD} == _expected_widgets(runtime, form_id)
    # Empty on issue: an empty answer means "unchanged".
    answers = {n: _plain(v) for n, v in fields.items() if n not in (TOKEN_FIELD, "__pages__")}
    assert set(answers.values()) <= {None, "", "Off"}, answers
    # The same pages the campaign prints (the creation date aside, the text is identical).
    campaign = _fields(runtime.printer.pdf_for(document_id))["__pages__"]
    assert fields["__pages__"] == campaign
    assert all(f"Réf. {document.reference}" in text for text in fields["__pages__"])


def test_the_letter_downloads_from_its_link(client: FlaskClient, runtime: Runtime) -> None:
    path, document_id = _issue(runtime, OPEN_FORM)
    response = client.get(f"{path}/pdf")
    _assert_the_letter(runtime, response, document_id, OPEN_FORM)
    reference = _document(runtime, document_id).reference
    record = runtime.connectors["crm"].read("customer", "C000003")
    assert record is not None
    disposition = response.headers["Content-Disposition"]
    assert disposition.endswith(f'"{reference}.pdf"')
    for personal in (record["last_name"], record["first_name"], "C000003", document_id):
        assert str(personal) not in disposition


@pytest.mark.parametrize(
    ("lang", "form_text", "upload_text"),
    [
        ("fr", "Télécharger le formulaire PDF", "Téléchargez-le de nouveau"),
        ("en", "Download the PDF form", "Download it again"),
    ],
)
def test_the_form_and_upload_pages_link_to_the_download(
    client: FlaskClient, runtime: Runtime, lang: str, form_text: str, upload_text: str
) -> None:
    path, _document_id = _issue(runtime, OPEN_FORM)
    headers = {"Accept-Language": lang}
    form = html.unescape(client.get(path, headers=headers).text)
    upload = html.unescape(client.get(f"{path}/upload", headers=headers).text)
    link = f'href="{path}/pdf" download'
    assert link in form and form_text in form
    assert link in upload and upload_text in upload


def test_the_identity_question_comes_before_the_download(
    client: FlaskClient, runtime: Runtime
) -> None:
    path, document_id = _issue(runtime, GUARDED_FORM)
    refused = client.get(f"{path}/pdf")
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith(path)
    assert not refused.data.startswith(b"%PDF")
    # Another document's answered question does not open this one.
    other_path, _other = _issue(runtime, GUARDED_FORM, "C000004")
    _pass(client, runtime, other_path, "C000004")
    assert client.get(f"{path}/pdf").status_code == 302
    _pass(client, runtime, path, "C000003")
    _assert_the_letter(runtime, client.get(f"{path}/pdf"), document_id, GUARDED_FORM)


def _pass(client: FlaskClient, runtime: Runtime, path: str, key: str) -> None:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    page = client.get(path)
    answer = client.post(
        f"{path}/challenge",
        data={
            "csrf_token": hidden_fields(page.text)["csrf_token"],
            "birth_date": record["birth_date"].strftime("%d/%m/%Y"),
        },
    )
    assert answer.status_code == 303


def _tampered(runtime: Runtime, path: str, _document_id: str) -> str:
    return path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")


def _expired(runtime: Runtime, _path: str, document_id: str) -> str:
    expired = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    return f"/f/{runtime.signer.sign(document_id, expired)}"


def _revoked(runtime: Runtime, path: str, document_id: str) -> str:
    runtime.issuing.revoke(document_id, actor="test")
    return path


def _applied(runtime: Runtime, path: str, document_id: str) -> str:
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(Document).where(Document.id == document_id).values(status=DocumentStatus.CLOSED)
        )
    return path


@pytest.mark.parametrize(
    ("spoil", "status", "event"),
    [
        (_tampered, 400, "link_tampered"),
        (_expired, 410, "link_expired"),
        (_revoked, 410, "link_revoked"),
        (_applied, 410, None),
    ],
)
def test_bad_links_get_a_refusal_page_and_no_pdf(
    client: FlaskClient, runtime: Runtime, spoil: Any, status: int, event: str | None
) -> None:
    path, document_id = _issue(runtime, OPEN_FORM)
    reference = _document(runtime, document_id).reference
    response = client.get(f"{spoil(runtime, path, document_id)}/pdf")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert b"%PDF" not in response.data
    assert reference not in response.text
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind)).scalars().all()
    assert kinds == ([event] if event else [])


def test_a_letter_still_downloads_while_the_source_is_down(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, document_id = _issue(runtime, OPEN_FORM)
    record = runtime.connectors["crm"].read("customer", "C000003")
    assert record is not None
    normal = _fields(client.get(f"{path}/pdf").data)["__pages__"]
    assert str(record["last_name"]) in normal[0]

    def down(*_args: object) -> None:
        raise SourceUnavailable("the CRM does not answer")

    monkeypatch.setattr(runtime.connectors["crm"], "read", down)
    response = client.get(f"{path}/pdf")
    assert response.status_code == 200
    fields = _fields(response.data)
    # The form pages (snapshot, widgets, token) are whole; the letter has no address.
    assert fields[TOKEN_FIELD] == runtime.issuing.token_for(_document(runtime, document_id))
    assert str(record["last_name"]) not in fields["__pages__"][0]
    assert fields["__pages__"][1:] == normal[1:]


def test_downloads_are_rate_limited_like_the_link_pages(
    app_settings: dict[str, Any],
) -> None:
    # The limiter is one object per process: a client address of this test's own.
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    app: Flask = create_app(
        {**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LINK": "2 per minute"}
    )
    try:
        runtime: Runtime = app.extensions["forms_service"]
        path, _document_id = _issue(runtime, OPEN_FORM)
        client = app.test_client()
        statuses = [
            client.get(f"{path}/pdf", environ_base={"REMOTE_ADDR": address}).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
    finally:
        with app.app_context():
            limiter.reset()
        app.extensions["forms_service"].engine.dispose()
