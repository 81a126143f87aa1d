"""The PDF pages in Debian's Chromium: download the letter and send it back filled, and axe."""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
import pytest
from pdfminer.pdftypes import resolve1
from pdfminer.utils import decode_text
from playwright.sync_api import Browser, expect

from forms_service.connectors.interfaces import Selection
from forms_service.issuing.widgets import TOKEN_FIELD
from forms_service.runtime import Runtime
from tests.e2e.browsing import offline, serious_violations, tab_to
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


@pytest.mark.parametrize("where", ["", "/upload"])
def test_download_the_letter_with_the_keyboard(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path, where: str
) -> None:
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000006",)), "b")
    link = server + issued.link.removeprefix(runtime.issuing.base_url)
    page = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
    problems = offline(page, server)
    page.goto(f"{link}{where}")
    download_link = page.get_by_role("link", name=re.compile("Télécharg"))
    expect(download_link).to_be_visible()
    tab_to(page, 'a[href$="/pdf"]')
    with page.expect_download() as started:
        page.keyboard.press("Enter")
    download = started.value
    assert download.suggested_filename == f"{issued.reference}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with pdfplumber.open(saved) as plumber:
        expected = runtime.printer.renderer.page_count(runtime.definitions["consent-preferences"])
        assert len(plumber.pages) == expected  # the letter and the form pages
        acroform = resolve1(plumber.doc.catalog["AcroForm"])
        names = {decode_text(resolve1(f)["T"]) for f in resolve1(acroform["Fields"])}
    assert TOKEN_FIELD in names and "preferred_channel" in names
    assert problems == []
    assert serious_violations(page) == []
