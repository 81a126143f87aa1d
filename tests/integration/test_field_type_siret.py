"""A new field type in one module: a French SIRET number, online, in the PDF, on paper, in the API.

The proof of issue 12's "one place per field type": `SiretType` below is the whole type (14
digits, Luhn-checked, 14 comb cells grouped as SIREN + NIC), registered through the registry's
public `register_field_type`. No other file of the product knows it: the online form, the
fillable PDF, the paper layout, the scan reader's check and the API all take it from the
registry. The test CRM gets a `siret` column, and the test's own definition uses the type.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pypdf
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.connectors.interfaces import Selection
from forms_service.definitions.fieldtypes import (
    FIELD_TYPES,
    Choice,
    FieldType,
    FieldValueError,
    Rules,
    WidgetKind,
    register_field_type,
    unregister_field_type,
)
from forms_service.definitions.fieldtypes.base import ascii_forms
from forms_service.intake.mailroom.service import Upload
from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, PdfReturn, PdfReturnStatus, Submission
from tests.conftest import hidden_fields
from tests.integration.reviewing import add_token
from tests.mailroom_scans import as_pdf, as_png, issue, scanned_page
from tests.ocr_pages import Answers
from tests.pdf_forms import fill_with_pypdf
from tests.readers.returning import submission_of

FORM = "supplier-siret"
#: Real SIRET numbers (public company registry), each passing the Luhn check.
CURRENT = "73282932000074"
NEW = "44306184100047"
#: NEW with its last digit changed: 14 digits, but the Luhn check fails.
BAD_LUHN = "44306184100048"


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check that every SIRET passes."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


class SiretType(FieldType):
    """A French SIRET number: 14 digits (SIREN + NIC), Luhn-checked; shown 732 829 320 00074."""

    name = "siret"
    widget = WidgetKind.COMB
    ocr_charset = "0123456789"
    html_attributes = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
    paper_checked = True
    # Luhn catches every single misread digit: a passing reading carries its own proof.
    checksum = True
    name_hint = re.compile(r"siret", re.I)

    def normalise(self, text: str, rules: Rules, choices: Sequence[Choice]) -> str:
        digits = re.sub(r"[\s.-]", "", ascii_forms(text))
        if not re.fullmatch(r"[0-9]{14}", digits) or not luhn_valid(digits):
            raise FieldValueError("pattern")
        return digits

    def display(self, value: str | None, locale: str, choices: Sequence[Choice]) -> str:
        if not value or len(value) != 14:
            return value or ""
        return f"{value[:3]} {value[3:6]} {value[6:9]} {value[9:]}"

    def online_value(self, value: str | None, choices: Sequence[Choice]) -> object:
        return self.display(value, "fr", choices) if value else ""

    def comb_cells(self, rules: Rules) -> int | None:
        return 14

    def comb_groups(self, cells: int) -> tuple[int, ...]:
        return (3, 6, 9)

    def comb_captions(self) -> tuple[tuple[str, int, int], ...]:
        return (("SIREN", 0, 9), ("NIC", 9, 14))


DEFINITION = f"""\
id: {FORM}
version: 1
title: {{fr: Votre numéro SIRET, en: Your SIRET number}}
source: {{connector: crm, record_type: customer}}
key: customer_no
fields:
  - name: siret
    type: siret
    label: {{fr: Numéro SIRET, en: SIRET number}}
    maps_to: siret
    policy: review
