"""Bring your own PDF form: import a public AcroForm as a definition, issue it prefilled, read it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from forms_service.cli import cli
from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import ConfigurationError
from forms_service.definitions.service import load_definition
from forms_service.issuing.pdf_template import render_template_copy
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, PdfReturn, Submission
from tests.conftest import DEFINITIONS
from tests.pdf_forms import FIXTURES, fill_with_pypdf

SAMPLE = FIXTURES / "pypdfform" / "sample_template_with_comb_text_field.pdf"


def _import(pdf: Path, output: Path) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["definitions", "import-pdf", str(pdf), "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def _by_pdf_name(skeleton: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["pdf_field"]: item for item in skeleton["fields"]}


def test_french_tax_form(tmp_path: Path) -> None:
    skeleton, text = _import(FIXTURES / "french-dgfip" / "5000-sd_4482.pdf", tmp_path / "5000.yaml")
    fields = _by_pdf_name(skeleton)
    assert skeleton["id"] == "form-5000-sd-4482"
    assert (tmp_path / skeleton["pdf_template"]).resolve() == (
        FIXTURES / "french-dgfip" / "5000-sd_4482.pdf"
    ).resolve()
    assert fields["a1"]["type"] == "text" and fields["cac2"]["type"] == "checkbox"
    assert "cac2: A, B" in text  # the checkbox's states, for the integrator
    assert "a1a: read-only" in text  # the copies the form computes itself are left out
    assert all("maps_to" not in item for item in skeleton["fields"])


def test_xfa_hybrid_with_hierarchical_names(tmp_path: Path) -> None:
    skeleton, _ = _import(FIXTURES / "pdfjs" / "annotation-text-widget.pdf", tmp_path / "x.yaml")
    fields = _by_pdf_name(skeleton)
    comb = fields["formulier1[0].#subform[0].Tekstveld6[0]"]
    assert comb["name"] == "tekstveld6"
    assert comb["rules"] == {"max_length": 26}
    assert fields["formulier1[0].#subform[0].Tekstveld2[0]"]["rules"] == {"max_length": 10}


def test_acrobat_choices_and_export_values(tmp_path: Path) -> None:
    skeleton, text = _import(FIXTURES / "pdfbox" / "acroform.pdf", tmp_path / "a.yaml")
    fields = _by_pdf_name(skeleton)
    assert [c["value"] for c in fields["GroupOption"]["choices"]] == ["Option1", "Option2"]
    assert fields["ListBoxMultiSelect"]["type"] == "multiple_choice"
    assert [c["value"] for c in fields["ListBox"]["choices"]] == ["ABC", "XYZ", "123"]
    assert fields["Signature"]["type"] == "signature"
    assert "checkbox1: Ja" in text and "Button: a push button" in text


def test_pdf_lib_radio_with_export_values_in_opt(tmp_path: Path) -> None:
    skeleton, _ = _import(FIXTURES / "pdf-lib" / "create_form.pdf", tmp_path / "p.yaml")
    rocket = _by_pdf_name(skeleton)["favorite.rocket"]
    assert rocket["name"] == "rocket" and rocket["type"] == "choice"
    assert [c["value"] for c in rocket["choices"]][:2] == ["Falcon Heavy", "Saturn IV"]


def test_libreoffice_and_pypdf_saved_forms(tmp_path: Path) -> None:
    office, _ = _import(FIXTURES / "pypdf" / "FormTestFromOo.pdf", tmp_path / "o.yaml")
    assert _by_pdf_name(office)["RadioGroup1"]["type"] == "choice"
    uscis, _ = _import(FIXTURES / "pypdfform" / "PPF-1162.pdf", tmp_path / "u.yaml")
    email = _by_pdf_name(uscis)["form1[0].#subform[6].Part10_Item5_Email[0]"]
    assert email["type"] == "email"  # guessed from the name
    names = [item["name"] for item in uscis["fields"]]
    assert len(names) == len(set(names))


def test_import_refuses_files_without_fields(tmp_path: Path) -> None:
    flat = CliRunner().invoke(
        cli, ["definitions", "import-pdf", str(FIXTURES / "pdf-lib" / "flatten_form.pdf")]
    )
    assert flat.exit_code == 1 and "no form fields" in flat.output
    text = tmp_path / "notes.pdf"
    text.write_bytes(b"not a pdf")
    bad = CliRunner().invoke(cli, ["definitions", "import-pdf", str(text)])
    assert bad.exit_code == 1 and "not a PDF" in bad.output


def test_import_explains_xfa_only_forms() -> None:
    xfa = CliRunner().invoke(
        cli, ["definitions", "import-pdf", str(FIXTURES / "pdfjs" / "xfa_issue14315.pdf")]
    )
    assert xfa.exit_code == 1 and "XFA-only (dynamic) form" in xfa.output


def _completed(tmp_path: Path) -> Path:
    """The skeleton of a public form, completed by an integrator for the demo CRM."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    for path in DEFINITIONS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    shutil.copy(SAMPLE, folder / "sample.pdf")
    skeleton, _ = _import(folder / "sample.pdf", folder / "byo-form.yaml")
    fields = _by_pdf_name(skeleton)
    first_name = {**fields["FirstName"], "name": "first_name", "maps_to": "first_name"}
    postcode = {**fields["LastName"], "name": "postcode", "type": "postcode", "maps_to": "postcode"}
    postcode.pop("rules")
    consent = {**fields["Awesomeness"], "name": "consent_email", "maps_to": "consent_email"}
    skeleton.update(
        id="byo-form",
        source={"connector": "crm", "record_type": "customer"},
        key="customer_no",
        fields=[first_name, postcode, consent],
    )
    (folder / "byo-form.yaml").write_text(yaml.safe_dump(skeleton, allow_unicode=True))
    definition, problems = load_definition(folder / "byo-form.yaml")
    assert not problems and definition is not None
    assert definition.pdf_template == str((folder / "sample.pdf").resolve())
    assert definition.pdf_name("first_name") == "FirstName"
    return folder


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "DEFINITIONS_DIR": str(_completed(tmp_path))}


