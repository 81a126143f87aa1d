"""The customer page in Debian's Chromium: find, read the history, record a phone consent."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user

pytestmark = pytest.mark.browser

KEY = "C000005"


def test_a_clerk_records_a_consent_change_read_out_on_the_phone(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    add_user(runtime, "clara", ["clerk"])
    list(runtime.issuing.issue("consent-preferences", Selection(keys=(KEY,)), "spring"))
    page = browser.new_page(locale="en-GB")
    problems = offline(page, server)
    page.goto(f"{server}/backoffice/login")
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")

    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Customer number").fill(KEY)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name=f"Customer {KEY}")).to_be_visible()
    assert KEY not in page.url  # the address holds a sealed reference
    expect(page.locator('[data-kind="issued"]')).to_have_count(1)
    assert serious_violations(page) == []

    page.get_by_label("Purpose").select_option("commercial")
    page.get_by_label("Channel").select_option("letter")
    page.get_by_label("Answer").select_option("withdrawn")
    page.get_by_label("The wording read out to the customer").fill(
        "Do you still wish to receive our offers by post?"
    )
    page.get_by_role("button", name="Record").click()

    expect(page.locator("[data-notice]")).to_have_text("The consent change is recorded.")
    current = page.locator('[data-consent="commercial/letter"]')
    expect(current).to_have_attribute("data-state", "withdrawn")
    row = page.locator("[data-history] tbody tr").first
    expect(row).to_contain_text("Do you still wish to receive our offers by post?")
    expect(row).to_contain_text("clara")
    assert problems == []
