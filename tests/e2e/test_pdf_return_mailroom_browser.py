"""A PDF return in the mailroom screens, in Debian's Chromium: where it came from, where it stands.

A customer uploads, on their own link, a printed-and-scanned letter of another customer (no
field left: it goes to the mailroom); the operator sees the batch comes from that PDF return,
follows it to the return's screen, assigns the stray page to the document it belongs to, and
sees the return end `assigned_elsewhere`.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, PdfReturnStatus
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user
from tests.mailroom_scans import as_pdf, issue, scanned_page
from tests.ocr_pages import Answers

pytestmark = pytest.mark.browser
FORM = "contact-update"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Pages are read as they are queued, so the screens show them settled."""
    return {**app_settings, "JOBS_EAGER": True}


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found.reference


def test_the_operator_sees_a_pdf_return_and_settles_its_stray_page(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    add_user(runtime, "mary", ["mailroom"])
    theirs = issue(runtime, FORM, "C000002")
    (mine,) = runtime.issuing.issue(FORM, Selection(keys=("C000001",)), "test")
    content = as_pdf([scanned_page(runtime, theirs, FORM, Answers(texts={"city": "ALBI"}))])
    receipt = runtime.pdf_returns.receive(
        content, link_token=mine.link.rsplit("/", 1)[-1], via="upload", actor="customer"
    )
    assert receipt.status is PdfReturnStatus.AWAITING_SCAN and receipt.return_id
    return_id = receipt.return_id

    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/mailroom/")
    page.get_by_label("Username").fill("mary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scan batches")
    row = page.locator("tr[data-batch]").first
    expect(row).to_contain_text("PDF return (customer upload on their link) · awaiting scan")
    assert serious_violations(page) == []

    # The batch says it reads that return, not a mailroom upload.
    row.locator("time").click()
    origin = page.locator("[data-origin='pdf_return']")
    expect(origin).to_contain_text(f"From PDF return {return_id}")
    expect(origin).to_contain_text("customer upload on their link")
    expect(origin).to_contain_text("not a mailroom upload")
    expect(origin.locator("[data-return-status]")).to_have_text("awaiting scan")
    expect(page.locator('tr[data-status="exception"]')).to_contain_text("other_document")
    assert serious_violations(page) == []

    # The return's own screen, from the batch.
    origin.get_by_role("link", name=f"PDF return {return_id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"PDF return {return_id}")
    expect(page.locator("[data-return-status]")).to_have_text("awaiting scan")
    expect(page.locator("[data-return-via]")).to_have_text("customer upload on their link")
    expect(page.locator("dl.facts")).to_contain_text(_reference(runtime, mine.document_id))
    assert serious_violations(page) == []

    # The exception queue says where the page came from; the operator assigns it.
    page.get_by_role("link", name="Exception queue").first.click()
    article = page.locator("article[data-exception='other_document']")
    expect(article.locator("[data-origin='pdf_return']")).to_contain_text(return_id)
    assert serious_violations(page) == []
    # One page's own forms are folded under the bulk actions (issue 16, 7).
    article.locator("summary").click()
    article.get_by_label("Document reference").fill(_reference(runtime, theirs))
    article.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "Page assigned: it is read again with that document."
    )
    expect(page.locator("[data-count='total']")).to_have_text("0")

    page.get_by_role("link", name="Batches").first.click()
    expect(page.locator("tr[data-batch]").first).to_contain_text("assigned elsewhere")
    page.locator("tr[data-batch] [data-origin='pdf_return']").first.click()
    expect(page.locator("[data-return-status]")).to_have_text("assigned elsewhere")
    expect(page.locator('tr[data-status="submitted"]')).to_contain_text("(another document)")
    assert serious_violations(page) == []
    assert problems == []
