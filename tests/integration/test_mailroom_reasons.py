"""The reasons the mailroom records, with their figures, on French and English screens.

Real pages read by the real pipeline (jobs run eagerly): a page sent twice in one batch,
again in a later batch, a withdrawn document's page, a file too large, a page whose document
has another page; the screens say each reason in their language with its figures, the API
keeps the English text, an operator's words stay as typed and a page recorded before the
details were stored shows as it was recorded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from forms_service.intake.mailroom import queries
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing.layout import form_geometry
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from forms_service.storage.scans import ScanPage
from tests.catalogues import translated
from tests.integration.reviewing import add_token, add_user
from tests.integration.test_backoffice_languages import foreign_messages, visible_text
from tests.integration.test_mailroom_languages import operator_client
from tests.mailroom_scans import as_png, issue, png_claiming, scanned_page
from tests.ocr_pages import Answers

FORM = "contact-update"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        return session.get_one(Document, document_id).reference


def _pages(runtime: Runtime, batch_id: str) -> dict[str, queries.PageView]:
    with runtime.sessions() as session:
        return {p.filename: p for p in queries.batch(session, batch_id).pages}


def _said(message: str, locale: str, **figures: object) -> str:
    """The text of `message` in `locale` with its figures, as the screens' tests cut it."""
    return translated(message, locale).format(**{k: str(v) for k, v in figures.items()})


@pytest.fixture
def batches(runtime: Runtime) -> dict[str, Any]:
    """A batch with a page sent twice, a withdrawn document's page and a file too large; a
    later batch with the same page again."""
    good = issue(runtime, FORM, "C000001")
    withdrawn = issue(runtime, FORM, "C000002")
    runtime.issuing.revoke(withdrawn, actor="test")
    page = as_png(scanned_page(runtime, good, FORM, Answers(texts={"city": "NANTES"})))
    first = runtime.mailroom.receive(
        [
            Upload("good.png", page),
            Upload("again.png", page),
            Upload("revoked.png", as_png(scanned_page(runtime, withdrawn, FORM))),
            Upload("huge.png", png_claiming()),
        ],
        source="cli",
        actor="test",
    )
    later = runtime.mailroom.receive([Upload("late.png", page)], source="cli", actor="test")
    add_user(runtime, "mo", ["mailroom", "clerk"])
    good_ref, withdrawn_ref = _reference(runtime, good), _reference(runtime, withdrawn)
    duplicate = (
        "page %(page)s of document %(reference)s is already in this batch (page %(sequence)s)"
    )
    return {
        "first": first.id,
        "later": later.id,
        # file -> (msgid, figures) of its recorded reason
        "reasons": {
            "again.png": (duplicate, {"page": 1, "reference": good_ref, "sequence": 1}),
            "revoked.png": (
                "document %(reference)s was withdrawn",
                {"reference": withdrawn_ref},
            ),
            "huge.png": (
                "the image is too large (%(millions)s million pixels): scan at 300 dpi or "
                "less (at most %(most)s million pixels)",
                {"millions": 100, "most": 60},
            ),
        },
        "late": (
            "page %(page)s of document %(reference)s was already received in another batch",
            {"page": 1, "reference": good_ref},
        ),
    }


def test_reasons_with_figures_read_in_the_screens_language(
    app: Flask, runtime: Runtime, batches: dict[str, Any]
) -> None:
    late_message, late_figures = batches["late"]
    for accept, shown in ((None, "fr"), ("en", "en")):
        client = operator_client(app, accept)
        first = client.get(f"/mailroom/batches/{batches['first']}").text
        later = client.get(f"/mailroom/batches/{batches['later']}").text
        queue = client.get("/mailroom/exceptions").text
        for message, figures in batches["reasons"].values():
            said = _said(message, shown, **figures)
            assert said in visible_text(first).splitlines(), (shown, said)
            assert said in visible_text(queue).splitlines(), (shown, said)
            assert f'<span lang="{shown}">{said}</span>'.replace("'", "&#39;") in first
        assert _said(late_message, shown, **late_figures) in visible_text(later).splitlines()
        for html in (first, later, queue):
            assert foreign_messages(html, shown) == [], shown
    french = visible_text(
        operator_client(app, "fr").get(f"/mailroom/batches/{batches['later']}").text
    )
    reference = late_figures["reference"]
    assert f"la page 1 du document {reference} a déjà été reçue dans un autre lot" in french


def test_the_api_keeps_the_english_text_of_each_reason(
    app: Flask, runtime: Runtime, batches: dict[str, Any]
) -> None:
    token = add_token(runtime, "scanner", ["mailroom"])
    response = app.test_client().get(
        f"/api/v1/scans/{batches['first']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    reasons = {page["filename"]: page["reason"] for page in response.get_json()["pages"]}
    for name, (message, figures) in batches["reasons"].items():
        assert reasons[name] == message % figures
    assert reasons["good.png"] is None
    assert "reason_detail" not in response.get_json()["pages"][0]


def test_an_operators_words_are_shown_as_typed_beside_the_translated_reason(
    app: Flask, runtime: Runtime, batches: dict[str, Any]
) -> None:
    again = _pages(runtime, batches["first"])["again.png"]
    runtime.mailroom.reject(again.id, "envoyée deux fois", actor="user:mo")
    message, figures = batches["reasons"]["again.png"]
    rejected = _pages(runtime, batches["first"])["again.png"]
    assert rejected.reason == f"{message % figures} — rejected: envoyée deux fois"  # the API's
    for accept, shown in ((None, "fr"), ("en", "en")):
        html = operator_client(app, accept).get(f"/mailroom/batches/{batches['first']}").text
        text = visible_text(html).splitlines()
        assert _said(message, shown, **figures) in text
        assert translated("rejected:", shown) in text
        assert '<q class="operator-words" lang="">envoyée deux fois</q>' in html
        assert foreign_messages(html, shown) == []


def test_a_page_recorded_before_the_details_shows_as_recorded(
    app: Flask, runtime: Runtime, batches: dict[str, Any]
) -> None:
    huge = _pages(runtime, batches["first"])["huge.png"]
    old = "the image is too large (100 million pixels): scan at 300 dpi or less"
    with runtime.sessions() as session, session.begin():
        row = session.get_one(ScanPage, huge.id)
        row.reason, row.reason_detail = old, None
    html = operator_client(app, "fr").get(f"/mailroom/batches/{batches['first']}").text
    assert f'<span lang="en">{old}</span>' in html


def test_a_page_without_its_documents_other_pages_says_which_of_how_many(
    app: Flask, runtime: Runtime
) -> None:
    def two_pages(definition: Any, layout: int) -> Any:
        # Every shipped form fits on one page: pretend this one has two.
        geometry = form_geometry(definition, layout)
        return replace(geometry, pages=(geometry.pages[0], replace(geometry.pages[0], number=2)))

    runtime.mailroom.geometry = two_pages
    document = issue(runtime, FORM, "C000005")
    page = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "PAU"})))
    received = runtime.mailroom.receive([Upload("p1.png", page)], source="cli", actor="test")
    add_user(runtime, "mo", ["mailroom"])
    message = (
        "page %(page)s of %(total)s arrived without the document's other pages: assign it to "
        "submit what was received, or reject it"
    )
    for accept, shown in ((None, "fr"), ("en", "en")):
        html = operator_client(app, accept).get(f"/mailroom/batches/{received.id}").text
        assert _said(message, shown, page=1, total=2) in visible_text(html).splitlines()
        assert foreign_messages(html, shown) == []
    assert "la page 1 sur 2 est arrivée sans les autres pages du document" in _said(
        message, "fr", page=1, total=2
    )
