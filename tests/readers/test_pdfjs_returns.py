"""Fillable-PDF returns filled and saved by pdf.js, Firefox's PDF reader: its real code, in Node.

tests/readers/pdfjs/fill.mjs sets each value the way the viewer's annotation layer does when a
customer types or clicks, and saves with `saveDocument()` (an incremental update, new /V and
appearance streams, NeedAppearances when a character is missing from the field's font).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from forms_service.storage.model import PdfReturnStatus
from tests.pdf_forms import FIXTURES, run_tool
from tests.readers.pdfjs_filler import PdfjsValue, fill_many_with_pdfjs, fill_with_pdfjs
from tests.readers.returning import (
    LETTERS,
    challenge_answers,
    issue,
    letter,
    own_form_definitions,
    post_return,
    proposed_changes,
    submission_of,
    upload,
)


def _base(runtime: Runtime, document_id: str) -> dict[str, str]:
    return dict(submission_of(runtime, document_id).base)


@pytest.mark.parametrize("form_id", sorted(LETTERS))
def test_letter_filled_in_firefox_and_uploaded(
    client: FlaskClient, runtime: Runtime, form_id: str
) -> None:
    document_id, token = issue(runtime, form_id)
    typed, expected = LETTERS[form_id]
    saved = fill_with_pdfjs(letter(runtime, document_id), typed)
    response = upload(client, token, saved, **challenge_answers(runtime, form_id))
    assert response.status_code == 200, response.text
    assert proposed_changes(runtime, document_id) == {
        field: value
        for field, value in expected.items()
        if value != _base(runtime, document_id)[field]
    }
    submission = submission_of(runtime, document_id)
    assert submission.channel == "pdf"
    for field in expected:
        evidence = submission.evidence[field]
        assert (evidence["kind"], evidence["source"]) == ("pdf_field", "V"), field
    # Everything left alone in the viewer is "unchanged".
    untouched = set(submission.base) - {name.split(":")[0] for name in typed}
    assert all(submission.values[f] == submission.base[f] for f in untouched)


def test_bank_letter_saved_by_firefox_posted_by_the_mailroom(
    client: FlaskClient, runtime: Runtime
) -> None:
    document_id, _token = issue(runtime, "bank-details")
    typed, expected = LETTERS["bank-details"]
    saved = fill_with_pdfjs(letter(runtime, document_id), typed)
    response = post_return(client, runtime, saved)
    assert response.status_code == 201, response.text
    body = response.get_json()
    # The hidden token field survived pdf.js's save and names the letter.
    assert body["status"] == "read" and body["document_id"] == document_id
    submission = submission_of(runtime, document_id)
    assert {field: submission.values[field] for field in expected} == expected
    assert submission.values["signature"] == "signed"  # any text signs; no source column
    changed = {f for f in expected if expected[f] != submission.base[f]} | {"signature"}
    assert set(body["changed_fields"]) == changed


def test_letter_saved_twice_in_firefox_reads_the_last_save(runtime: Runtime) -> None:
    document_id, token = issue(runtime, "consent-preferences")
    first = fill_with_pdfjs(
        letter(runtime, document_id),
        {"consent_sms": "/true", "preferred_channel": "/post", "interests:credit": "/Yes"},
    )
    # Opened again and changed: pdf.js appends a second incremental update.
    second = fill_with_pdfjs(
        first,
        {
            "consent_sms": "/false",
            "preferred_channel": "/sms",
            "interests:credit": "/Off",
            "interests:insurance": "/Yes",
        },
    )
    assert second.startswith(first) and second.count(b"%%EOF") == first.count(b"%%EOF") + 1
    receipt = runtime.pdf_returns.receive(second, link_token=token, via="upload", actor="customer")
    assert receipt.status is PdfReturnStatus.READ and receipt.submission is not None
    values = receipt.submission.values
    assert values["consent_sms"] == "false"
    assert values["preferred_channel"] == "sms"
    assert values["interests"] == "insurance"


def test_text_emptied_in_a_second_save_means_unchanged(runtime: Runtime) -> None:
    document_id, token = issue(runtime, "contact-update")
    first = fill_with_pdfjs(letter(runtime, document_id), {"city": "Lyon", "postcode": "69002"})
    second = fill_with_pdfjs(first, {"city": "", "postcode": "69003"})
    receipt = runtime.pdf_returns.receive(second, link_token=token, via="upload", actor="customer")
    assert receipt.submission is not None
    values, base = receipt.submission.values, receipt.submission.base
    assert values["postcode"] == "69003"
    assert values["city"] == base["city"]  # the box is empty again: unchanged
    assert receipt.submission.evidence["city"]["unchanged"] is True


def test_nothing_typed_saves_the_letter_unchanged(runtime: Runtime) -> None:
    document_id, token = issue(runtime, "consent-preferences")
    original = letter(runtime, document_id)
    saved = fill_with_pdfjs(original, {})
    assert saved == original  # Firefox saves the original bytes when no field was touched
    receipt = runtime.pdf_returns.receive(saved, link_token=token, via="upload", actor="customer")
    assert receipt.submission is not None
    assert receipt.submission.values == receipt.submission.base


#: The letter as other tools may hand it on before the customer opens it in Firefox.
REWRITES = {
    "object-streams": ["qpdf", "--object-streams=generate", "in.pdf", "out.pdf"],
    "linearized": ["qpdf", "--linearize", "in.pdf", "out.pdf"],
    "aes-256-empty-password": ["qpdf", "--encrypt", "", "owner", "256", "--", "in.pdf", "out.pdf"],
    "rc4-128-empty-password": [
        "qpdf",
        "--allow-weak-crypto",
        "--encrypt",
        "",
        "owner",
        "128",
        "--use-aes=n",
        "--",
        "in.pdf",
        "out.pdf",
    ],
}


@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_rewritten_letter_saved_by_pdfjs(runtime: Runtime, tmp_path: Path, rewrite: str) -> None:
    # pdf.js appends its update in the file's own way: a cross-reference stream after one,
    # its new strings encrypted with the file's key.
    document_id, token = issue(runtime, "contact-update")
    (tmp_path / "in.pdf").write_bytes(letter(runtime, document_id))
    run_tool(REWRITES[rewrite], tmp_path)
    rewritten = (tmp_path / "out.pdf").read_bytes()
    assert read_pdf_form(rewritten).encrypted == ("password" in rewrite)
    saved = fill_with_pdfjs(rewritten, {"city": "Saint-Étienne", "postcode": "42000"})
    assert (b"Saint" in saved[len(rewritten) :]) is ("password" not in rewrite)
    receipt = runtime.pdf_returns.receive(saved, link_token=token, via="upload", actor="customer")
    assert receipt.submission is not None
    values = receipt.submission.values
    assert (values["city"], values["postcode"]) == ("Saint-Étienne", "42000")


#: Public forms (tests/fixtures/pdf-forms) filled in pdf.js: the values set, and what must be
#: read back (text, a checkbox's on-state, a radio group's export value, lists joined by ",").
PUBLIC: dict[str, tuple[dict[str, PdfjsValue], dict[str, str | None]]] = {
    "pdfbox/acroform.pdf": (  # Acrobat: custom on-state "Ja", radio group, lists, combos
        {
            "TextField": "Zoë Ünal",
            "CheckBox1": "/Off",
            "CheckBox2": "/Ja",
            "GroupOption": "/Option1",
            "ListBox": "ABC",
            "ListBoxMultiSelect": ["Mars", "Sun"],
            "ComboBox": "Audi",
            "ComboBoxEditable": "Horse",
        },
        {
            "TextField": "Zoë Ünal",
            "CheckBox1": None,
            "CheckBox2": "Ja",
            "GroupOption": "Option1",
            "ListBox": "ABC",
            "ListBoxMultiSelect": "Mars,Sun",
            "ComboBox": "Audi",
            "ComboBoxEditable": "Horse",
        },
    ),
    "pdf-lib/create_form.pdf": (  # hierarchical names; radio states "0".."3", exports in /Opt
        {
            "favorite.superhero": "Saitama",
            "favorite.rocket": "/2",
            "favorite.planet": "Mars",
            "favorite.person": "Cleopatra",
            "gundam.exia": "/Off",
            "gundam.virtue": "/Yes",
        },
        {
            "favorite.superhero": "Saitama",
            "favorite.rocket": "Delta IV Heavy",
            "favorite.planet": "Mars",
            "favorite.person": "Cleopatra",
            "gundam.exia": None,
            "gundam.virtue": "Yes",
        },
    ),
    "pypdf/FormTestFromOo.pdf": (  # made by LibreOffice 6: radio states "1".."3", lists
        {
            "Text1": "Ça marche",
            "Text2": "Ελληνικά",
            "CheckBox1": "/Yes",
            "RadioGroup1": "/2",
            "Combo1": "combo Line 3",
            "Liste2": ["Lst1", "Lst3"],
        },
        {
            "Text1": "Ça marche",
            "Text2": "Ελληνικά",
            "CheckBox1": "Yes",
            "RadioGroup1": "2",
            "Combo1": "combo Line 3",
            "Liste2": "Lst1,Lst3",
        },
    ),
    "pdfjs/issue15557.pdf": (  # made by LibreOffice 7.4 (NeedAppearances, no /V)
        {"Check Box 1": "/Yes"},
        {"Check Box 1": "Yes"},
    ),
    "pypdfform/sample_template_with_comb_text_field.pdf": (  # Acrobat comb field and radio
        {"FirstName": "Zoé", "LastName": "ABC1234", "Awesomeness": "/Yes", "Gender": "/Female"},
        {"FirstName": "Zoé", "LastName": "ABC1234", "Awesomeness": "Yes", "Gender": "Female"},
    ),
    "pdfbox/CombTest.pdf": (
        {"PDFBoxCombLeft": "12345", "CombMiddle": "xyz"},
        {"PDFBoxCombLeft": "12345", "CombMiddle": "xyz"},
    ),
    "pdfjs/annotation-text-widget.pdf": (  # LiveCycle XFA hybrid (its XFA datasets untouched)
        {
            "formulier1[0].#subform[0].Tekstveld5[0]": "Hallo wereld",
            "formulier1[0].#subform[0].Tekstveld6[0]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        },
        {
            "formulier1[0].#subform[0].Tekstveld5[0]": "Hallo wereld",
            "formulier1[0].#subform[0].Tekstveld6[0]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        },
    ),
    "french-dgfip/5000-sd_4482.pdf": (  # the French tax form: checkbox states A/B and Oui
        {"a1": "Société Générale", "cac2": "/B", "cac1": "/Oui"},
        {"a1": "Société Générale", "cac2": "B", "cac1": "Oui"},
    ),
}


@pytest.fixture(scope="module")
def public_forms_saved_by_pdfjs() -> dict[str, bytes]:
    """Every public form above, filled and saved in one pdf.js run."""
    names = sorted(PUBLIC)
    saved = fill_many_with_pdfjs([((FIXTURES / n).read_bytes(), PUBLIC[n][0]) for n in names])
    return dict(zip(names, saved, strict=True))


@pytest.mark.parametrize("reader", ["pdfplumber", "pypdf"])
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_form_saved_by_pdfjs(
    public_forms_saved_by_pdfjs: dict[str, bytes], name: str, reader: str
) -> None:
    original = read_pdf_form((FIXTURES / name).read_bytes(), reader=reader)
    form = read_pdf_form(public_forms_saved_by_pdfjs[name], reader=reader)
    _typed, expected = PUBLIC[name]
    assert {field: form.fields[field].value for field in expected} == expected
    # Fields left alone keep their value.
    for field, before in original.fields.items():
        if field not in expected:
            assert form.fields[field].value == before.value, field


@pytest.fixture(scope="module")
def tax_form_definitions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped definitions plus the French tax form, imported and mapped to the CRM."""
    return own_form_definitions(
        tmp_path_factory.mktemp("definitions"),
        FIXTURES / "french-dgfip" / "5000-sd_4482.pdf",
        "tax-form",
        {
            "a1": {"name": "last_name", "maps_to": "last_name"},
            "a2": {"name": "city", "maps_to": "city"},
            "cac1": {"name": "consent_email", "maps_to": "consent_email"},
            "cac2": {"name": "consent_sms", "maps_to": "consent_sms"},
        },
    )


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tax_form_definitions: Path) -> dict[str, Any]:
    return {**app_settings, "DEFINITIONS_DIR": str(tax_form_definitions)}


def test_public_form_issued_prefilled_filled_in_firefox_and_posted(
    client: FlaskClient, runtime: Runtime
) -> None:
    document_id, _token = issue(runtime, "tax-form", "C000004")
    prefilled = read_pdf_form(letter(runtime, document_id)).fields
    sms_ticked = prefilled["cac2"].value is not None
    saved = fill_with_pdfjs(
        letter(runtime, document_id),
        {
            "a1": "Lefèvre-Kowalski",
            "a2": "",
            "cac1": "/Oui",
            "cac2": "/Off" if sms_ticked else "/B",
        },
    )
    response = post_return(client, runtime, saved)
    assert response.status_code == 201, response.text
    submission = submission_of(runtime, document_id)
    assert submission.base["last_name"] == prefilled["a1"].value
    # An organisation's own form is read whole: the emptied box clears the city.
    assert submission.values["last_name"] == "Lefèvre-Kowalski"
    assert submission.values["city"] in ("", None)
    assert submission.values["consent_email"] == "true"
    assert submission.values["consent_sms"] == ("false" if sms_ticked else "true")
    changed = {f for f in submission.values if submission.values[f] != submission.base[f]}
    assert set(proposed_changes(runtime, document_id)) >= changed
