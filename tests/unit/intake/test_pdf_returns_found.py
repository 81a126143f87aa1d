"""Issue 17, PDF returns: names in a legacy 8-bit encoding, and a /V emptied under its old drawing.

The files are written byte by byte (tests/raw_pdf.py): no filler writes these on request, but
old Latin-1 tools and some fillers do.
"""

from __future__ import annotations

import dataclasses

import pytest

from forms_service.definitions.service import load_definition
from forms_service.intake.pdf.answers import read_answers
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.model import PdfFieldKind, ValueSource
from forms_service.pdfforms.names import name_text, pdfminer_key_bytes, pypdf_name_bytes
from tests.conftest import DEFINITIONS
from tests.raw_pdf import form, reindex, stream, text_drawing

READERS = ["pdfplumber", "pypdf"]
_BOX = b"/Type /XObject /Subtype /Form /BBox [0 0 14 14]"
_ON = stream(b"0 g 2 2 10 10 re f", _BOX)
_OFF = stream(b"", _BOX)


def _radio(value: bytes, first: bytes, second: bytes, shown: bytes) -> bytes:
    """A radio group (7) of two widgets (8, 9) whose states are `first` and `second`."""
    return form(
        [b"<< /FT /Btn /Ff 49152 /T (statut) /V /" + value + b" /Kids [8 0 R 9 0 R] >>"],
        [
            b"<< /Type /Annot /Subtype /Widget /Parent 7 0 R /Rect [50 700 64 714] /P 3 0 R"
            b" /AS /" + shown + b" /AP << /N << /" + first + b" 10 0 R /Off 11 0 R >> >> >>",
            b"<< /Type /Annot /Subtype /Widget /Parent 7 0 R /Rect [80 700 94 714] /P 3 0 R"
            b" /AS /Off /AP << /N << /" + second + b" 10 0 R /Off 11 0 R >> >> >>",
            _ON,
            _OFF,
        ],
    )


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param((b"Pr#E9sent", b"Pr#E9sent", b"R#E9sili#E9"), id="escaped"),
        pytest.param((b"Pr\xe9sent", b"Pr\xe9sent", b"R\xe9sili\xe9"), id="raw-bytes"),
        # /V escaped, the /AP key written raw: the same bytes, so the same state.
        pytest.param((b"Pr#e9sent", b"Pr\xe9sent", b"R#E9sili#E9"), id="mixed"),
    ],
)
def test_radio_state_in_latin1_is_read_by_both_parsers(
    reader: str, spelling: tuple[bytes, bytes, bytes]
) -> None:
    value, first, second = spelling
    found = read_pdf_form(_radio(value, first, second, first), reader=reader).fields["statut"]
    assert found.kind is PdfFieldKind.RADIO
    assert found.states == ("Présent", "Résilié")
    assert (found.value, found.source) == ("Présent", ValueSource.VALUE)


@pytest.mark.parametrize("reader", READERS)
def test_latin1_state_shown_only_by_as_is_read(reader: str) -> None:
    """/V Off (or absent): the widget's /AS names the ticked state, compared as bytes."""
    pdf = _radio(b"Off", b"R#E9sili#E9", b"Pr#E9sent", b"R#E9sili#E9")
    found = read_pdf_form(pdf, reader=reader).fields["statut"]
    assert (found.value, found.source) == ("Résilié", ValueSource.STATE)


@pytest.mark.parametrize("reader", READERS)
def test_utf8_states_are_unchanged(reader: str) -> None:
    pdf = _radio(b"Pr#C3#A9sent", b"Pr#C3#A9sent", "Résilié".encode(), b"Pr#C3#A9sent")
    found = read_pdf_form(pdf, reader=reader).fields["statut"]
    assert found.states == ("Présent", "Résilié") and found.value == "Présent"


@pytest.mark.parametrize("reader", READERS)
def test_latin1_checkbox_state(reader: str) -> None:
    pdf = form(
        [
            b"<< /FT /Btn /T (accord) /V /Accept#E9 /AS /Accept#E9 /Type /Annot /Subtype /Widget"
            b" /Rect [50 700 64 714] /P 3 0 R /AP << /N << /Accept#E9 8 0 R /Off 9 0 R >> >> >>"
        ],
        [_ON, _OFF],
    )
    found = read_pdf_form(pdf, reader=reader).fields["accord"]
    assert (found.kind, found.value, found.states) == (
        PdfFieldKind.CHECKBOX,
        "Accepté",
        ("Accepté",),
    )


def test_name_bytes_and_their_text() -> None:
    assert name_text(b"Pr\xe9sent") == "Présent"
    assert name_text("Présent".encode()) == "Présent"
    assert name_text(b"\x80\x9f") == "•\x9f"  # PDFDocEncoding, Latin-1 where it has no character
    assert pdfminer_key_bytes("b'Pr\\xe9sent'") == b"Pr\xe9sent"
    assert pdfminer_key_bytes("b'plain'") == b"b'plain'"  # a real key spelled so
    # pypdf reads b"Pr\xe9sent" as GBK ("Pr閟ent"): back to the bytes, unless the file spells
    # the name in UTF-8.
    assert pypdf_name_bytes("Pr閟ent", b"/Pr#E9sent") == b"Pr\xe9sent"
    assert pypdf_name_bytes("中文", "/中文".encode()) == "中文".encode()


# -- a text field emptied while its old appearance stayed ----------------------------------------


def _text_field(value: bytes) -> bytes:
    return form(
        [
            b"<< /FT /Tx /T (ville) " + value + b" /Type /Annot /Subtype /Widget"
            b" /Rect [50 700 250 720] /P 3 0 R /DA (/Helv 10 Tf 0 g) /AP << /N 8 0 R >> >>"
        ],
        [text_drawing(b"Lyon")],
    )


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("empty", [b"/V ()", b"/V <FEFF>", b"/V (   )"])
def test_emptied_value_wins_over_the_old_appearance(reader: str, empty: bytes) -> None:
    found = read_pdf_form(_text_field(empty), reader=reader).fields["ville"]
    assert (found.value, found.source) == (None, ValueSource.VALUE)


@pytest.mark.parametrize("reader", READERS)
def test_no_value_at_all_still_reads_the_appearance(reader: str) -> None:
    found = read_pdf_form(_text_field(b""), reader=reader).fields["ville"]
    assert (found.value, found.source) == ("Lyon", ValueSource.APPEARANCE)


@pytest.mark.parametrize("reader", READERS)
def test_emptied_box_of_a_prefilled_copy_clears_the_value(reader: str) -> None:
    """At the seam: the emptied city is an answer (here refused, the city being required)."""
    definition, problems = load_definition(DEFINITIONS / "contact-update.yaml")
    assert definition is not None, problems
    own = dataclasses.replace(definition, pdf_template="/forms/own.pdf")
    pdf = _text_field(b"/V ()").replace(b"(ville)", b"(city) ")
    returned = read_pdf_form(reindex(pdf), reader=reader)
    answers, refused = read_answers(own, returned, {"city": "Lyon"}, file_key="k.pdf")
    assert [(p.field, p.key) for p in refused] == [("city", "required")]
    assert "city" not in {a.field for a in answers}  # never "Lyon, unchanged"