"""


@pytest.fixture
def siret() -> Iterator[FieldType]:
    """The SIRET type, registered for one test."""
    registered = register_field_type(SiretType())
    yield registered
    unregister_field_type(registered.name)


@pytest.fixture
def app_settings(
    app_settings: dict[str, Any], crm_url: str, tmp_path: Path, siret: FieldType
) -> dict[str, Any]:
    """The demo CRM with a `siret` column, and a definitions folder with only the SIRET form."""
    with sqlite3.connect(crm_url.removeprefix("sqlite:///")) as crm:
        crm.execute("ALTER TABLE customers ADD COLUMN siret VARCHAR(14)")
        crm.execute("UPDATE customers SET siret = ?", (CURRENT,))
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / f"{FORM}.yaml").write_text(DEFINITION, encoding="utf-8")
    customer = DEMO_CRM_RECORD_TYPES["customer"]
    record_types = {"customer": {**customer, "columns": {**customer["columns"], "siret": "siret"}}}
    crm_settings = {**app_settings["CONNECTORS"]["crm"], "record_types": record_types}
    return {
        **app_settings,
        "DEFINITIONS_DIR": str(definitions),
        "CONNECTORS": {"crm": crm_settings},
        "JOBS_EAGER": True,
    }


def _issue(runtime: Runtime, key: str = "C000001") -> tuple[str, str]:
    (issued,) = runtime.issuing.issue(FORM, Selection(keys=(key,)), "test")
    return issued.document_id, issued.link.removeprefix("http://localhost")


def _input(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert found is not None, page
    return found.group(0)


def test_the_type_is_registered_in_one_place(siret: FieldType) -> None:
    assert FIELD_TYPES["siret"] is siret
    assert siret.parse("732 829 320 00074", Rules(), ()) == CURRENT
    with pytest.raises(FieldValueError) as refused:
        siret.parse(BAD_LUHN, Rules(), ())
    assert refused.value.key == "pattern"


def test_online_the_input_has_the_types_attributes_and_luhn_decides(
    client: FlaskClient, runtime: Runtime
) -> None:
    _, path = _issue(runtime)
    page = client.get(path)
    assert page.status_code == 200, page.text
    siret_input = _input(page.text, "siret")
    for attribute in ('inputmode="numeric"', 'autocomplete="off"', 'spellcheck="false"'):
        assert attribute in siret_input
    assert 'value="732 829 320 00074"' in siret_input  # the type's online value
    fields = hidden_fields(page.text)
    data = {"csrf_token": fields["csrf_token"], "base": fields["base"]}

    refused = client.post(path, data={**data, "siret": BAD_LUHN})
    assert refused.status_code == 422
    assert 'id="siret-error"' in refused.text and "Format incorrect." in refused.text
    assert 'aria-invalid="true"' in _input(refused.text, "siret")

    accepted = client.post(path, data={**data, "siret": "443 061 841 00047"})
    assert accepted.status_code == 303, accepted.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.channel == "online"
        assert submission.values["siret"] == NEW


def test_fillable_pdf_has_a_14_cell_comb_and_is_read_back(
    client: FlaskClient, runtime: Runtime
) -> None:
    document_id, path = _issue(runtime)
    pdf = runtime.printer.pdf_for(document_id)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    widget = next(
        annotation.get_object()
        for page in reader.pages
        for annotation in page.get("/Annots", [])
        if annotation.get_object().get("/T") == "siret"
    )
    assert widget["/MaxLen"] == 14
    assert int(widget["/Ff"]) & (1 << 24)  # the comb flag
    text = "".join(page.extract_text() for page in reader.pages)
    assert "SIREN" in text and "NIC" in text  # the type's captions under the cells

    filled = fill_with_pypdf(pdf, {"siret": NEW})
    upload = client.get(f"{path}/upload")
    assert upload.status_code == 200
    response = client.post(
        f"{path}/upload",
        data={
            "csrf_token": hidden_fields(upload.text)["csrf_token"],
            "file": (io.BytesIO(filled), "formulaire.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.channel == "pdf"
        assert submission.values["siret"] == NEW
        assert session.execute(select(PdfReturn)).scalar_one().status is PdfReturnStatus.READ

    other_id, other = _issue(runtime, "C000002")
    wrong = fill_with_pypdf(runtime.printer.pdf_for(other_id), {"siret": BAD_LUHN})
    page = client.get(f"{other}/upload")
    refused = client.post(
        f"{other}/upload",
        data={
            "csrf_token": hidden_fields(page.text)["csrf_token"],
            "file": (io.BytesIO(wrong), "formulaire.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Format incorrect." in refused.text


def test_on_paper_the_typed_digits_are_read_and_checked_by_the_type(runtime: Runtime) -> None:
    definition = runtime.definitions[FORM]
    geometry = runtime.issuing.layouts.geometry(definition).page(1)
    (zone,) = [z for z in geometry.zones if z.field == "siret"]
    assert zone.cells == 14 and zone.charset == "0123456789"
    block = next(b for b in runtime.issuing.layouts.layout(definition).blocks)
    assert block.groups == (3, 6, 9)
    assert [c.text_key for c in block.captions] == ["SIREN", "NIC"]

    good = issue(runtime, FORM, "C000001")
    bad = issue(runtime, FORM, "C000002")
    pages = [
        scanned_page(runtime, good, FORM, Answers(texts={"siret": NEW})),
        scanned_page(runtime, bad, FORM, Answers(texts={"siret": BAD_LUHN}), seed=1),
    ]
    runtime.mailroom.receive(
        [Upload("scan.pdf", as_pdf(pages[:1])), Upload("scan.png", as_png(pages[1]))],
        source="cli",
        actor="test",
    )

    read = submission_of(runtime, good)
    assert read.channel == "paper"
    assert read.values == {"siret": NEW}
    evidence = read.evidence["siret"]
    assert evidence["kind"] == "scan" and evidence["read"] == NEW
    # The Luhn check is a checksum: the reading stands on its own, no "unverifiable".
    assert "unverifiable" not in evidence["warnings"]
    assert "failed_check" not in evidence["warnings"]
    assert evidence["confidence"] > 0.5

    doubted = submission_of(runtime, bad).evidence["siret"]
    # The reader flags a reading its check refuses, and the type refuses the value.
    assert doubted["verdict"] == "pattern"
    assert "failed_check" in doubted["warnings"] or "corrected_by_check" in doubted["warnings"]
    assert doubted["confidence"] <= 0.5


def test_in_the_api_a_clerks_edit_is_checked_by_the_type(
    client: FlaskClient, runtime: Runtime
) -> None:
    integration = add_token(runtime, "crm-sync", ["integration"])
    issued = client.post(
        "/api/v1/documents",
        json={"form": FORM, "keys": ["C000003"]},
        headers={"Authorization": f"Bearer {integration}"},
    )
    assert issued.status_code == 201, issued.text
    assert issued.json is not None
    (document,) = issued.json["documents"]
    path = document["link"].removeprefix("http://localhost")
    page = client.get(path)
    fields = hidden_fields(page.text)
    answered = client.post(
        path, data={"csrf_token": fields["csrf_token"], "base": fields["base"], "siret": NEW}
    )
    assert answered.status_code == 303
    with runtime.sessions() as session:
        change_set_id = session.execute(select(ChangeSet.id)).scalar_one()
        submission_id = session.execute(select(Submission.id)).scalar_one()

    clerk = add_token(runtime, "review-bot", ["clerk"])
    auth = {"Authorization": f"Bearer {clerk}"}
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=auth)
    assert shown.status_code == 200 and shown.json is not None
    assert shown.json["values"]["siret"] == NEW

    version = runtime.changes.change_set(change_set_id).version
    field = f"/api/v1/change-sets/{change_set_id}/fields/siret"
    refused = client.patch(field, json={"version": version, "value": BAD_LUHN}, headers=auth)
    assert refused.status_code == 422
    assert refused.json is not None and refused.json["field"] == "siret"
    edited = client.patch(
        field, json={"version": version, "value": "552 100 554 00013"}, headers=auth
    )
    assert edited.status_code == 200, edited.text
    assert edited.json is not None
    row = next(r for r in edited.json["rows"] if r["field"] == "siret")
    assert row["proposed"] == "55210055400013" and row["edited_from"] == NEW
