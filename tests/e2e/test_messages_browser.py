"""The e-mails in Debian's Chromium (a phone and a desktop width, light and dark), and a short
link opened in it up to the form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from forms_service.connectors.interfaces import Selection
from forms_service.delivery.interfaces import MessageContext
from forms_service.delivery.messages import MessageRenderer
from forms_service.runtime import Runtime

pytestmark = pytest.mark.browser

#: A signed link at its longest, which must wrap instead of widening the page.
LINK = "https://formulaires.mutuelle-horizon.example/f/" + "A" * 22 + ".t1abcde.k1." + "B" * 22
WIDTHS = (375, 800)


def rendered(runtime: Runtime, form_id: str, locale: str, **changes: Any) -> str:
    context = MessageContext(
        form_id=form_id,
        locale=locale,
        record={"title": "Mme", "first_name": "Marie-Françoise", "last_name": "Du Pont-Lefèvre"},
        link=LINK,
        short_link="https://hz.example/r/0123456789abcdefghjk",
        deadline=dt.date(2026, 9, 30),
        **changes,
    )
    return MessageRenderer(runtime.definitions).render_email(context).html


def open_email(page: Page, html: str) -> list[str]:
    """Show an e-mail as a client would, refusing any request it makes (it must make none)."""
    requests: list[str] = []

    def refuse(route: Route) -> None:
        requests.append(route.request.url)
        route.abort()

    page.route("**/*", refuse)
    page.set_content(html, wait_until="load")
    return requests


def overflow(page: Page) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("form_id", ["contact-update", "bank-details", "consent-preferences"])
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_email_fits_a_phone_and_a_desktop_with_its_button_visible(
    browser: Browser, runtime: Runtime, form_id: str, locale: str
) -> None:
    html = rendered(runtime, form_id, locale, reminder=1, unsubscribe_url=f"{LINK}/u")
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            assert open_email(page, html) == []
            assert overflow(page) <= 0, f"{width}px: scrolls sideways by {overflow(page)}px"
            button = page.locator(f'td[bgcolor] a[href="{LINK}"]')
            expect(button).to_be_visible()
            box = button.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["height"] >= 40, "the button is a comfortable target"
            colours = button.evaluate(
                "(a) => [getComputedStyle(a).color, "
                "getComputedStyle(a.parentElement).backgroundColor]"
            )
            assert colours == ["rgb(255, 255, 255)", "rgb(11, 87, 208)"]
            # The link as text too, wrapped within the card.
            text_link = page.locator(f'p a[href="{LINK}"]')
            expect(text_link).to_have_text(LINK)
            text_box = text_link.bounding_box()
            assert text_box is not None and text_box["x"] + text_box["width"] <= width
            card = page.locator("table.card").bounding_box()
            assert card is not None and card["width"] <= 600
            # The preheader is in the page but not shown.
            preheader = page.locator("body > div").first
            expect(preheader).to_be_hidden()
        finally:
            context.close()


def test_the_email_in_dark_mode_keeps_readable_colours(browser: Browser, runtime: Runtime) -> None:
    html = rendered(runtime, "contact-update", "fr")
    context = browser.new_context(viewport={"width": 375, "height": 900}, color_scheme="dark")
    page = context.new_page()
    try:
        open_email(page, html)
        paragraph = page.locator("p.body-text").nth(1)
        colour, background = paragraph.evaluate(
            "(p) => [getComputedStyle(p).color, "
            "getComputedStyle(p.closest('table.card')).backgroundColor]"
        )
        assert colour == "rgb(230, 230, 230)" and background == "rgb(30, 30, 30)"
        button = page.locator("td[bgcolor] a")
        assert button.evaluate("(a) => getComputedStyle(a).color") == "rgb(255, 255, 255)"
    finally:
        context.close()


def test_a_short_link_opened_in_chromium_reaches_the_form(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    (issued,) = runtime.issuing.issue(
        "consent-preferences", Selection(keys=("C000003",)), "browser"
    )
    with runtime.sessions() as session:
        code = runtime.short_links.code_of(session, issued.document_id)
    assert code is not None
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        # As typed from an SMS: capitals, a look-alike O for the zero if any.
        page.goto(f"{server}/r/{code.upper()}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Vos préférences de contact")
        assert "/f/" in page.url and code not in page.url
        expect(page.get_by_label("J'accepte de recevoir des SMS")).to_be_visible()
        page.goto(f"{server}/r/0123456789abcdefghjk")
        expect(page.locator("main")).to_contain_text("Ce lien ne mène à aucun formulaire.")
    finally:
        context.close()
