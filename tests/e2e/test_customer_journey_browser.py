"""Issue 15's "Done when", walked in Chromium on a phone in French and a desktop in English.

With only the letter in hand: the access code typed at the bare host, the identity question
(a wrong answer first, the tries left said), the bank details form with the IBAN masked, the
SEPA mandate and a RIB attached, the tab closed and the link reopened in a new context (the
draft and the RIB resumed), the receipt and its PDF, a copy by e-mail, an amendment before
processing, then every refusal page (a mistyped and an unknown code, a cut and a lower-cased
link, a withdrawn form, a locked identity question). On every page: axe's AA and
best-practice rules and the three manual criteria (tests/e2e/test_customer_pages_
accessibility.py), and no trace of the product's own name.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, Submission, SubmissionStatus
from tests.e2e.browsing import offline
from tests.e2e.test_customer_pages_accessibility import _check
from tests.e2e.test_online_browser import DESKTOP, PHONE, issue_link, record_of

pytestmark = pytest.mark.browser

NEW_IBAN = "FR76 3000 6000 0112 3456 7890 189"
#: The product's names, which no customer page may show.
PRODUCT_NAMES = ("forms_service", "forms-service", "forms service", "formsservice")
WORDS = {
    "fr": {"birth": "Votre date de naissance", "postcode": "Le code postal de votre adresse"},
    "en": {"birth": "Your date of birth", "postcode": "The postcode of your current address"},
}


def _rib(tmp_path: Path) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "rib.pdf"
    canvas = Canvas(str(path))
    canvas.drawString(72, 720, "RELEVE D'IDENTITE BANCAIRE  " + NEW_IBAN)
    canvas.save()
    return path


def _seen(page: Page, what: str, seen: list[str]) -> None:
    """The strict checks of every customer page, and no product name anywhere in it."""
    _check(page, what)
    content = page.content().lower()
    assert not [name for name in PRODUCT_NAMES if name in content], what
    seen.append(what)


def _identify(page: Page, record: dict[str, Any], words: dict[str, str]) -> None:
    page.get_by_label(words["birth"]).fill(record["birth_date"].strftime("%d/%m/%Y"))
    page.get_by_label(words["postcode"]).fill(record["postcode"])
    page.locator("form button[type=submit]").click()


def _journey(
    browser: Browser,
    server: str,
    runtime: Runtime,
    key: str,
    device: dict[str, Any],
    locale: str,
    tmp_path: Path,
) -> list[str]:
    words = WORDS[locale]
    seen: list[str] = []
    record = record_of(runtime, key)
    link = issue_link(runtime, server, "bank-details", key)
    document_id = link.split("/f/")[1].split(".")[0]
    code = runtime.issuing.access_codes_for([document_id])[document_id]
    browser_locale = {"fr": "fr-FR", "en": "en-GB"}[locale]

    first = browser.new_context(locale=browser_locale, **device)
    page = first.new_page()
    problems = offline(page, server)
    # -- the letter in hand: the bare host, the code typed as it is read ---------------------
    page.goto(server + "/")
    _seen(page, "code entry", seen)
    page.locator("#code").fill(code.lower().replace("-", " "))
    page.locator("#code").press("Enter")
    # -- the identity question, a wrong answer first ------------------------------------------
    expect(page.get_by_label(words["birth"])).to_be_visible()
    assert record["last_name"] not in page.content()  # nothing personal before it
    _seen(page, "identity question", seen)
    page.get_by_label(words["birth"]).fill("01/01/1900")
    page.get_by_label(words["postcode"]).fill(record["postcode"])
    page.locator("form button[type=submit]").click()
    expect(page.locator("[data-tries-left]")).to_have_attribute(
        "data-tries-left", str(runtime.intake.challenge.max_failures - 1)
    )
    _seen(page, "identity refused, tries left", seen)
    _identify(page, record, words)
    # -- the bank details: masked IBAN, the mandate, a RIB -----------------------------------
    iban = page.get_by_label("IBAN")
    expect(iban).to_have_value("")
    assert "•" in page.locator("#iban-current").inner_text()
    assert str(record["iban"]).replace(" ", "")[4:-4] not in page.content().replace(" ", "")
    expect(page.locator("section.mandate")).to_contain_text("FR72ZZZ123456")
    _seen(page, "bank details form", seen)
    iban.fill(NEW_IBAN)
    page.locator("#attachment").set_input_files(str(_rib(tmp_path)))
    expect(page.locator("#draft-status")).not_to_be_empty(timeout=4000)
    page.close(run_before_unload=True)
    first.close()

    # -- the same link reopened in a new context: the draft and its RIB resumed --------------
    second = browser.new_context(locale=browser_locale, **device)
    page = second.new_page()
    problems += offline(page, server)
    try:
        page.goto(link)
        _identify(page, record, words)
        expect(page.locator("#resumed")).to_be_visible()
        expect(page.get_by_label("IBAN")).to_have_value(NEW_IBAN)
        expect(page.locator("#attachment-kept")).to_have_attribute(
            "data-attachment", "application/pdf"
        )
        _seen(page, "resumed form with its RIB", seen)
        page.locator("#mandate").check()
        with page.expect_navigation():
            page.locator("form.answer button[type=submit]").click()
        # -- the receipt, its PDF, a copy by e-mail -------------------------------------------
        expect(page.locator("[data-fact=reference]")).to_be_visible()
        reference = page.locator("[data-fact=reference]").inner_text()
        assert "•••0 189" in page.content()  # masked on the receipt too
        _seen(page, "receipt", seen)
        with page.expect_download() as download:
            page.locator("a[href$='/receipt.pdf']").click()
        pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert reference in pdf.pages[0].extract_text()
        page.locator(".receipt-copy button").click()
        expect(page.locator("#mail-sent")).to_be_visible()
        _seen(page, "receipt, copy sent", seen)
        # -- an amendment before processing ---------------------------------------------------
        page.locator("#amend-link").click()
        expect(page.locator("#amending")).to_be_visible()
        _seen(page, "amendment form", seen)
        page.get_by_label({"fr": "Titulaire du compte", "en": "Account holder"}[locale]).fill(
            "Camille Martin"
        )
        page.locator("#mandate").check()
        with page.expect_navigation():
            page.locator("form.answer button[type=submit]").click()
        expect(page.locator("#amended")).to_be_visible()
        expect(page.locator("table.changes")).to_contain_text("Camille Martin")
        _seen(page, "receipt of the amendment", seen)
        # Back after submitting shows the receipt, not a resubmission prompt.
        page.go_back()
        page.go_forward()
        expect(page.locator("[data-fact=reference]")).to_have_text(reference)
    finally:
        second.close()
    with runtime.sessions() as session:
        (change_set,) = session.scalars(select(ChangeSet)).all()
        answers = {s.id: s for s in session.scalars(select(Submission))}
    assert answers[change_set.submission_id].values["account_holder"] == "Camille Martin"
    assert answers[change_set.submission_id].evidence["iban"]["attachment_type"] == (
        "application/pdf"
    )
    assert [a.status for a in answers.values()].count(SubmissionStatus.SUPERSEDED) == 1
    # A refused answer is a 422 page by design; anything else in the console is a fault.
    assert [p for p in problems if "status of 422" not in p] == []
    return seen


def _refusals(
    browser: Browser, server: str, runtime: Runtime, key: str, locale: str, device: dict[str, Any]
) -> list[str]:
    seen: list[str] = []
    link = issue_link(runtime, server, "bank-details", key)
    token = link.split("/f/")[1]
    context = browser.new_context(locale={"fr": "fr-FR", "en": "en-GB"}[locale], **device)
    page = context.new_page()
    try:
        page.goto(server + "/r")
        page.locator("#code").fill("K7PXM-3QR9T-WHB4B")  # one character mistyped
        page.locator("#code").press("Enter")
        expect(page.locator("#error-summary")).to_be_focused()
        _seen(page, "mistyped code", seen)
        page.locator("#code").fill("K7PXM-3QR9T-WHB4A")  # well typed, nobody's
        page.locator("#code").press("Enter")
        expect(page.locator("#code-error")).to_be_visible()
        _seen(page, "unknown code", seen)
        page.goto(link[: -len(token) + 25])
        expect(page.locator("[data-damage=truncated]")).to_be_visible()
        _seen(page, "cut link", seen)
        page.goto(link.replace(token, token.lower()))
        expect(page.locator("[data-damage=lowercased]")).to_be_visible()
        _seen(page, "lower-cased link", seen)
        record = record_of(runtime, key)
        page.goto(link)
        for _ in range(runtime.intake.challenge.max_failures):
            page.get_by_label(WORDS[locale]["birth"]).fill("01/01/1900")
            page.get_by_label(WORDS[locale]["postcode"]).fill(record["postcode"])
            page.locator("form button[type=submit]").click()
        expect(page.locator("[data-tries-left='0']")).to_be_visible()
        _seen(page, "last try used", seen)
        page.goto(link)
        _identify(page, record, WORDS[locale])
        expect(page.locator(".error-message")).to_be_visible()
        _seen(page, "identity locked", seen)
        # A withdrawn form: its code and its link both get the withdrawn page.
        document_id = token.split(".")[0]
        code = runtime.issuing.access_codes_for([document_id])[document_id]
        runtime.issuing.revoke(document_id, actor="browser-test")
        page.goto(server + "/r")
        page.locator("#code").fill(code)
        page.locator("#code").press("Enter")
        expect(page.locator(".error-message[data-code=revoked_link]")).to_be_visible()
        _seen(page, "withdrawn form, by its code", seen)
        page.goto(link)
        expect(page.locator(".error-message[data-code=revoked_link]")).to_be_visible()
        _seen(page, "withdrawn form, by its link", seen)
    finally:
        context.close()
    return seen


def test_the_journey_from_the_letter_on_a_phone_in_french(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    seen = _journey(browser, server, runtime, "C000021", PHONE, "fr", tmp_path)
    assert len(seen) == 9


def test_the_journey_from_the_letter_on_a_desktop_in_english(
    browser: Browser, server: str, runtime: Runtime, tmp_path: Path
) -> None:
    seen = _journey(browser, server, runtime, "C000022", DESKTOP, "en", tmp_path)
    assert len(seen) == 9


@pytest.mark.parametrize(("locale", "device"), [("fr", PHONE), ("en", DESKTOP)])
def test_every_refusal_page_says_what_to_do(
    browser: Browser, server: str, runtime: Runtime, locale: str, device: dict[str, Any]
) -> None:
    key = {"fr": "C000023", "en": "C000024"}[locale]
    seen = _refusals(browser, server, runtime, key, locale, device)
    assert len(seen) == 8
