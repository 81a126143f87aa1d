"""What is printed is what is read (issue 17): a field's `channels` rule paper and scans alike.

Over every shipped definition: the print file (what is posted) carries the fields answered on
paper and no other, and the mailroom reads a scanned letter in exactly those fields' zones
(a flattened PDF return in the PDF fields'). The layout itself is frozen per version
(test_layout_versions.py): a PDF-only field keeps its place, left blank on paper.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pypdf
import pytest

from forms_service.definitions.model import Channel, FormDefinition
from forms_service.definitions.service import load_definitions
from forms_service.issuing.layout import answer_zones, form_geometry, layout
from forms_service.issuing.letter import letter_of
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.pdf import DocumentContent, PdfRenderer
from forms_service.issuing.tokens import SigningKey

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = load_definitions(ROOT / "form_definitions")
RENDERER = PdfRenderer(PageCodes([SigningKey.parse("k1:" + "a" * 40)]), locale="fr")
CONTENT = DocumentContent(
    document_id="AbCdEfGhIjKlMnOpQrStUv",
    reference="7Q4-K2M-98X",
    token="token",
    link="https://forms.example.org/f/token",
    snapshot={},
    record={},
    issued_on=dt.date(2026, 12, 7),
)


def _form_text(pdf: bytes) -> str:
    """The text of the form pages (the covering letter, page 1, left out)."""
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages[1:]
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pages)


def _print_file(definition: FormDefinition) -> bytes:
    """The document as a campaign's print file draws it (no widgets): what is posted."""
    buffer = io.BytesIO()
    canvas = RENDERER.new_canvas(buffer, title=definition.id)
    RENDERER.draw(canvas, definition, letter_of(definition), CONTENT, fillable=False)
    canvas.save()
    return buffer.getvalue()


def _label(definition: FormDefinition, name: str) -> str:
    return definition.field(name).label_in("fr")[:18]


def test_a_shipped_definition_has_a_field_kept_off_paper() -> None:
    """The rule is exercised: a mandate answered online and in the PDF only."""
    assert any(
        Channel.PAPER not in f.channels and Channel.PDF in f.channels
        for d in DEFINITIONS.values()
        for f in d.fields
    )


@pytest.mark.parametrize("form_id", sorted(DEFINITIONS))
def test_the_paper_form_prints_and_the_reader_reads_the_paper_fields_only(form_id: str) -> None:
    definition = DEFINITIONS[form_id]
    paper = {f.name for f in definition.fields_for(Channel.PAPER)}
    pdf = {f.name for f in definition.fields_for(Channel.PDF)}
    laid_out = {block.field for block in layout(definition).blocks}
    assert paper <= laid_out

    pages = form_geometry(definition).pages
    read = {z.field for page in pages for z in answer_zones(definition, page).zones}
    assert read == paper
    returned = {
        z.field for page in pages for z in answer_zones(definition, page, Channel.PDF).zones
    }
    assert returned == pdf & laid_out

    printed = _form_text(_print_file(definition))
    for name in laid_out:
        assert (_label(definition, name) in printed) == (name in paper), name
    assert "en ligne uniquement" not in printed


@pytest.mark.parametrize("form_id", sorted(DEFINITIONS))
def test_the_fillable_copy_says_which_fields_are_not_read_on_paper(form_id: str) -> None:
    definition = DEFINITIONS[form_id]
    copy = RENDERER.render(definition, letter_of(definition), CONTENT)
    text = _form_text(copy)
    fields = pypdf.PdfReader(io.BytesIO(copy)).get_fields() or {}
    for block in layout(definition).blocks:
        field = definition.field(block.field)
        assert _label(definition, field.name) in text
        if Channel.PAPER not in field.channels:
            # Still fillable (its PDF channel), and marked as not read from a scan.
            assert field.name in fields
            assert f"{field.label_in('fr')} (PDF ou en ligne uniquement)" in text
