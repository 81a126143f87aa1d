"""The back office in Debian's Chromium: the keyboard review flow and the offline API page."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, FieldChangeStatus
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user, answer
from tests.pdf_forms import fill_with_pypdf

pytestmark = pytest.mark.browser


def _ready(page: Page) -> None:
    """Wait until the keyboard file has started on the page now shown."""
    expect(page.locator("html[data-keys=ready]")).to_have_count(1)


def _status(runtime: Runtime, change_set_id: str, field: str) -> FieldChangeStatus:
    return runtime.changes.change_set(change_set_id).row(field).status


def test_a_simple_change_set_takes_two_keystrokes(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    first = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"}, "C000001")
    second = answer(runtime, "contact-update", {"city": "Nantes"}, "C000002")
    add_user(runtime, "clerk", ["clerk"])
    page = browser.new_page()
    problems = offline(page, server)

    page.goto(f"{server}/backoffice/change-sets/{first}")
    expect(page).to_have_url(
        f"{server}/backoffice/login?next=%2Fbackoffice%2Fchange-sets%2F{first}"
    )
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{first}")

    # Two fields: the first waiting row is current; `a` stages it and moves on.
    rows = page.locator("table.review tr.change")
    expect(rows.nth(0)).to_have_class("change current")
    page.keyboard.press("a")
    expect(rows.nth(0)).to_have_attribute("data-staged", "accept")
    expect(rows.nth(1)).to_have_class("change current")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class("change current")
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(rows.nth(1)).to_have_attribute("data-staged", "reject")
    page.keyboard.press("Enter")
    # Nothing waits here any more: the next change set opens.
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{second}?done=decided")
    assert _status(runtime, first, "postcode") is FieldChangeStatus.APPLIED
    assert _status(runtime, first, "city") is FieldChangeStatus.REJECTED

    # One field: accept and confirm, two keystrokes, and the queue is empty.
    _ready(page)
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/?done=decided")
    expect(page.locator("[data-count=total]")).to_have_text("0")
    assert _status(runtime, second, "city") is FieldChangeStatus.APPLIED
    record = runtime.connectors["crm"].read("customer", "C000002")
    assert record is not None and record["city"] == "Nantes"

    # `e` edits in place: the value is checked again on save, then `n` moves on.
    third = answer(runtime, "contact-update", {"postcode": "69003"}, "C000003")
    fourth = answer(runtime, "contact-update", {"city": "Brest"}, "C000004")
    page.goto(f"{server}/backoffice/change-sets/{third}")
    _ready(page)
    page.keyboard.press("e")
    value = page.locator("#value-postcode")
    expect(value).to_be_focused()
    value.fill("6900")
    page.keyboard.press("Enter")
    expect(page.locator("#error-postcode")).to_be_visible()
    assert [p for p in problems if "status of 422" not in p] == []  # the refusal is expected
    problems.clear()
    page.locator("#value-postcode").fill("69004")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Saved")
    assert runtime.changes.change_set(third).row("postcode").proposed == "69004"
    _ready(page)
    page.keyboard.press("n")
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{fourth}")
    # From the queue, `n` starts with the oldest change set waiting.
    page.goto(f"{server}/backoffice/")
    expect(page.locator("[data-count=total]")).to_have_text("2")
    _ready(page)
    page.keyboard.press("n")
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{third}")
    assert problems == []


def test_the_api_page_rendersoffline(browser: Browser, server: str) -> None:
    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("forms_service")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/change-sets/{change_set_id}/approve")).to_be_visible()
    assert problems == []


def test_back_office_pages_have_no_accessibility_violations(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    change_set_id = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}
    )
    add_user(runtime, "clerk", ["clerk"])
    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/backoffice/login")
    found = {"login": Axe().run(page).response["violations"]}
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/")
    found["queue"] = Axe().run(page).response["violations"]
    page.goto(f"{server}/backoffice/change-sets/{change_set_id}")
    _ready(page)
    found["change set"] = Axe().run(page).response["violations"]
    summary = {name: [v["id"] for v in violations] for name, violations in found.items()}
    assert summary == {"login": [], "queue": [], "change set": []}
    assert problems == []


def test_keys_pressed_as_soon_as_the_rows_show_are_not_lost(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    """Regression: the keyboard file was deferred, so the rows showed before it had bound
    its keys, and a clerk's `a` then Enter pressed meanwhile did nothing at all."""
    change_set = answer(runtime, "contact-update", {"city": "Nantes"}, "C000002")
    add_user(runtime, "clerk", ["clerk"])
    page = browser.new_page()
    problems = offline(page, server)
    page.goto(f"{server}/backoffice/login")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/")
    # A slow network: every request (the keyboard file's revalidation too) takes 400 ms.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.goto(f"{server}/backoffice/change-sets/{change_set}", wait_until="commit")
    expect(page.locator("table.review tr.change").first).to_be_visible()
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/?done=decided", timeout=10_000)
    assert _status(runtime, change_set, "city") is FieldChangeStatus.APPLIED
    assert problems == []


