"""The verification station in Debian's Chromium, keyboard only: paper lines and a conflict.

Counts the keystrokes of one paper change set (three lines, one character misread) the way
the review screen needed them before the station (move to the line, retype the whole value,
accept line by line) and with it (jump to the uncertain line, fix the one character, approve
the valid lines), and prints both.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from forms_service.runtime import Runtime
from forms_service.storage.model import FieldChangeStatus
from tests.e2e.browsing import offline, serious_violations
from tests.integration.reviewing import PASSWORD, add_user, answer
from tests.integration.station_support import POSTCODE_CROP, characters, paper_change_set

pytestmark = pytest.mark.browser

#: A paper answer: the 5 of 75011 misread as a 6 (the recogniser doubted it: 5 was second).
VALUES = {"address_line": "12 RUE DES LILAS", "postcode": "76011", "city": "PARIS"}
NOTES: dict[str, dict[str, Any]] = {
    "address_line": {"characters": characters("12 RUE DES LILAS", {})},
    "postcode": {
        "characters": characters("76011", {1: (0.58, [["5", 0.4], ["8", 0.01]])}),
        "suggestion_probability": 0.55,
    },
    "city": {"characters": characters("PARIS", {})},
}
#: The same answer read right: nothing doubtful, the postcode and the city agree.
CLEAN = {**VALUES, "postcode": "75011"}
CLEAN_NOTES = {**NOTES, "postcode": {"characters": characters("75011", {})}}


class Keys:
    """The keyboard, counting every key pressed (a typed character is one)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def _ready(page: Page) -> None:
    expect(page.locator("html[data-keys=ready]")).to_have_count(1)


def _sign_in(page: Page, server: str, path: str) -> None:
    page.goto(f"{server}{path}")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}{path}")
    _ready(page)


