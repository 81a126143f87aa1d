"""What the real LibreOffice does with our letters and with forms made in LibreOffice.

Found by running it (LibreOffice 7.4, Debian's headless packages):
- A PDF opened in LibreOffice goes to Draw's PDF import, which keeps the page drawings, the
  widgets' appearances included, but no AcroForm: the letter exported again as PDF has no
  fields left (and so no token field). It is a "printed" return: stored as awaiting_scan and
  read by the mailroom, which identifies each page by its QR code and reads the answer boxes.
- A Writer document with form controls exports (writer_pdf_Export, ExportFormFields) to an
  AcroForm that `definitions import-pdf` turns into a definition, whose prefilled copies are
  filled in other readers and read back. LibreOffice exports list boxes with their labels
  only (the controls' values are lost) and checkbox on-states named after the control's value.
  Such a form, once opened in LibreOffice and exported, has neither fields nor a QR code: the
  mailroom keeps its page in the exception queue for an operator.

soffice starts twice in this module (the Writer form once, the returns once): ~2 s each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.cli import cli
from forms_service.intake.mailroom import queries
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from forms_service.storage.model import PdfReturn, PdfReturnStatus
from forms_service.storage.scans import PageStatus
from tests.pdf_forms import fill_with_pypdf
from tests.readers.libreoffice import convert_to_pdf
from tests.readers.pdfjs_filler import fill_many_with_pdfjs, fill_with_pdfjs
from tests.readers.returning import (
    issue,
    letter,
    own_form_definitions,
    post_return,
    proposed_changes,
    submission_of,
    upload,
)

WRITER_FORM = Path(__file__).parent / "libreoffice" / "contact-form.fodt"


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LibreOffice user profile for the module (made on the first start)."""
    return tmp_path_factory.mktemp("libreoffice-profile")


@pytest.fixture(scope="module")
def writer_form(tmp_path_factory: pytest.TempPathFactory, profile: Path) -> Path:
    """The organisation's contact form, exported from Writer to a fillable PDF."""
    (exported,) = convert_to_pdf(
        [WRITER_FORM],
        tmp_path_factory.mktemp("writer-form"),
        profile=profile,
        export='pdf:writer_pdf_Export:{"ExportFormFields":{"type":"boolean","value":"true"}}',
    )
    return exported


@pytest.fixture(scope="module")
def writer_form_definitions(tmp_path_factory: pytest.TempPathFactory, writer_form: Path) -> Path:
    """The shipped definitions plus the Writer form, imported and mapped to the CRM."""
    return own_form_definitions(
        tmp_path_factory.mktemp("definitions"),
        writer_form,
        "office-form",
        {
            "last_name": {"maps_to": "last_name"},
            "postcode": {"maps_to": "postcode"},
            "city": {"maps_to": "city"},
            "email": {"maps_to": "email"},
            "consent_email": {"maps_to": "consent_email"},
            "consent_sms": {"maps_to": "consent_sms"},
            "preferred_channel": {"maps_to": "preferred_channel"},
        },
    )


@pytest.fixture
def app_settings(app_settings: dict[str, Any], writer_form_definitions: Path) -> dict[str, Any]:
    """Pages are read in the caller (eager jobs); the Writer form is one of the definitions."""
    return {**app_settings, "DEFINITIONS_DIR": str(writer_form_definitions), "JOBS_EAGER": True}


def test_writer_form_becomes_a_definition_skeleton(writer_form: Path, tmp_path: Path) -> None:
    form = read_pdf_form(writer_form.read_bytes())
    assert form.producer is not None and form.producer.startswith("LibreOffice")
    result = CliRunner().invoke(
        cli, ["definitions", "import-pdf", str(writer_form), "-o", str(tmp_path / "o.yaml")]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "o.yaml").read_text(encoding="utf-8")
    fields = {item["pdf_field"]: item for item in yaml.safe_load(text)["fields"]}
    assert {name: item["type"] for name, item in fields.items()} == {
        "last_name": "text",
        "postcode": "postcode",  # guessed from the name
        "city": "text",
        "email": "email",
        "consent_email": "checkbox",
        "consent_sms": "checkbox",
        "preferred_channel": "choice",
        "interests": "multiple_choice",
    }
    assert fields["last_name"]["rules"] == {"max_length": 40}
    assert "consent_email: oui" in text  # the on-state is the control's value
    assert [c["value"] for c in fields["preferred_channel"]["choices"]] == ["email", "sms", "post"]
    # The list box's values are not exported: its labels are all a reader sees.
    assert [c["value"] for c in fields["interests"]["choices"]] == [
        "Épargne",
        "Assurance",
        "Crédit",
        "Retraite",
    ]


