"""Issue 17: a copy issued from a hybrid (AcroForm + XFA) template with Latin-1 state names.

Adobe Reader draws a hybrid's XFA layer when it has one; ours would carry the template's empty
XFA data, so the customer would see a blank form. The issued copy has no XFA left (the AcroForm,
which we fill, rules), still passes `qpdf --check`, opens and saves in pdf.js, and its button
states, written by an old tool in Latin-1, come back as the definition's choices.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import cast

import pypdf
import pytest
import yaml
from click.testing import CliRunner
from pypdf.generic import DictionaryObject

from forms_service.cli import cli
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definition
from forms_service.issuing.pdf_template import render_template_copy
from forms_service.pdfforms.acroform import read_pdf_form
from tests.raw_pdf import legacy_hybrid_form
from tests.readers.pdfjs_filler import fill_with_pdfjs


def _definition(tmp_path: Path, *, xfa: bool = True) -> FormDefinition:
    (tmp_path / "hybrid.pdf").write_bytes(legacy_hybrid_form(xfa=xfa))
    result = CliRunner().invoke(
        cli,
        ["definitions", "import-pdf", str(tmp_path / "hybrid.pdf"), "-o", str(tmp_path / "h.yaml")],
    )
    assert result.exit_code == 0, result.output
    skeleton = yaml.safe_load((tmp_path / "h.yaml").read_text(encoding="utf-8"))
    ville, statut = skeleton["fields"]
    assert [c["value"] for c in statut["choices"]] == ["Présent", "Résilié"]
    skeleton.update(
        source={"connector": "crm", "record_type": "customer"},
        key="customer_no",
        fields=[{**ville, "maps_to": "city"}, {**statut, "maps_to": "status"}],
    )
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(skeleton, allow_unicode=True))
    definition, problems = load_definition(tmp_path / "h.yaml")
    assert definition is not None, problems
    return definition


def test_issued_copy_of_a_hybrid_has_no_xfa_and_opens(tmp_path: Path) -> None:
    assert read_pdf_form(legacy_hybrid_form()).xfa
    copy = render_template_copy(
        _definition(tmp_path), {"ville": "Nantes", "statut": "Résilié"}, "a-token"
    )
    root = pypdf.PdfReader(io.BytesIO(copy)).root_object
    assert "/NeedsRendering" not in root
    assert "/XFA" not in cast(DictionaryObject, root["/AcroForm"].get_object())
    (tmp_path / "copy.pdf").write_bytes(copy)
    checked = subprocess.run(
        ["qpdf", "--check", str(tmp_path / "copy.pdf")], capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for reader in ("pdfplumber", "pypdf"):
        issued = read_pdf_form(copy, reader=reader)
        assert not issued.xfa
        assert issued.value("ville") == "Nantes"
        assert issued.value("statut") == "Résilié"  # the prefilled Latin-1 state found
        assert issued.fields["statut"].states == ("Présent", "Résilié")
    # The customer, in Firefox, ticks the other state and saves.
    # pdf.js names a state by its bytes, one character each: the copy's names are UTF-8.
    state = "Présent".encode().decode("latin-1")
    saved = fill_with_pdfjs(copy, {"statut": f"/{state}", "ville": "Lyon"})
    for reader in ("pdfplumber", "pypdf"):
        answered = read_pdf_form(saved, reader=reader)
        assert (answered.value("statut"), answered.value("ville")) == ("Présent", "Lyon")
        assert answered.value("document_token") == "a-token"


@pytest.mark.parametrize("reader", ["pdfplumber", "pypdf"])
def test_a_template_without_xfa_is_issued_as_before(tmp_path: Path, reader: str) -> None:
    definition = _definition(tmp_path, xfa=False)
    copy = read_pdf_form(
        render_template_copy(definition, {"statut": "Présent"}, "t"), reader=reader
    )
    assert copy.value("statut") == "Présent" and not copy.xfa
