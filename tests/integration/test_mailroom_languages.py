"""The mailroom screens in French and English: every page speaks one language, flashes too.

Real scanned pages read by the real pipeline (jobs run eagerly): a page submitted, a blank
page set aside, a sheet without a code waiting for an operator, and a flattened PDF return.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms_service.intake.mailroom.service import Upload
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from tests.catalogues import translated
from tests.conftest import hidden_fields
from tests.integration.reviewing import PASSWORD, add_user, csrf_of
from tests.integration.test_backoffice_languages import (
    TEMPLATES,
    foreign_messages,
    template_literals,
    visible_text,
)
from tests.mailroom_scans import as_pdf, as_png, issue, scanned_page
from tests.ocr_pages import Answers

FORM = "contact-update"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def operator_client(app: Flask, accept: str | None) -> FlaskClient:
    """A mailroom operator's browser (user `mo`), signed in, asking for `accept`."""
    client = app.test_client()
    if accept:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    token = hidden_fields(client.get("/backoffice/login").text)["csrf_token"]
    signed = client.post(
        "/backoffice/login", data={"csrf_token": token, "username": "mo", "password": PASSWORD}
    )
    assert signed.status_code == 303
    return client


@pytest.fixture
def batches(runtime: Runtime) -> dict[str, str]:
    """A batch with a submitted, a set-aside and a waiting page, and a flattened PDF return's batch."""
    answered = issue(runtime, FORM, "C000001")
    blank = np.full((2339, 1654), 255, dtype=np.uint8)
    no_code = blank.copy()
    no_code[400:2000:40, 200:1400] = 0  # written on, but no code
    received = runtime.mailroom.receive(
        [
            Upload(
                "a.png",
                as_png(scanned_page(runtime, answered, FORM, Answers(texts={"city": "LYON"}))),
            ),
            Upload("blank.png", as_png(blank)),
            Upload("no-code.png", as_png(no_code)),
        ],
        source="upload",
        actor="user:mo",
    )
    returned = issue(runtime, FORM, "C000002")
    with runtime.sessions() as session:
        token = runtime.issuing.token_for(session.get_one(Document, returned))
    receipt = runtime.pdf_returns.receive(
        as_pdf([scanned_page(runtime, returned, FORM, Answers(texts={"city": "CAEN"}))]),
        link_token=token,
        via="upload",
        actor="customer",
    )
    add_user(runtime, "mo", ["mailroom", "clerk"])
    assert receipt.return_id is not None
    return {"batch": received.id, "return": receipt.return_id}


def _pages(client: FlaskClient, made: dict[str, str]) -> dict[str, str]:
    exceptions = client.get("/mailroom/exceptions").text
    search = client.post(
        "/mailroom/search", data={"csrf_token": csrf_of(exceptions), "query": "C000001"}
    ).text
    return {
        "batches": client.get("/mailroom/").text,
        "batch": client.get(f"/mailroom/batches/{made['batch']}").text,
        "return": client.get(f"/mailroom/returns/{made['return']}").text,
        "exceptions": exceptions,
        "search": search,
        "empty_search": client.post(
            "/mailroom/search", data={"csrf_token": csrf_of(exceptions), "query": ""}
        ).text,
        "accuracy": client.get("/mailroom/accuracy").text,
    }


def test_every_mailroom_page_speaks_one_language(
    app: Flask, runtime: Runtime, batches: dict[str, str]
) -> None:
    for accept, shown in ((None, "fr"), ("en", "en")):
        pages = _pages(operator_client(app, accept), batches)
        for name, html in pages.items():
            assert f'<html lang="{shown}">' in html, name
            assert foreign_messages(html, shown) == [], (shown, name)
        # A blank sheet is set aside by itself (issue 17, 6): shown in its batch, not waiting.
        blank = translated("blank page", shown, "page exception")
        assert blank in visible_text(pages["batch"])
        no_code = translated("no readable QR code", shown, "page exception")
        assert no_code in visible_text(pages["exceptions"])
        assert translated("the code alone", shown) in visible_text(pages["exceptions"])
        assert translated("submitted", shown, "page status") in visible_text(pages["batch"])
        assert translated("scanned", shown, "PDF return status") in visible_text(pages["return"])
        needed = translated("Type a reference, number or name.", shown)
        assert needed in visible_text(pages["empty_search"])
        assert 'data-hit="' in pages["search"]


def test_an_operators_flash_is_in_their_language(
    app: Flask, runtime: Runtime, batches: dict[str, str]
) -> None:
    client = operator_client(app, "fr")
    queue = client.get("/mailroom/exceptions").text
    page_id = queue.split('data-page="')[1].split('"')[0]
    rejected = client.post(
        f"/mailroom/pages/{page_id}/reject",
        data={"csrf_token": csrf_of(queue), "reason": "feuille blanche"},
        follow_redirects=True,
    )
    assert rejected.status_code == 200
    assert translated("Page rejected.", "fr") in visible_text(rejected.text)
    assert foreign_messages(rejected.text, "fr") == []


@pytest.mark.parametrize(
    "path", sorted((TEMPLATES / "mailroom").glob("*.html")), ids=lambda p: p.name
)
def test_mailroom_templates_write_no_text_of_their_own(path: Path) -> None:
    assert template_literals(path) == []
