"""The back office in Debian's Chromium: the keyboard review flow and the offline API page."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from forms_service.runtime import Runtime
from forms_service.storage.model import FieldChangeStatus
from tests.e2e.browsing import offline
from tests.integration.reviewing import PASSWORD, add_user, answer

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