def test_issue_a_prefilled_copy_and_read_it_back(runtime: Runtime) -> None:
    definition = runtime.definitions["byo-form"]
    (issued,) = runtime.issuing.issue("byo-form", Selection(keys=("C000003",)), "byo")
    with runtime.sessions() as session:
        document = session.get(Document, issued.document_id)
        assert document is not None
    token = runtime.issuing.token_for(document)
    copy = runtime.printer.pdf_for(document.id)
    direct = render_template_copy(definition, document.snapshot, token)
    assert read_pdf_form(copy).fields == read_pdf_form(direct).fields
    prefilled = read_pdf_form(copy)
    assert prefilled.fields["FirstName"].value == document.snapshot["first_name"]
    assert prefilled.fields["LastName"].value == document.snapshot["postcode"]
    ticked = document.snapshot["consent_email"] == "true"
    assert (prefilled.fields["Awesomeness"].value is not None) is ticked
    assert prefilled.fields["document_token"].value == token
    assert prefilled.fields["document_token"].hidden
    # The customer corrects the first name and flips the consent box, in any PDF reader.
    answered = fill_with_pypdf(
        copy, {"FirstName": "Zoé", "Awesomeness": "/Off" if ticked else "/Yes"}
    )
    receipt = runtime.pdf_returns.receive(answered, link_token=None, via="api", actor="api:robot")
    assert receipt.submission is not None
    assert receipt.submission.values["first_name"] == "Zoé"
    assert receipt.submission.values["postcode"] == document.snapshot["postcode"]
    assert receipt.submission.values["consent_email"] == ("false" if ticked else "true")
    assert [c.field for c in receipt.changes] == ["first_name", "consent_email"]
    assert receipt.submission.evidence["first_name"]["pdf_field"] == "FirstName"
    with runtime.sessions() as session:
        stored = session.execute(select(Submission)).scalar_one()
        assert stored.channel == "pdf"
        assert session.execute(select(PdfReturn)).scalar_one().document_id == document.id


def test_definition_problems_name_the_pdf_keys(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "id: broken\nversion: 1\ntitle: {fr: T, en: T}\n"
        "source: {connector: crm, record_type: customer}\nkey: customer_no\n"
        "pdf_template: missing.pdf\n"
        "fields:\n  - {name: city, type: text, label: {fr: V, en: C}, maps_to: city, pdf_field: 3}\n"
    )
    definition, problems = load_definition(path)
    assert definition is None
    messages = [str(p) for p in problems]
    assert any("'pdf_template' 'missing.pdf' does not exist" in m for m in messages)
    assert any("field 'city': 'pdf_field' must give the full name" in m for m in messages)


def test_a_pdf_field_the_template_lacks_is_named(runtime: Runtime) -> None:
    definition = runtime.definitions["byo-form"]
    fields = tuple(
        dataclasses.replace(f, pdf_field="Nope") if f.name == "first_name" else f
        for f in definition.fields
    )
    with pytest.raises(ConfigurationError, match="pdf_field 'Nope' not found"):
        render_template_copy(dataclasses.replace(definition, fields=fields), {}, "token")


def test_prefilled_copy_writes_dates_as_printed_and_leaves_signatures(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "pdfbox" / "acroform.pdf", tmp_path / "acroform.pdf")
    skeleton, _ = _import(tmp_path / "acroform.pdf", tmp_path / "own.yaml")
    fields = _by_pdf_name(skeleton)
    birth = {**fields["TextField"], "name": "birth_date", "type": "date", "maps_to": "birth_date"}
    skeleton.update(
        source={"connector": "crm", "record_type": "customer"},
        key="customer_no",
        fields=[birth, fields["Signature"], {**fields["CheckBox2"], "maps_to": "consent_sms"}],
    )
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(skeleton, allow_unicode=True))
    definition, problems = load_definition(tmp_path / "own.yaml")
    assert definition is not None, problems
    snapshot = {"birth_date": "1980-05-17", "checkbox2": "true"}
    copy = read_pdf_form(render_template_copy(definition, snapshot, "a-token"))
    assert copy.fields["TextField"].value == "17/05/1980"
    assert copy.fields["CheckBox2"].value == "Ja"  # the form's own on-state
    assert copy.fields["Signature"].value is None  # a signature field is left as it was
    assert copy.fields["document_token"].value == "a-token"