def test_a_french_clerk_sees_the_pdf_return_follows_its_link_and_switches_to_english(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    online = answer(runtime, "contact-update", {"city": "Lyon"}, "C000001")
    (issued,) = runtime.issuing.issue("contact-update", Selection(keys=("C000002",)), "test")
    with runtime.sessions() as session:
        token = runtime.issuing.token_for(session.get_one(Document, issued.document_id))
    filled = fill_with_pypdf(runtime.printer.pdf_for(issued.document_id), {"city": "Nantes"})
    receipt = runtime.pdf_returns.receive(filled, link_token=token, via="upload", actor="customer")
    assert receipt.submission is not None
    returned = runtime.changes.change_set_of_submission(receipt.submission.id).id
    add_user(runtime, "claire", ["clerk", "mailroom"])
    page = browser.new_page(locale="fr-FR")  # the browser asks for French
    problems = offline(page, server)

    page.goto(f"{server}/backoffice/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_label("Identifiant").fill("claire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("File de revue")
    assert serious_violations(page) == []
    rows = page.locator("tr[data-change-set]")
    expect(page.locator(f'tr[data-change-set="{returned}"] td[data-channel="pdf"]')).to_have_text(
        "Retour PDF (champs lus)"
    )
    expect(page.locator(f'tr[data-change-set="{online}"] td[data-channel]')).to_have_text(
        "Formulaire en ligne"
    )
    # Filtered by channel: only the PDF return is left.
    page.get_by_label("Canal").select_option("pdf")
    page.get_by_role("button", name="Filtrer").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(page.locator("[data-origin]")).to_have_text("Retour PDF (champs lus)")
    assert serious_violations(page) == []
    # The evidence: the return's mailroom page (this clerk has the mailroom role too).
    page.locator('[data-evidence="pdf-return"]').click()
    expect(page).to_have_url(f"{server}/mailroom/returns/{receipt.return_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Retour PDF")
    expect(page.locator("[data-return-status]")).to_have_text("lu")
    page.go_back()
    # The switch: the same page in English, and the choice stays with the account.
    page.get_by_role("button", name="Afficher en anglais").click()
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{returned}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Change set")
    expect(page.locator("[data-origin]")).to_have_text("PDF return (fields read)")
    elsewhere = browser.new_page(locale="fr-FR")
    offline(elsewhere, server)
    elsewhere.goto(f"{server}/backoffice/login")
    elsewhere.get_by_label("Identifiant").fill("claire")
    elsewhere.get_by_label("Mot de passe").fill(PASSWORD)
    elsewhere.keyboard.press("Enter")
    expect(elsewhere.get_by_role("heading", level=1)).to_have_text("Review queue")
    elsewhere.close()
    assert problems == []
