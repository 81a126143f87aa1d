"""Every customer page state in Chromium: axe's WCAG 2.2 AA and best-practice rules, and the
criteria axe cannot judge (focus indicator contrast, label in name, focus on errors, reflow
at 400% zoom).

A phone in French and a desktop in English walk: the access code entry and a refused code,
the identity question, a wrong answer (with the tries left), the form, the form refused, the
confirmation (with its e-mail copy and its correction), the correction form, the PDF upload,
a refused upload, a broken, a cut and a lower-cased link, an unknown address and both
notices. Any violation, whatever its impact, fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from forms_service.runtime import Runtime
from tests.e2e.browsing import fill_address
from tests.e2e.test_online_browser import DESKTOP, PHONE, issue_link, record_of

pytestmark = pytest.mark.browser

#: axe-core's rule tags: WCAG 2.0, 2.1 and 2.2 levels A and AA, and best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
WORDS = {
    "fr": {
        "birth": "Votre date de naissance",
        "go": "Continuer",
        "postcode": "Code postal",
        "send": "Envoyer",
        "upload": "Envoyer le PDF",
        "file": "Votre PDF rempli",
        "other": "English",
    },
    "en": {
        "birth": "Your date of birth",
        "go": "Continue",
        "postcode": "Postcode",
        "send": "Submit",
        "upload": "Send the PDF",
        "file": "Your filled PDF",
        "other": "Français",
    },
}


def _violations(page: Page) -> list[str]:
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    found = Axe().run(page, options=options).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in found]


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _focus_contrast(page: Page) -> float:
    """Contrast of the focused control's outline with the page behind it (WCAG 1.4.11)."""
    colours: Any = page.evaluate(
        """() => {
          const element = document.activeElement;
          const style = getComputedStyle(element);
          let node = element.parentElement, behind = 'rgba(0, 0, 0, 0)';
          while (node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(behind)) {
            behind = getComputedStyle(node).backgroundColor; node = node.parentElement;
          }
          if (/rgba\\(0, 0, 0, 0\\)|transparent/.test(behind)) behind = 'rgb(255, 255, 255)';
          return {outline: style.outlineColor, width: style.outlineWidth,
                  styleName: style.outlineStyle, behind};
        }"""
    )
    assert colours["styleName"] != "none" and float(colours["width"].rstrip("px")) >= 2, colours

    def rgb(text: str) -> tuple[float, ...]:
        return tuple(float(v) for v in text[text.index("(") + 1 : -1].split(",")[:3])

    return _contrast(rgb(colours["outline"]), rgb(colours["behind"]))


def _check(page: Page, what: str) -> None:
    assert _violations(page) == [], what
    # Every link and control shows a focus indicator of 3:1 at least.
    for selector in ("a.lang", "footer a", "main a, main button, main input"):
        target = page.locator(selector).first
        if target.count():
            target.focus()
            assert _focus_contrast(page) >= 3, (what, selector)
    # At 400% zoom of a 1280 px wide window (320 CSS px), nothing scrolls sideways (1.4.10).
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": 320, "height": 256})
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.set_viewport_size(size)
    assert overflow <= 0, (what, f"scrolls sideways by {overflow}px at 320 px")
    # The language switch's accessible name starts with its visible text (2.5.3).
    switch = page.locator("a.lang")
    visible = switch.locator("span[lang]").inner_text()
    name = switch.evaluate("a => a.textContent")
    assert name.strip().startswith(visible), what


def _walk(
    browser: Browser,
    server: str,
    runtime: Runtime,
    key: str,
    device: dict[str, Any],
    locale: str,
    tmp_path: Path,
) -> None:
    words = WORDS[locale]
    record = record_of(runtime, key)
    context = browser.new_context(locale={"fr": "fr-FR", "en": "en-GB"}[locale], **device)
    page = context.new_page()
    try:
        link = issue_link(runtime, server, "contact-update", key)
        page.goto(server + "/")
        _check(page, "access code entry")
        page.locator("#code").fill("K7PXM-3QR9T-WHB4B")
        page.locator("#code").press("Enter")
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
        _check(page, "access code refused")
        page.goto(link)
        _check(page, "challenge")
        page.get_by_label(words["birth"]).fill("01/01/1900")
        page.get_by_role("button", name=words["go"]).click()
        expect(page.get_by_role("alert")).to_be_visible()
        _check(page, "challenge refused")
        page.get_by_label(words["birth"]).fill(record["birth_date"].strftime("%d/%m/%Y"))
        page.get_by_role("button", name=words["go"]).click()
        expect(page.get_by_label(words["postcode"])).to_be_visible()
        _check(page, "form")
        page.get_by_label(words["postcode"]).fill("00000")
        page.get_by_role("button", name=words["send"]).click()
        # The error summary takes the focus, so that it is read first.
        expect(page.locator("#error-summary")).to_be_focused()
        _check(page, "form refused")
        city = {"fr": "Ville", "en": "City"}[locale]
        fill_address(page, (words["postcode"], "69003"), (city, "Lyon"))
        with page.expect_navigation():
            page.get_by_role("button", name=words["send"]).click()
        _check(page, "confirmation")
        page.locator("#amend-link").click()
        expect(page.locator("#amending")).to_be_visible()
        _check(page, "correction form")
        page.goto(link + "/done")
        page.locator(".receipt-copy button").click()
        expect(page.locator("#mail-sent")).to_be_visible()
        _check(page, "confirmation, copy sent")
        page.goto(link + "/upload")
        _check(page, "upload")
        not_pdf = tmp_path / "letter.txt"
        not_pdf.write_text("not a PDF", encoding="utf-8")
        page.get_by_label(words["file"]).set_input_files(str(not_pdf))
        page.get_by_role("button", name=words["upload"]).click()
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.get_by_label(words["file"])).to_have_attribute("aria-invalid", "true")
        _check(page, "upload refused")
        page.goto(link[:-4] + "AAAA")
        _check(page, "broken link")
        page.goto(link[:-30])
        expect(page.locator("[data-damage=truncated]")).to_be_visible()
        _check(page, "cut link")
        page.goto(link.replace(link.split("/f/")[1], link.split("/f/")[1].lower()))
        expect(page.locator("[data-damage=lowercased]")).to_be_visible()
        _check(page, "lower-cased link")
        page.goto(server + "/no/such/page")
        _check(page, "unknown address")
        page.goto(server + "/legal")
        _check(page, "legal notice")
        page.goto(server + "/privacy")
        _check(page, "privacy notice")
    finally:
        context.close()


def test_every_customer_page_on_a_phone_in_french(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    _walk(browser, server, runtime, "C000014", PHONE, "fr", tmp_path)


def test_every_customer_page_on_a_desktop_in_english(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    _walk(browser, server, runtime, "C000015", DESKTOP, "en", tmp_path)


def test_the_bank_details_form_with_its_mandate_on_a_phone(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    key = "C000016"
    record = record_of(runtime, key)
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    try:
        page.goto(issue_link(runtime, server, "bank-details", key))
        page.get_by_label("Votre date de naissance").fill(record["birth_date"].strftime("%d/%m/%Y"))
        page.get_by_label("Le code postal de votre adresse actuelle").fill(record["postcode"])
        page.get_by_role("button", name="Continuer").click()
        expect(page.get_by_role("heading", name="Mandat de prélèvement SEPA")).to_be_visible()
        iban = page.get_by_label("IBAN")
        expect(iban).to_have_value("")  # the current IBAN is only shown masked
        assert "•" in page.locator("#iban-current").inner_text()
        _check(page, "bank details with the mandate")
    finally:
        context.close()
