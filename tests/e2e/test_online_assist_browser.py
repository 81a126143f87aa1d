"""Help while typing, in Debian's Chromium: the postcode's commune, and length counters."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from forms_service.runtime import Runtime
from tests.e2e.test_online_browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    issue_link,
    record_of,
)

pytestmark = pytest.mark.browser


def test_the_postcode_offers_its_commune_and_flags_a_city_that_does_not_match(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    key = "C000012"
    record = record_of(runtime, key)
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    try:
        page.goto(issue_link(runtime, server, "contact-update", key))
        page.get_by_label("Votre date de naissance").fill(record["birth_date"].strftime("%d%m%Y"))
        page.get_by_role("button", name="Continuer").tap()
        city = page.get_by_label("Ville")
        city.fill("Paris")
        page.get_by_label("Code postal").fill("69003")
        hint = page.locator("#city-check")
        expect(hint).to_have_text(
            "Vérifiez la ville : le code postal 69003 est celui de LYON. Choisir LYON"
        )
        expect(hint).to_have_attribute("aria-live", "polite")
        assert "city-check" in (city.get_attribute("aria-describedby") or "")
        assert_accessible(page, "form with a postcode hint, phone")
        page.get_by_role("button", name="Choisir LYON").tap()
        expect(city).to_have_value("LYON")
        expect(city).to_be_focused()
        expect(hint).to_have_text("")  # LYON is the listed commune: nothing to say
        # The commune is offered for the city field as well (its datalist).
        options = page.locator("#city-suggestions option")
        expect(options).to_have_count(1)
        assert options.first.get_attribute("value") == "LYON"
    finally:
        context.close()


def test_a_long_text_is_counted_never_cut_and_refused_saying_the_limit(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    key = "C000013"
    record = record_of(runtime, key)
    context = browser.new_context(locale="en-GB", **DESKTOP)
    page = context.new_page()
    try:
        page.goto(issue_link(runtime, server, "contact-update", key))
        page.get_by_label("Your date of birth").fill(record["birth_date"].strftime("%d/%m/%Y"))
        page.get_by_role("button", name="Continue").click()
        address = page.get_by_label("Address (number and street)")
        counter = page.locator("#address_line-count")
        address.fill("12 rue des Lilas")
        expect(counter).to_have_text("You have 22 characters left")
        long = "Résidence des Grands Chênes, bâtiment B, 12 rue"  # 47 characters, pasted
        address.fill(long)
        expect(counter).to_have_text("You have 9 characters too many")
        expect(address).to_have_value(long)  # not cut by the browser
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("alert")).to_contain_text("At most 38 characters.")
        expect(address).to_have_value(long)  # the customer's text comes back whole
        expect(counter).to_have_text("You have 9 characters too many")
        assert_accessible(page, "form with a too long text, desktop")
    finally:
        context.close()
