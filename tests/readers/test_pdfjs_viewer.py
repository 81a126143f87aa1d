"""pdf.js's own viewer in Chromium: the customer types and clicks, the viewer saves, we read it.

tests/readers/pdfjs/viewer.html puts pdf.js's PDFViewer (the component Firefox's viewer is
made of) on a page with its form layer on; Playwright types into the letter's text boxes and
clicks its radio buttons and checkboxes, then the page saves with `saveDocument()`. The file
must carry the same values as the one tests/readers/pdfjs/fill.mjs makes in Node (which the
other tests use because it is ten times faster), and the upload must give the same change set.
"""

from __future__ import annotations

import base64
import functools
import http.server
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page

from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from tests.e2e.browsing import offline, serving
from tests.readers.pdfjs_filler import PDFJS_DIR, fill_with_pdfjs
from tests.readers.returning import (
    LETTERS,
    challenge_answers,
    issue,
    letter,
    proposed_changes,
    submission_of,
    upload,
)

pytestmark = pytest.mark.browser


class _Files(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
    }

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reports what failed."""


@pytest.fixture(scope="module")
def viewer_url() -> Iterator[str]:
    """tests/readers/pdfjs/ (the viewer page and the installed pdfjs-dist) over loopback HTTP."""
    handler = functools.partial(_Files, directory=str(PDFJS_DIR))
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url


def _fill_in_viewer(page: Page, viewer_url: str, pdf: bytes, values: dict[str, Any]) -> bytes:
    problems = offline(page, viewer_url)
    page.goto(f"{viewer_url}/viewer.html")
    page.wait_for_function("window.viewerReady === true")
    widgets = page.evaluate("b => window.openPdf(b)", base64.b64encode(pdf).decode())
    for name, value in values.items():
        state = value[1:] if value.startswith("/") else None
        (widget,) = [w for w in widgets if w["name"] == name and w["state"] == state]
        page.evaluate("n => window.showPage(n)", widget["page"])
        control = page.locator(f'[data-annotation-id="{widget["id"]}"] :is(input, textarea)')
        if state is None:
            control.click()
            control.press_sequentially(value)  # key by key, as the customer types
        else:
            control.click()
    saved = base64.b64decode(page.evaluate("() => window.savePdf()"))
    assert not problems, problems
    return saved


@pytest.mark.parametrize("form_id", sorted(LETTERS))
def test_typed_and_clicked_in_the_viewer(
    browser: Browser, viewer_url: str, client: FlaskClient, runtime: Runtime, form_id: str
) -> None:
    document_id, token = issue(runtime, form_id)
    typed, expected = LETTERS[form_id]
    original = letter(runtime, document_id)
    page = browser.new_page()
    try:
        saved = _fill_in_viewer(page, viewer_url, original, {k: str(v) for k, v in typed.items()})
    finally:
        page.close()
    assert saved.startswith(original)  # an incremental update, as Firefox saves
    # The same values as the Node script that sets the viewer's storage directly.
    by_node = read_pdf_form(fill_with_pdfjs(original, typed)).fields
    by_viewer = read_pdf_form(saved).fields
    assert {n: f.value for n, f in by_viewer.items()} == {n: f.value for n, f in by_node.items()}
    response = upload(client, token, saved, **challenge_answers(runtime, form_id))
    assert response.status_code == 200, response.text
    base = submission_of(runtime, document_id).base
    assert proposed_changes(runtime, document_id) == {
        field: value for field, value in expected.items() if value != base[field]
    }