@pytest.mark.parametrize("filler", ["pypdf", "pdfjs"])
def test_writer_form_issued_prefilled_filled_and_read(
    client: FlaskClient, runtime: Runtime, filler: str
) -> None:
    document_id, _token = issue(runtime, "office-form", "C000005")
    copy = letter(runtime, document_id)
    prefilled = read_pdf_form(copy).fields
    sms_ticked = prefilled["consent_sms"].value is not None
    channel = "sms" if prefilled["preferred_channel"].value != "sms" else "email"
    values = {
        "city": "Saint-Étienne",
        "postcode": "42000",
        "consent_sms": "/Off" if sms_ticked else "/oui",
        "preferred_channel": f"/{channel}",
        "interests": ["Crédit"] if filler == "pdfjs" else "Crédit",
    }
    if filler == "pdfjs":
        filled = fill_with_pdfjs(copy, values)
    else:
        filled = fill_with_pypdf(copy, {k: str(v) for k, v in values.items() if k != "interests"})
    response = post_return(client, runtime, filled)
    assert response.status_code == 201, response.text
    submission = submission_of(runtime, document_id)
    assert submission.base["last_name"] == prefilled["last_name"].value
    assert submission.values["city"] == "Saint-Étienne"
    assert submission.values["postcode"] == "42000"
    assert submission.values["consent_sms"] == ("false" if sms_ticked else "true")
    assert submission.values["preferred_channel"] == channel
    assert submission.values["last_name"] == submission.base["last_name"]
    changes = proposed_changes(runtime, document_id)
    assert changes["city"] == "Saint-Étienne" and changes["preferred_channel"] == channel
    assert "last_name" not in changes
    if filler == "pdfjs":
        assert read_pdf_form(filled).fields["interests"].value == "Crédit"


def _pages(runtime: Runtime) -> list[queries.PageView]:
    with runtime.sessions() as session:
        (batch,) = queries.batches(session)
        assert batch.source == "pdf_return"
        return list(queries.batch(session, batch.id).pages)


def test_pdfs_opened_and_exported_by_libreoffice_go_to_the_mailroom(
    client: FlaskClient, runtime: Runtime, profile: Path, tmp_path: Path
) -> None:
    consent_id, consent_token = issue(runtime, "consent-preferences", "C000001")
    contact_id, _ = issue(runtime, "contact-update", "C000002")
    own_id, _ = issue(runtime, "office-form", "C000005")
    # Filled in Firefox first, then opened in LibreOffice and exported as PDF.
    filled = fill_many_with_pdfjs(
        [
            (
                letter(runtime, consent_id),
                {"consent_sms": "/true", "preferred_channel": "/post", "interests:credit": "/Yes"},
            ),
            (
                letter(runtime, contact_id),
                {"address_line": "3 PLACE BELLECOUR", "postcode": "69002", "city": "LYON"},
            ),
        ]
    )
    own = fill_with_pypdf(letter(runtime, own_id), {"city": "Saint-Étienne"})
    inputs = []
    for name, content in zip(("consent", "contact", "own"), [*filled, own], strict=True):
        (tmp_path / f"{name}.pdf").write_bytes(content)
        inputs.append(tmp_path / f"{name}.pdf")
    consent, contact, own_exported = (
        p.read_bytes() for p in convert_to_pdf(inputs, tmp_path / "out", profile=profile)
    )
    for exported in (consent, contact, own_exported):
        form = read_pdf_form(exported)
        assert form.producer is not None and form.producer.startswith("LibreOffice")
        # Draw's PDF import keeps no AcroForm. Should a newer LibreOffice keep the fields,
        # their values must be read instead: this test and docs/pdf-returns.md then change.
        assert not form.has_fields, "LibreOffice kept the form fields"

    # On the link: stored for the mailroom, which reads the ticks drawn by LibreOffice.
    response = upload(client, consent_token, consent)
    assert response.status_code == 202
    assert 'data-status="awaiting_scan"' in response.text
    letter_page, form_page = _pages(runtime)
    assert letter_page.exception == "covering_letter"  # identified, then set aside
    assert (form_page.status, form_page.document_id) == (PageStatus.SUBMITTED, consent_id)
    assert (form_page.form_id, form_page.form_page) == ("consent-preferences", 1)
    answered = submission_of(runtime, consent_id)
    assert answered.channel == "pdf_scan"  # a PDF return, read by scan
    # Read as the page (layout 2) says: the ticked Yes of credit adds credit to the options
    # on record, the options left empty keep their state.
    on_record = runtime.definitions["consent-preferences"].field("interests").type
    kept = on_record.options_on_record(answered.base.get("interests"))
    interests = ("savings", "insurance", "credit", "retirement")
    assert answered.values == {
        "consent_sms": "true",
        "preferred_channel": "post",
        "interests": ",".join(o for o in interests if o in kept | {"credit"}),
    }

    # Posted by the mailroom without a link: no field, no token left; the QR codes tell.
    response = post_return(client, runtime, contact)
    assert response.status_code == 202, response.text
    assert response.get_json()["status"] == "awaiting_scan"
    read = submission_of(runtime, contact_id)
    with runtime.sessions() as session:
        stored = session.execute(select(PdfReturn)).scalars().all()
        # Each return names the document its QR codes named, and the paper answer read.
        assert {(r.status, r.document_id, r.submission_id) for r in stored} == {
            (PdfReturnStatus.SCANNED, consent_id, answered.id),
            (PdfReturnStatus.SCANNED, contact_id, read.id),
        }
    assert read.values == {"address_line": "3 PLACE BELLECOUR", "postcode": "69002", "city": "LYON"}
    # Read by OCR from the drawn appearance, not from a field: a clerk looks first.
    assert all(read.evidence[f]["kind"] == "scan" for f in read.values)
    assert all(read.evidence[f]["confidence"] < 0.9 for f in ("address_line", "city"))

    # An organisation's own form has no QR code: its page waits for an operator, kept.
    response = post_return(client, runtime, own_exported)
    assert response.status_code == 202, response.text
    with runtime.sessions() as session:
        (batch,) = [b for b in queries.batches(session) if b.counts.get("exception")]
        (page,) = queries.batch(session, batch.id).pages
    assert (page.status, page.exception) == (PageStatus.EXCEPTION, "unreadable_code")
