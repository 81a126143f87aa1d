"""The PDF upload page in Debian's Chromium: choose the filled letter, send it, and axe."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.e2e.browsing import serious_violations
from tests.pdf_forms import fill_with_pypdf

pytestmark = pytest.mark.browser


def test_upload_the_filled_letter(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000005",)), "b")
    link = server + issued.link.removeprefix(runtime.issuing.base_url)
    letter = runtime.printer.pdf_for(issued.document_id)
    filled = tmp_path / "ma-reponse.pdf"
    filled.write_bytes(fill_with_pypdf(letter, {"preferred_channel": "/post"}))
    notes = tmp_path / "notes.txt"
    notes.write_text("pas un PDF")
    page = browser.new_context(locale="fr-FR").new_page()
    page.goto(f"{link}/upload")
    expect(page.get_by_role("heading", level=1)).to_have_text("Renvoyer le formulaire PDF rempli")
    assert serious_violations(page) == []
    # A wrong file first: the page says why, and keeps the form.
    page.get_by_label("Votre PDF rempli").set_input_files(str(notes))
    page.get_by_role("button", name="Envoyer le PDF").click()
    expect(page.get_by_role("alert")).to_contain_text("n'est pas un PDF")
    assert serious_violations(page) == []
    # Then the filled letter, sent with the keyboard.
    page.get_by_label("Votre PDF rempli").set_input_files(str(filled))
    page.get_by_role("button", name="Envoyer le PDF").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("PDF reçu, merci")
    expect(page.get_by_role("table")).to_contain_text("Courrier")
    assert serious_violations(page) == []
