"""Issue a letter, send its filled PDF back over HTTP, and look at the change set it made."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from forms_service.accounts.service import create_api_token
from forms_service.cli import cli
from forms_service.connectors.interfaces import Selection
from forms_service.issuing.printing import DocumentPrinter
from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, FieldChangeRow, Submission
from tests.conftest import DEFINITIONS, hidden_fields
from tests.readers.pdfjs_filler import PdfjsValue

#: What a customer types and clicks in each shipped letter, and the change set it must give.
LETTERS: dict[str, tuple[dict[str, PdfjsValue], dict[str, str]]] = {
    "contact-update": (
        {
            "address_line": "3 place Bellecour",
            # "ᵉ" is not in the field's font: pdf.js then saves NeedAppearances instead of an
            # appearance stream for this field.
            "address_extra": "Bâtiment Œ, 2ᵉ étage",
            "postcode": "69002",  # comb fields
            "phone": "0612345678",  # the comb has 10 cells: the viewer takes no more
            "city": "Lyon",
            "email": "marie.dupont@example.fr",
        },
        {
            "address_line": "3 place Bellecour",
            "address_extra": "Bâtiment Œ, 2ᵉ étage",
            "postcode": "69002",
            "phone": "+33612345678",
            "city": "Lyon",
            "email": "marie.dupont@example.fr",
        },
    ),
    "consent-preferences": (
        {
            "consent_email": "/false",  # Oui/Non radio groups
            "consent_sms": "/true",
            "preferred_channel": "/post",  # a single choice
            "interests:credit": "/Yes",  # a multiple choice: one checkbox per option
            "interests:savings": "/Yes",
        },
        {
            "consent_email": "false",
            "consent_sms": "true",
            "preferred_channel": "post",
            "interests": "savings,credit",
        },
    ),
    "bank-details": (
        {
            "account_holder": "Marie-Noëlle Dupont",
            "iban": "FR7630006000011234567890189",  # a 34-cell comb field
            "mandate": "/true",
            "signature": "M.-N. Dupont",
        },
        {
            "account_holder": "Marie-Noëlle Dupont",
            "iban": "FR7630006000011234567890189",
            "mandate": "true",
        },
    ),
}


def issue(runtime: Runtime, form_id: str, key: str = "C000001") -> tuple[str, str]:
    """Issue one letter: (document id, link token)."""
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    return issued.document_id, issued.link.rsplit("/", 1)[1]


def letter(runtime: Runtime, document_id: str) -> bytes:
    """The PDF the customer received (letter and fillable form pages)."""
    return DocumentPrinter(runtime.issuing).pdf_for(document_id)


def challenge_answers(runtime: Runtime, form_id: str, key: str = "C000001") -> dict[str, str]:
    """The answers to the form's identity question, from the customer's record."""
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    answers = {}
    for item in runtime.definitions[form_id].challenge:
        value = record[item.maps_to]
        answers[item.name] = value.strftime("%d/%m/%Y") if hasattr(value, "strftime") else value
    return answers


def upload(client: FlaskClient, token: str, content: bytes, **fields: str) -> Any:
    """The customer's upload on the link's page (`/f/<token>/upload`), CSRF token included."""
    page = client.get(f"/f/{token}/upload")
    assert page.status_code == 200
    data: dict[str, Any] = {"csrf_token": hidden_fields(page.text)["csrf_token"], **fields}
    data["file"] = (io.BytesIO(content), "formulaire.pdf", "application/pdf")
    return client.post(f"/f/{token}/upload", data=data, content_type="multipart/form-data")


def post_return(client: FlaskClient, runtime: Runtime, content: bytes) -> Any:
    """The mailroom's `POST /api/v1/returns` without a link: the PDF must say which letter."""
    with runtime.sessions() as session, session.begin():
        name = f"mailroom-robot-{secrets.token_hex(4)}"
        token = create_api_token(session, name, ["mailroom"], now=dt.datetime.now(dt.UTC))
    # Encoded here: the test client spools a body over 500 KB to a temporary file it never
    # closes (a ResourceWarning); the service reads the same multipart request either way.
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content), "return.pdf", content_type="application/pdf")}
    )
    return client.post(
        "/api/v1/returns",
        data=body,
        headers={"Authorization": f"Bearer {token}"},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def proposed_changes(runtime: Runtime, document_id: str) -> dict[str, str | None]:
    """The change set proposed for the document's submission: proposed value by field."""
    with runtime.sessions() as session:
        submission = session.execute(
            select(Submission).where(Submission.document_id == document_id)
        ).scalar_one()
        change_set = session.execute(
            select(ChangeSet).where(ChangeSet.submission_id == submission.id)
        ).scalar_one()
        rows = session.execute(
            select(FieldChangeRow).where(FieldChangeRow.change_set_id == change_set.id)
        ).scalars()
        return {row.field: row.proposed for row in rows}


def submission_of(runtime: Runtime, document_id: str) -> Submission:
    """The one submission stored for a document."""
    with runtime.sessions() as session:
        found = session.execute(
            select(Submission).where(Submission.document_id == document_id)
        ).scalar_one()
        session.expunge(found)
        return found


def own_form_definitions(
    folder: Path, pdf: Path, form_id: str, mapping: Mapping[str, Mapping[str, Any]]
) -> Path:
    """The shipped definitions plus an organisation's own PDF form, imported and completed.

    Args:
        folder: where the definitions go (the PDF is copied beside them).
        pdf: the organisation's AcroForm PDF.
        form_id: the new definition's id.
        mapping: by PDF field full name, what the integrator sets on the skeleton's field
            (at least `name` and `maps_to`); fields not named are deleted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for path in DEFINITIONS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    shutil.copy(pdf, folder / f"{form_id}.pdf")
    output = folder / f"{form_id}.yaml"
    result = CliRunner().invoke(
        cli, ["definitions", "import-pdf", str(folder / f"{form_id}.pdf"), "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    skeleton = yaml.safe_load(output.read_text(encoding="utf-8"))
    by_pdf_name = {item["pdf_field"]: item for item in skeleton["fields"]}
    skeleton.update(
        id=form_id,
        source={"connector": "crm", "record_type": "customer"},
        key="customer_no",
        fields=[{**by_pdf_name[name], **changes} for name, changes in mapping.items()],
    )
    output.write_text(yaml.safe_dump(skeleton, allow_unicode=True), encoding="utf-8")
    return folder
