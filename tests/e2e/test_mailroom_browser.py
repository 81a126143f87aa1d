"""The mailroom screens in Debian's Chromium: sign in, upload a batch, settle the exception queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user
from tests.mailroom_scans import as_pdf, as_png, issue, scanned_page
from tests.ocr_pages import Answers

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Pages are read during the upload request, so the batch screen shows them settled."""
    return {**app_settings, "JOBS_EAGER": True}


def test_upload_follow_and_settle_a_batch(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    add_user(runtime, "mary", ["mailroom"])
    document = issue(runtime, "contact-update", "C000001")
    with runtime.sessions() as session:
        stored = session.get(Document, document)
        assert stored is not None
        reference = stored.reference
    scan = tmp_path / "scan.png"
    scan.write_bytes(
        as_png(scanned_page(runtime, document, "contact-update", Answers(texts={"city": "LYON"})))
    )
    # Written on but without a code: it waits for an operator (a blank sheet would be set
    # aside by itself, issue 17, 6).
    sheet = np.full((2339, 1654), 255, dtype=np.uint8)
    sheet[400:2000:40, 200:1400] = 0
    blank = tmp_path / "no-code.pdf"
    blank.write_bytes(as_pdf([sheet]))

    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/mailroom/")
    page.get_by_label("Username").fill("mary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scan batches")
    assert serious_violations(page) == []

    page.get_by_label("Scanned files (PDF, TIFF, PNG, JPEG)").set_input_files(
        [str(scan), str(blank)]
    )
    page.get_by_role("button", name="Upload the batch").click()
    expect(page.locator("[data-status]").first).to_be_visible()
    expect(page.locator('tr[data-status="submitted"]')).to_contain_text(reference)
    expect(page.locator('tr[data-status="exception"]')).to_contain_text("unreadable_code")
    assert serious_violations(page) == []

    page.get_by_role("link", name="Exception queue").first.click()
    expect(page.locator("article[data-exception='unreadable_code']")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("Reference, customer number or name").fill(reference)
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f"tr[data-hit='{reference}']")).to_be_visible()
    # One page alone is settled in its own forms, folded under the bulk actions (issue 16, 7).
    page.locator("article.exception summary").click()
    page.get_by_label("Reason", exact=True).fill("empty sheet in the envelope")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Page rejected.")
    expect(page.locator("[data-count='total']")).to_have_text("0")
    assert serious_violations(page) == []
    assert problems == []


def test_a_french_operator_uploads_in_french_and_switches_to_english(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    add_user(runtime, "marie", ["mailroom"])
    blank = tmp_path / "blank.png"
    blank.write_bytes(as_png(np.full((2339, 1654), 255, dtype=np.uint8)))
    page = browser.new_page(locale="fr-FR")
    problems = offline(page, server)
    page.goto(f"{server}/mailroom/")
    page.get_by_label("Identifiant").fill("marie")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lots de scan")
    page.get_by_label("Fichiers scannés (PDF, TIFF, PNG, JPEG)").set_input_files(str(blank))
    page.get_by_role("button", name="Déposer le lot").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lot reçu le")
    # Set aside by the mailroom itself, shown with its reason (issue 17, 6).
    expect(page.locator('tr[data-status="rejected"]')).to_contain_text("page vierge")
    assert serious_violations(page) == []
    batch_url = page.url
    page.get_by_role("button", name="Afficher en anglais").click()
    expect(page).to_have_url(batch_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Batch received")
    expect(page.locator('tr[data-status="rejected"]')).to_contain_text("blank page")
    page.get_by_role("link", name="Exception queue").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception queue")
    assert problems == []
