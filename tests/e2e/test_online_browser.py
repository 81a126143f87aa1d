"""The online form in Debian's Chromium: a phone and a desktop, keyboard only, and axe."""

from __future__ import annotations

import html
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.e2e.browsing import fill_address, tab_to

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}


def issue_link(runtime: Runtime, server: str, form_id: str, key: str) -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "browser")
    return server + issued.link.removeprefix(runtime.issuing.base_url)


def record_of(runtime: Runtime, key: str) -> dict[str, Any]:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return dict(record)


def assert_accessible(page: Page, what: str) -> None:
    violations = Axe().run(page).response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{what}: {serious}"


def assert_fits_the_screen(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_phone_change_address_and_see_the_changes(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    key = "C000007"
    record = record_of(runtime, key)
    link = issue_link(runtime, server, "contact-update", key)
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    try:
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Vérification de votre identité")
        content = page.content()
        for column in ("first_name", "last_name", "address_line", "city", "email"):
            assert html.escape(str(record[column])) not in content, column
        assert_fits_the_screen(page)
        assert_accessible(page, "challenge, phone")
        # A wrong answer first: the page says so and keeps the customer where they were.
        page.get_by_label("Votre date de naissance").fill("01/01/1900")
        page.get_by_role("button", name="Continuer").tap()
        expect(page.get_by_role("alert")).to_contain_text("ne correspondent pas")
        assert_accessible(page, "challenge failed, phone")
        page.get_by_label("Votre date de naissance").fill(record["birth_date"].strftime("%d%m%Y"))
        page.get_by_role("button", name="Continuer").tap()

        expect(page.get_by_role("heading", level=1)).to_have_text("Mise à jour de vos coordonnées")
        address = page.get_by_label("Adresse (numéro et voie)")
        expect(address).to_have_value(record["address_line"])
        expect(page.get_by_label("Ville")).to_have_value(record["city"])
        assert_fits_the_screen(page)
        assert_accessible(page, "form, phone")

        # A mistake: the error summary names the field and links to it.
        page.get_by_label("Code postal").fill("00000")
        page.get_by_role("button", name="Envoyer").tap()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Code postal")
        expect(page.get_by_label("Code postal")).to_have_attribute("aria-invalid", "true")
        assert_accessible(page, "form with errors, phone")
        summary.get_by_role("link").first.tap()
        expect(page.get_by_label("Code postal")).to_be_focused()

        address.fill("12 rue des Lilas")
        fill_address(page, ("Code postal", "69003"), ("Ville", "Lyon"))
        with page.expect_navigation():
            page.get_by_role("button", name="Envoyer").tap()

        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Merci, votre réponse est enregistrée"
        )
        rows = page.locator("table.changes tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text("Adresse (numéro et voie)")
        expect(rows.nth(0)).to_contain_text("12 rue des Lilas")
        expect(rows.nth(1)).to_contain_text("69003")
        expect(rows.nth(2)).to_contain_text("Lyon")
        assert_fits_the_screen(page)
        assert_accessible(page, "confirmation, phone")
    finally:
        context.close()


def test_desktop_keyboard_only_in_english(browser: Browser, server: str, runtime: Runtime) -> None:
    key = "C000011"
    record = record_of(runtime, key)
    link = issue_link(runtime, server, "contact-update", key)
    context = browser.new_context(locale="en-GB", **DESKTOP)
    page = context.new_page()
    try:
        page.goto(link)  # Accept-Language en-GB: English
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm who you are")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert_accessible(page, "challenge, desktop")
        tab_to(page, "input[name=birth_date]")
        described = page.evaluate("document.activeElement.getAttribute('aria-describedby')")
        assert described == "birth_date-help"  # the "Example: 23/04/1987" hint is read out
        page.keyboard.type(record["birth_date"].strftime("%d/%m/%Y"))
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", level=1)).to_have_text("Update your contact details")
        assert_accessible(page, "form, desktop")
        tab_to(page, "input[name=address_line]")
        page.keyboard.press("Control+A")
        page.keyboard.type("5 avenue Foch")
        tab_to(page, "input[name=postcode]")
        page.keyboard.press("Control+A")
        page.keyboard.type("75116")
        tab_to(page, "input[name=city]")
        page.keyboard.press("Control+A")
        page.keyboard.type("Paris")
        tab_to(page, "button[type=submit]")
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Thank you, your answer is recorded"
        )
        rows = page.locator("table.changes tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text("5 avenue Foch")
        expect(rows.nth(0)).to_contain_text(record["address_line"])
        expect(rows.nth(1)).to_contain_text("75116")
        expect(rows.nth(2)).to_contain_text("Paris")
        assert_accessible(page, "confirmation, desktop")
    finally:
        context.close()


def test_broken_link_page_then_choices_by_touch(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    link = issue_link(runtime, server, "consent-preferences", "C000003")
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    try:
        response = page.goto(link[:-4] + "AAAA")
        assert response is not None and response.status == 400
        expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien ne fonctionne pas")
        expect(page.locator("main")).to_contain_text("nouveau lien")
        assert_accessible(page, "error page")
        # A form with choices and boxes, no challenge, answered by touch.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Vos préférences de contact")
        assert_fits_the_screen(page)
        assert_accessible(page, "choices form, phone")
        record = record_of(runtime, "C000003")
        channel = "SMS" if record["preferred_channel"] != "sms" else "Courrier"
        page.get_by_role("radio", name=channel).tap()
        sms = page.get_by_role("checkbox", name="J'accepte de recevoir des SMS")
        sms.tap()
        page.get_by_role("button", name="Envoyer").tap()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Merci, votre réponse est enregistrée"
        )
        rows = page.locator("table.changes tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("J'accepte de recevoir des SMS")
        expect(rows.nth(0)).to_contain_text("Non" if record["consent_sms"] else "Oui")
        expect(rows.nth(1)).to_contain_text(channel)
    finally:
        context.close()
