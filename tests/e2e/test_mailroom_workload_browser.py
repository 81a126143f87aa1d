"""Issue 16 (7) in Debian's Chromium: a batch's set-aside pages and thumbnails, bulk actions.

An operator uploads a named batch holding a two-page letter whose codes name no document, the
back of a printed sheet and two foreign sheets; the back is set aside by itself with its
thumbnail; the letter's pages are ticked (Shift+click ticks the run), its document found by
reference and assigned in one click; the foreign sheets are all selected and rejected at
once; the batch's history says who did what; "not blank" reads the set-aside page again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from forms_service.runtime import Runtime
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user
from tests.integration.test_mailroom import _two_page_form
from tests.integration.test_mailroom_workload import (
    FORM,
    _back_of_the_form,
    _no_code,
    _reference,
    _stray,
)
from tests.mailroom_scans import as_pdf, issue
from tests.ocr_pages import Answers
from tests.readers.returning import submission_of

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Pages are read during the request that queues them."""
    return {**app_settings, "JOBS_EAGER": True}


def _loaded(page: Page, selector: str) -> list[int]:
    """The natural widths of the images matched, once each has loaded (0 for one that failed).

    The thumbnails load lazily: each is scrolled into view, then waited for.
    """
    widths: list[int] = page.locator(selector).evaluate_all(
        """images => Promise.all(images.map(i => {
            i.scrollIntoView();
            if (i.complete && i.naturalWidth) return i.naturalWidth;
            return new Promise(done => {
                i.addEventListener("load", () => done(i.naturalWidth));
                i.addEventListener("error", () => done(0));
                setTimeout(() => done(i.complete ? i.naturalWidth : 0), 10000);
            });
        }))"""
    )
    return widths


def test_set_aside_thumbnails_and_bulk_assign_reject_in_the_browser(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    _two_page_form(runtime)
    add_user(runtime, "mary", ["mailroom"])
    document = issue(runtime, FORM, "C000001")
    reference = _reference(runtime, document)
    scan = tmp_path / "scan0001.pdf"
    scan.write_bytes(
        as_pdf(
            [
                _stray(runtime, document, Answers(texts={"city": "RENNES"})),
                _stray(runtime, document),
                _back_of_the_form(),
                _no_code(1),
                _no_code(2),
            ]
        )
    )

    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/mailroom/")
    page.get_by_label("Username").fill("mary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Batch name").fill("Lot 42 du matin")
    page.get_by_label("Scanned files (PDF, TIFF, PNG, JPEG)").set_input_files(str(scan))
    page.get_by_role("button", name="Upload the batch").click()

    # The batch: named, the back of the sheet set aside with its thumbnail, no one needed.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Batch received")
    expect(page.get_by_label("Batch name")).to_have_value("Lot 42 du matin")
    aside = page.locator("[data-set-aside]")
    expect(aside).to_have_count(1)
    expect(aside).to_contain_text("almost blank page")
    expect(aside).to_contain_text("showing through from the other side")
    assert _loaded(page, "[data-set-aside] img[data-thumbnail]") == [160]
    assert _loaded(page, "tr[data-page] img[data-thumbnail]") == [160] * 5
    assert serious_violations(page) == []

    page.locator("[data-batch-exceptions]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception queue")
    expect(page.locator("[data-count='total']")).to_have_text("4")
    assert _loaded(page, "article.exception img[data-thumbnail]") == [160] * 4
    expect(page.locator("article.exception").first).to_contain_text("unknown document")
    assert serious_violations(page) == []

    # Tick page 1, Shift+click page 2: the run is ticked; then find the letter's document.
    boxes = page.locator("input[data-select]")
    boxes.nth(0).check()
    boxes.nth(1).click(modifiers=["Shift"])
    expect(page.locator("[data-selected-count]")).to_have_text("(2 pages selected)")
    page.get_by_label("Reference, customer number or name").fill(reference)
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f"tr[data-hit='{reference}']")).to_be_visible()
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    expect(boxes.nth(2)).not_to_be_checked()
    page.get_by_role("button", name=f"Assign the selected pages to {reference}").click()
    expect(page.locator("p.flash")).to_have_text(
        f"2 pages assigned to document {reference}: they are read again with it."
    )
    expect(page.locator("[data-count='total']")).to_have_text("2")
    assert submission_of(runtime, document).values == {"city": "RENNES"}

    # The two foreign sheets: all selected at once, rejected with one reason.
    page.get_by_role("button", name="Select every page shown").click()
    expect(page.locator("[data-selected-count]")).to_have_text("(2 pages selected)")
    page.get_by_label("Why they are rejected").fill("adverts in the envelope")
    page.get_by_role("button", name="Reject the selected pages").click()
    expect(page.locator("p.flash")).to_have_text("2 pages rejected.")
    expect(page.locator("[data-count='total']")).to_have_text("0")
    assert serious_violations(page) == []

    # Who did what, on the batch's screen.
    page.get_by_role("link", name="Batches").click()
    page.locator("[data-batch-name]", has_text="Lot 42 du matin").click()
    history = page.locator("table.history tbody tr")
    expect(history).to_have_count(5)
    expect(page.locator('tr[data-action="assigned"][data-actor="mary"]')).to_have_count(2)
    expect(page.locator('tr[data-action="rejected"][data-actor="mary"]')).to_have_count(2)
    expect(page.locator('tr[data-action="set_aside"]')).to_contain_text("the mailroom")
    expect(page.locator('tr[data-action="rejected"]').first).to_contain_text(
        "adverts in the envelope"
    )

    # "Not blank": the page is read again; without a code it waits for an operator.
    page.get_by_role("button", name="Page 3 is not blank: read it").click()
    expect(page.locator("p.flash")).to_have_text(
        "The page is read again as a page with something on it."
    )
    expect(page.locator("[data-set-aside]")).to_have_count(0)
    expect(page.locator('tr[data-action="not_blank"][data-actor="mary"]')).to_have_count(1)
    expect(page.locator("[data-batch-exceptions]")).to_contain_text("1 page of this batch")
    assert serious_violations(page) == []
    assert problems == []
