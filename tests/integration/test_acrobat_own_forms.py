"""An organisation's own form, filled and saved by Adobe software, through the whole return path.

Acrobat cannot run here, so no copy we issued was ever saved by it. What can be tested is the
path for bytes Adobe software did write: `definitions import-pdf` on a public form that
Acrobat Pro 11 (pdfbox/acroform.pdf) or the Adobe PDF Library 8 (pdf-lib/sample_form.pdf)
filled and saved, an integrator's mapping, a document issued for a customer, then the
Adobe-saved file itself uploaded on that document's link (it carries no token of ours, so the
link identifies it). The submission must hold exactly what the Adobe software saved,
normalised, with the changes against the customer's snapshot.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from forms_service.cli import cli
from forms_service.connectors.interfaces import Selection
from forms_service.definitions.service import load_definition
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, PdfReturn, Submission
from tests.conftest import DEFINITIONS
from tests.pdf_forms import FIXTURES

ACROBAT = FIXTURES / "pdfbox" / "acroform.pdf"  # Adobe Acrobat Pro 11.0.18
PDF_LIBRARY = FIXTURES / "pdf-lib" / "sample_form.pdf"  # Adobe PDF Library 8.0


def _skeleton(pdf: Path, output: Path) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["definitions", "import-pdf", str(pdf), "-o", str(output)])
    assert result.exit_code == 0, result.output
    return {item["pdf_field"]: item for item in yaml.safe_load(output.read_text())["fields"]}


def _complete(folder: Path, form_id: str, pdf: Path, mapping: dict[str, dict[str, Any]]) -> None:
    """What an integrator does with the skeleton: pick fields, name and map them."""
    shutil.copy(pdf, folder / pdf.name)
    path = folder / f"{form_id}.yaml"
    fields = _skeleton(folder / pdf.name, path)
    skeleton = yaml.safe_load(path.read_text())
    chosen = []
    for pdf_name, changes in mapping.items():
        item = {**fields[pdf_name], **changes}
        if item["type"] in ("postcode", "email"):
            item.pop("rules", None)
        chosen.append(item)
    skeleton.update(
        id=form_id,
        source={"connector": "crm", "record_type": "customer"},
        key="customer_no",
        fields=chosen,
    )
    path.write_text(yaml.safe_dump(skeleton, allow_unicode=True))
    definition, problems = load_definition(path)
    assert definition is not None and not problems, problems


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "definitions"
    folder.mkdir()
    for path in DEFINITIONS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    _complete(
        folder,
        "acrobat-form",
        ACROBAT,
        {
            "TextField": {"name": "city", "maps_to": "city"},
            "CheckBox1": {"name": "consent_sms", "maps_to": "consent_sms"},
            "CheckBox2": {"name": "consent_email", "maps_to": "consent_email"},
        },
    )
    _complete(
        folder,
        "pdf-library-form",
        PDF_LIBRARY,
        {
            "Address_1": {"name": "address_line", "maps_to": "address_line"},
            "Address_2": {"name": "address_extra", "maps_to": "address_extra"},
            "ZIP": {"name": "postcode", "type": "postcode", "maps_to": "postcode"},
            "City": {"name": "city", "maps_to": "city"},
            "BACHELORS DEGREE": {"name": "consent_partners", "maps_to": "consent_partners"},
        },
    )
    return {**app_settings, "DEFINITIONS_DIR": str(folder)}


def _upload_on_link(runtime: Runtime, form_id: str, pdf: Path) -> tuple[Document, Any]:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=("C000003",)), "byo")
    with runtime.sessions() as session:
        document = session.get(Document, issued.document_id)
        assert document is not None
        session.expunge(document)
    link = runtime.issuing.token_for(document)
    receipt = runtime.pdf_returns.receive(
        pdf.read_bytes(), link_token=link, via="upload", actor="customer"
    )
    return document, receipt


def test_acrobat_saved_values_become_the_submission(runtime: Runtime) -> None:
    document, receipt = _upload_on_link(runtime, "acrobat-form", ACROBAT)
    assert read_pdf_form(ACROBAT.read_bytes()).producer == "Adobe Acrobat Pro 11.0.18"
    assert receipt.submission is not None
    values = receipt.submission.values
    assert values["city"] == "Heinz Mustermann"  # the text Acrobat saved in /V
    assert values["consent_sms"] == "true"  # on-state /Ja, Acrobat's own name
    assert values["consent_email"] == "false"  # /Off
    expected = [
        name
        for name in ("city", "consent_sms", "consent_email")
        if document.snapshot[name] != values[name]
    ]
    assert [change.field for change in receipt.changes] == expected
    assert receipt.submission.evidence["consent_sms"]["pdf_field"] == "CheckBox1"
    with runtime.sessions() as session:
        assert session.execute(select(Submission)).scalar_one().channel == "pdf"
        assert session.execute(select(PdfReturn)).scalar_one().document_id == document.id


def test_adobe_pdf_library_saved_values_become_the_submission(runtime: Runtime) -> None:
    document, receipt = _upload_on_link(runtime, "pdf-library-form", PDF_LIBRARY)
    assert receipt.submission is not None
    values = receipt.submission.values
    assert values["address_line"] == "133 Tin Drive"
    assert values["address_extra"] == "South Bay"
    assert values["postcode"] == "19283"
    assert values["city"] == "Timbuktu"
    assert values["consent_partners"] == "true"  # on-state /On
    changed = {change.field for change in receipt.changes}
    assert changed == {name for name, value in values.items() if document.snapshot[name] != value}
    assert "city" in changed and "address_line" in changed
