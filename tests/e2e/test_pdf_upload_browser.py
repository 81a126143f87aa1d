"""The PDF upload page in Debian's Chromium: choose the filled letter, send it, and axe."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from forms_service.connectors.interfaces import Selection
from forms_service.issuing.printing import DocumentPrinter
from forms_service.runtime import Runtime
from tests.pdf_forms import fill_with_pypdf

pytestmark = pytest.mark.browser

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The browser runs against SQLite only: the HTTP tests cover PostgreSQL."""
    target = tmp_path / "forms.sqlite"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)
    http.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


def _serious_violations(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


def test_upload_the_filled_letter(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000005",)), "b")
    link = server + issued.link.removeprefix(runtime.issuing.base_url)
    letter = DocumentPrinter(runtime.issuing).pdf_for(issued.document_id)
    filled = tmp_path / "ma-reponse.pdf"
    filled.write_bytes(fill_with_pypdf(letter, {"preferred_channel": "/post"}))
    notes = tmp_path / "notes.txt"
    notes.write_text("pas un PDF")
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{link}/upload")
    expect(page.get_by_role("heading", level=1)).to_have_text("Renvoyer le formulaire PDF rempli")
    assert _serious_violations(page) == []
    # A wrong file first: the page says why, and keeps the form.
    page.get_by_label("Votre PDF rempli").set_input_files(str(notes))
    page.get_by_role("button", name="Envoyer le PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("n'est pas un PDF")
    assert _serious_violations(page) == []
    # Then the filled letter, sent with the keyboard.
    page.get_by_label("Votre PDF rempli").set_input_files(str(filled))
    page.get_by_role("button", name="Envoyer le PDF").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("PDF reçu, merci")
    expect(page.get_by_role("table")).to_contain_text("Courrier")
    assert _serious_violations(page) == []
