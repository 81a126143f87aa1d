"""Save and resume in Chromium: a tab closed mid-form loses nothing."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.e2e.test_online_browser import DESKTOP, PHONE, assert_accessible, record_of

pytestmark = pytest.mark.browser


def test_a_tab_closed_mid_form_is_resumed_on_another_device(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    key = "C000017"
    record = record_of(runtime, key)
    (issued,) = runtime.issuing.issue("contact-update", Selection(keys=(key,)), "browser")
    link = server + issued.link.removeprefix(runtime.issuing.base_url)
    phone = browser.new_context(locale="fr-FR", **PHONE)
    page = phone.new_page()
    page.goto(link)
    page.get_by_label("Votre date de naissance").fill(record["birth_date"].strftime("%d%m%Y"))
    page.get_by_role("button", name="Continuer").tap()
    # The page's script is running (its counters are drawn after the draft's listeners): a
    # change typed before it ran would be sent with the form, not saved as a draft.
    expect(page.locator("#address_line-count")).to_be_attached()
    # The page sends the draft within 2 seconds of the change (its timer: 1 s after the last
    # keystroke; the margin is for a busy machine), and says so once the server has it.
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/draft"), timeout=4000
    ):
        page.get_by_label("Adresse (numéro et voie)").fill("3 place Bellecour")
    expect(page.locator("#draft-status")).to_contain_text("Enregistré à", timeout=15000)
    page.get_by_label("Ville").fill("Lyon")  # typed, then the tab is closed at once
    page.close(run_before_unload=True)
    phone.close()
    # The closing page's beacon travels on its own: a person takes longer to pick up another
    # device than it does to arrive, a busy test machine may not.
    _wait_for_draft(runtime, issued.document_id, "city", "Lyon")

    desktop = browser.new_context(locale="fr-FR", **DESKTOP)
    page = desktop.new_page()
    try:
        page.goto(link)
        page.get_by_label("Votre date de naissance").fill(record["birth_date"].strftime("%d/%m/%Y"))
        page.get_by_role("button", name="Continuer").click()
        expect(page.locator("#resumed")).to_contain_text("Nous avons repris la réponse")
        expect(page.get_by_label("Adresse (numéro et voie)")).to_have_value("3 place Bellecour")
        expect(page.get_by_label("Ville")).to_have_value("Lyon")
        assert_accessible(page, "resumed form, desktop")
    finally:
        desktop.close()


def _wait_for_draft(runtime: Runtime, document_id: str, box: str, value: str) -> None:
    drafts = runtime.intake.drafts
    assert drafts is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        draft = drafts.load(document_id)
        if draft is not None and draft.boxes.get(box) == value:
            return
        time.sleep(0.1)
    raise AssertionError(f"the draft never held {box}={value!r}")
