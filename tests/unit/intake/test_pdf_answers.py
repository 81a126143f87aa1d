"""From PDF fields to a definition's answers, and from a PDF to a definition skeleton."""

from __future__ import annotations

import dataclasses

from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definition
from forms_service.intake.pdf.answers import document_token, matching_fields, read_answers
from forms_service.intake.pdf.skeleton import definition_skeleton, form_id_of
from forms_service.pdfforms.model import PdfField, PdfFieldKind, PdfForm, ValueSource
from tests.conftest import DEFINITIONS

BASE = {
    "consent_email": "true",
    "consent_sms": "false",
    "consent_partners": "false",
    "preferred_channel": "email",
    "interests": "savings",
}


def _consent() -> FormDefinition:
    definition, problems = load_definition(DEFINITIONS / "consent-preferences.yaml")
    assert definition is not None, problems
    return definition


def _form(*fields: PdfField) -> PdfForm:
    return PdfForm(fields={f.name: f for f in fields}, page_count=2)


def _radio(name: str, value: str | None, states: tuple[str, ...] = ("true", "false")) -> PdfField:
    return PdfField(name, PdfFieldKind.RADIO, value, ValueSource.VALUE, states=states)


def _box(name: str, ticked: bool) -> PdfField:
    value, source = ("Yes", ValueSource.VALUE) if ticked else (None, ValueSource.NONE)
    return PdfField(name, PdfFieldKind.CHECKBOX, value, source, states=("Yes",))


def test_our_letter_empty_widgets_mean_unchanged() -> None:
    form = _form(
        _radio("consent_email", "false"),
        _radio("consent_sms", None),
        _radio("preferred_channel", None, ("email", "sms", "post")),
        _box("interests:savings", False),
        _box("interests:credit", False),
        PdfField("document_token", PdfFieldKind.TEXT, "tok", ValueSource.VALUE, hidden=True),
    )
    answers, problems = read_answers(_consent(), form, BASE, file_key="k.pdf")
    assert not problems
    values = {a.field: a.value for a in answers}
    assert values == {**BASE, "consent_email": "false"}
    evidence = {a.field: a.evidence for a in answers}
    assert evidence["consent_email"]["unchanged"] is False
    assert evidence["consent_email"]["kind"] == "pdf_field"
    assert evidence["consent_sms"]["unchanged"] is True
    assert evidence["consent_partners"]["source"] == "absent"
    assert document_token(form) == "tok"
    assert matching_fields(_consent(), form) == 4


def test_ticked_options_replace_the_multiple_choice() -> None:
    form = _form(_box("interests:credit", True), _box("interests:retirement", True))
    answers, _ = read_answers(_consent(), form, BASE, file_key="k.pdf")
    assert {a.field: a.value for a in answers}["interests"] == "credit,retirement"


def test_values_the_types_refuse_are_all_listed() -> None:
    form = _form(
        _radio("consent_email", "maybe"),
        _radio("preferred_channel", "pigeon", ("email", "pigeon")),
    )
    _, problems = read_answers(_consent(), form, BASE, file_key="k.pdf")
    assert [(p.field, p.key) for p in problems] == [
        ("consent_email", "checkbox"),
        ("preferred_channel", "choice"),
    ]


def test_prefilled_copy_is_read_whole() -> None:
    definition = dataclasses.replace(_consent(), pdf_template="/forms/own.pdf")
    form = _form(
        _box("consent_email", False),  # the organisation's own checkbox, left unticked
        _box("consent_sms", True),
        _radio("preferred_channel", "sms", ("email", "sms", "post")),
    )
    answers, problems = read_answers(definition, form, BASE, file_key="k.pdf")
    assert not problems
    values = {a.field: a.value for a in answers}
    assert values["consent_email"] == "false" and values["consent_sms"] == "true"
    assert values["preferred_channel"] == "sms"
    assert values["consent_partners"] == "false"  # not in the PDF: unchanged


def test_a_required_value_cleared_in_a_prefilled_copy() -> None:
    definition = dataclasses.replace(_consent(), pdf_template="/forms/own.pdf")
    form = _form(PdfField("preferred_channel", PdfFieldKind.CHOICE, None))
    _, problems = read_answers(definition, form, BASE, file_key="k.pdf")
    assert [(p.field, p.key) for p in problems] == [("preferred_channel", "required")]


def test_skeleton_names_types_and_left_out_fields() -> None:
    form = _form(
        PdfField("topmostSubform[0].Page1[0].f1_1[0]", PdfFieldKind.TEXT, max_length=9),
        PdfField("topmostSubform[0].Page1[0].f1_1[1]", PdfFieldKind.TEXT),
        PdfField("Adresse e-mail", PdfFieldKind.TEXT, tooltip="Votre courriel"),
        PdfField("Téléphone", PdfFieldKind.TEXT),
        PdfField("2e adresse", PdfFieldKind.TEXT),
        PdfField("3. Code postal", PdfFieldKind.TEXT, comb=True, max_length=5),
        PdfField("Total", PdfFieldKind.TEXT, read_only=True),
        PdfField("Print", PdfFieldKind.PUSHBUTTON),
        PdfField("document_token", PdfFieldKind.TEXT, hidden=True),
        PdfField("Pays", PdfFieldKind.CHOICE, options=(("FR", "France"), ("BE", "Belgique"))),
    )
    skeleton = definition_skeleton(form, form_id="x-form", title="X", template_path="x.pdf")
    fields = {f["pdf_field"]: f for f in skeleton.definition["fields"]}
    assert fields["topmostSubform[0].Page1[0].f1_1[0]"]["name"] == "f1_1"
    assert fields["topmostSubform[0].Page1[0].f1_1[0]"]["rules"] == {"max_length": 9}
    assert fields["topmostSubform[0].Page1[0].f1_1[1]"]["name"] == "f1_1_2"
    assert fields["Adresse e-mail"]["type"] == "email"
    assert fields["Adresse e-mail"]["label"] == {"fr": "Votre courriel", "en": "Votre courriel"}
    assert fields["Téléphone"]["type"] == "phone" and fields["Téléphone"]["name"] == "telephone"
    assert fields["3. Code postal"]["type"] == "postcode"
    assert fields["2e adresse"]["name"] == "f_2e_adresse"
    assert fields["3. Code postal"]["name"] == "code_postal"  # the last part after a dot
    assert fields["Pays"]["choices"][1] == {
        "value": "BE",
        "label": {"fr": "Belgique", "en": "Belgique"},
    }
    assert [name for name, _ in skeleton.skipped] == ["Total", "Print", "document_token"]
    assert form_id_of("5000-sd_4482.pdf") == "form-5000-sd-4482"
    assert form_id_of("Déclaration Annuelle.PDF") == "declaration-annuelle"