def test_a_paper_change_set_is_reviewed_with_the_keyboard_only(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    before_set = paper_change_set(runtime, VALUES, "C000010", notes=NOTES)
    after_set = paper_change_set(runtime, VALUES, "C000011", notes=NOTES)
    clean_before = paper_change_set(runtime, CLEAN, "C000012", notes=CLEAN_NOTES)
    clean_after = paper_change_set(runtime, CLEAN, "C000013", notes=CLEAN_NOTES)
    add_user(runtime, "clerk", ["clerk"])
    page = browser.new_page()
    problems = offline(page, server)
    _sign_in(page, server, f"/backoffice/change-sets/{before_set}")

    # The crop is at its natural 300 dpi size (not squeezed), beside the value; z zooms it.
    crop = page.locator('img[data-crop="postcode"]')
    expect(crop).to_be_visible()
    expect(page.locator("img[data-crop=postcode]")).to_have_js_property("complete", True)
    width = crop.evaluate("image => [image.naturalWidth, image.getBoundingClientRect().width]")
    assert width == [POSTCODE_CROP[0], POSTCODE_CROP[0]]
    expect(page.locator("#station-postcode mark.doubtful")).to_have_text("6")
    expect(page.locator('#station-postcode [data-check="postcode_city_mismatch"]')).to_contain_text(
        "75011"
    )
    expect(page.locator("[data-customer=key]")).to_have_text("C000010")
    assert serious_violations(page) == []

    # Before the station: move to the line, `e` selected the whole value (Control+A here,
    # not counted: it is what `e` did), retype it, save; then accept each line and confirm.
    before = Keys(page)
    before.press("j", "e")
    page.keyboard.press("Control+A")
    before.type("75011")
    before.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Saved")
    _ready(page)
    before.press("a", "a", "a", "Enter")
    # Nothing waits there any more: the next change set opens.
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{after_set}?done=decided")
    assert {r.field: r.status for r in runtime.changes.change_set(before_set).rows} == {
        "address_line": FieldChangeStatus.APPLIED,
        "postcode": FieldChangeStatus.APPLIED,
        "city": FieldChangeStatus.APPLIED,
    }

    # With the station: jump to the uncertain line, fix its doubtful character, approve all.
    _ready(page)
    after = Keys(page)
    after.press("u")
    expect(page.locator("#row-postcode")).to_have_class("change current")
    expect(page.locator("img[data-crop=postcode]")).to_have_js_property("complete", True)
    page.keyboard.press("z")  # zoom (not counted: looking, not deciding)
    expect(page.locator('button[data-zoom="postcode"]')).to_have_attribute("aria-pressed", "true")
    width = page.locator('img[data-crop="postcode"]').evaluate(
        "image => image.getBoundingClientRect().width"
    )
    assert width == 2 * POSTCODE_CROP[0]
    after.press("e")
    selected = page.locator("#value-postcode").evaluate(
        "input => [input.selectionStart, input.selectionEnd]"
    )
    assert selected == [1, 2]  # the doubtful 6 only
    after.type("5")
    after.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Saved")
    expect(page.locator("#row-postcode [data-correction=ocr]")).to_contain_text(
        "The OCR read 76011; clerk corrected it to 75011."
    )
    _ready(page)
    after.press("Shift+A")
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{clean_before}?done=approved")
    record = runtime.connectors["crm"].read("customer", "C000011")
    assert record is not None
    assert (record["address_line"], record["postcode"], record["city"]) == (
        "12 RUE DES LILAS",
        "75011",
        "PARIS",
    )

    # A paper change set read right: each line accepted, then confirmed; or all in one key.
    _ready(page)
    clean = Keys(page)
    clean.press("a", "a", "a", "Enter")
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{clean_after}?done=decided")
    _ready(page)
    one = Keys(page)
    one.press("Shift+A")
    expect(page).to_have_url(f"{server}/backoffice/?done=approved")
    for key in ("C000012", "C000013"):
        applied = runtime.connectors["crm"].read("customer", key)
        assert applied is not None and applied["postcode"] == "75011"
    print(
        "\nkeystrokes per paper change set (3 lines): one character misread: before "
        f"{before.count}, after {after.count}; read right: before {clean.count}, after {one.count}"
    )
    assert (before.count, after.count, clean.count, one.count) == (12, 5, 4, 1)
    assert problems == []


def test_a_conflict_cannot_be_accepted_without_choosing(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    conflict = answer(
        runtime, "contact-update", {"city": "Nantes"}, "C000002", source_changes={"city": "Brest"}
    )
    add_user(runtime, "clerk", ["clerk"])
    page = browser.new_page()
    problems = offline(page, server)
    _sign_in(page, server, f"/backoffice/change-sets/{conflict}")
    row = page.locator("#row-city")
    expect(row).to_have_class("change conflict current")
    expect(row.locator("[data-three-way=current]")).to_have_text("Brest")
    expect(row.locator("[data-three-way=answer]")).to_have_text("Nantes")
    assert serious_violations(page) == []

    # The accept key stages nothing, Enter confirms nothing; the page says what to do.
    page.keyboard.press("a")
    expect(row).not_to_have_attribute("data-staged", "accept")
    expect(page.locator("#staged-status")).to_contain_text("Choose")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    expect(page).to_have_url(f"{server}/backoffice/change-sets/{conflict}")
    # Approving all valid lines leaves it: the server says nothing here may be approved.
    page.keyboard.press("Shift+A")
    expect(page.locator(".flash.error")).to_be_visible()
    assert [p for p in problems if "status of 409" not in p] == []
    problems.clear()
    assert runtime.changes.change_set(conflict).row("city").status is FieldChangeStatus.PENDING
    record = runtime.connectors["crm"].read("customer", "C000002")
    assert record is not None and record["city"] == "Brest"

    # Taking the answer: `t` goes to the reason, Enter sends it.
    _ready(page)
    page.keyboard.press("t")
    expect(page.locator("#reason-city")).to_be_focused()
    page.keyboard.type("customer phoned: moved to Nantes")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/backoffice/?done=settled")
    row_view = runtime.changes.change_set(conflict).row("city")
    assert (row_view.status, row_view.resolution) == (FieldChangeStatus.APPLIED, "take_answer")
    record = runtime.connectors["crm"].read("customer", "C000002")
    assert record is not None and record["city"] == "Nantes"
    assert problems == []
