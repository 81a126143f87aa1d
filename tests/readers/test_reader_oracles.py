"""Our reader against two independent ones (pdftk-java, PDFium) on real forms filled by Acrobat.

Acrobat cannot run here, so our own letters were never filled in it; these public forms were
filled and saved by Adobe products (Acrobat Pro/DC, Reader, Distiller, LiveCycle hybrids, the
Adobe PDF Library) and a few other producers. For every field with a value to return (push
buttons and signatures aside), our value must equal what pdftk and PDFium report, except for the
differences listed in KNOWN, each checked against the raw objects (qpdf --qdf, pypdf) and
explained. A known difference that disappears fails too, so the list cannot go stale.
"""

from __future__ import annotations

import functools

import pytest

from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.model import PdfField, PdfFieldKind, PdfForm
from tests.pdf_forms import FIXTURES
from tests.pdf_oracles import OracleField, read_with_pdfium, read_with_pdftk

#: (fixture, producer as the file says) — Adobe products first, then other producers.
FORMS = {
    "pdfbox/acroform.pdf": "Adobe Acrobat Pro 11.0.18",
    "pdfbox/AcrobatMerge-DifferentExportValues.pdf": "Adobe Acrobat 10.272",
    "pdfbox/ControlCharacters.pdf": "Adobe Acrobat 10.272",
    "pdfbox/FillFormField.pdf": "Adobe Acrobat 10.268",
    "pdfbox/CombTest.pdf": "Adobe Acrobat Pro 11.0.23",
    "pdfjs/bug1675139.pdf": "Adobe Acrobat Pro DC (64-bit) 22.1.20117",
    "pdfjs/issue15092.pdf": "Adobe Acrobat Pro DC (64-bit) 22.1.20117",
    "pdfjs/issue15815.pdf": "Adobe Acrobat Pro (64-bit) 22.3.20282",
    "pdfjs/issue15818.pdf": "Adobe Acrobat Pro (64-bit) 22.3.20282",
    "pdfjs/resetform.pdf": "Adobe Acrobat Pro DC (32-bit) 21.7.20091",
    "pdfjs/listbox_actions.pdf": "Adobe Acrobat Pro DC 20.13.20074",
    "pdfjs/pr12828.pdf": "Adobe Acrobat Pro DC 20.13.20074",
    "pdfjs/dates_save.pdf": "Adobe Acrobat (64-bit) 25.1.20577",
    "pdfjs/bug1770750.pdf": "Adobe Acrobat Pro (64-bit) 22.3.20314",
    "pdfjs/issue19083.pdf": "Adobe Acrobat Pro (64-bit) 24.4.20272",
    "pdfjs/issue15053.pdf": "Acrobat Distiller 10.1.16 (Windows)",
    "pdfjs/annotation-text-widget.pdf": "Adobe LiveCycle Designer ES 9.0",
    "pdfjs/annotation-choice-widget.pdf": "Adobe LiveCycle Designer ES 9.0",
    "pdfjs/annotation-button-widget.pdf": "Adobe LiveCycle Designer ES 9.0",
    "pdfjs/bug1815476.pdf": "Adobe LiveCycle Designer 11.0",
    "pdf-lib/sample_form.pdf": "Adobe PDF Library 8.0",
    "pdf-lib/fancy_fields.pdf": "Acrobat Pro DC 20.12.20043",
    "pypdfform/sample_template_with_comb_text_field.pdf": "Adobe Acrobat Pro DC 15.6.30527",
    "pdf-lib/create_form.pdf": "pdf-lib (https://github.com/Hopding/pdf-lib)",
    "pdfjs/opt_demo.pdf": "",
    "pdfjs/checkbox-bad-appearance.pdf": "mPDF 8.1.2",
    "pdfjs/issue16067.pdf": "Foxit PDF Editor - Foxit Software Inc.",
    "pdfjs/issue12750.pdf": "pdfTeX-1.40.21",
    "pdfjs/issue18036.pdf": "DynamicPDF Core Suite (Generator, Merger and ReportWriter) for .NET v12.15",
}

_STRAY_WIDGET_V = (
    "a widget without /T (not a field) carries its own /V; pdftk merges it into the field's "
    "values, PDFium and we read the field's /V only (ISO 32000-1 12.7.3.1: /V is a field entry)"
)
_APPEARANCE_ONLY = (
    "/V is absent and the text lives only in the widget's /AP /N stream (Acrobat drew it); we "
    "read the drawn text, both oracles report no value"
)
_PDFDOC_DIACRITIC = (
    "bytes 0x18-0x1F are breve, caron... in PDFDocEncoding (ISO 32000-1 Table D.2); PDFium and "
    "we decode them so, pdftk passes the raw control character through"
)

#: (fixture, oracle, field) -> (our value, the oracle's value, why we are right).
KNOWN: dict[tuple[str, str, str], tuple[str | None, str | None, str]] = {
    ("pdfbox/AcrobatMerge-DifferentExportValues.pdf", "pdftk", "Country"): (
        "C",
        "C,46",
        _STRAY_WIDGET_V + " (Acrobat merged a second copy of the field in as a widget)",
    ),
    ("pdfjs/issue15092.pdf", "pdftk", "total"): ("232324", "232324,3", _STRAY_WIDGET_V),
    ("pdfbox/ControlCharacters.pdf", "pdftk", "acrobat-dc2"): (
        "DC2\u02d8DC2",
        "DC2\x18DC2",
        _PDFDOC_DIACRITIC,
    ),
    ("pdfbox/ControlCharacters.pdf", "pdftk", "acrobat-dc3"): (
        "DC3\u02c7DC3",
        "DC3\x19DC3",
        _PDFDOC_DIACRITIC,
    ),
    ("pdfjs/issue15818.pdf", "pdftk", "Text9"): ("hello world", None, _APPEARANCE_ONLY),
    ("pdfjs/issue15818.pdf", "pdfium", "Text9"): ("hello world", None, _APPEARANCE_ONLY),
    ("pdfjs/opt_demo.pdf", "pdftk", "veg"): (
        "Potato",
        "<absent>",
        "the radio group `veg` is missing from /Fields, which lists its two widgets (no /T, "
        "/Parent veg) instead; pdftk reads /Fields only, PDFium and we follow /Parent",
    ),
    ("pdfjs/checkbox-bad-appearance.pdf", "pdfium", "privacy"): (
        "privacy",
        None,
        "/V /privacy, /AS /privacy and an /AP /N /privacy stream all say ticked (pdftk agrees); "
        "PDFium reports it off because the /Off appearance is a name instead of a stream",
    ),
}

ABSENT = "<absent>"


@functools.cache
def _oracle(fixture: str, oracle: str) -> dict[str, str | None]:
    """What pdftk or PDFium reads in a fixture, once per session for both of our parsers."""
    read = read_with_pdftk if oracle == "pdftk" else read_with_pdfium
    return _comparable(read(FIXTURES / fixture))


def _ours(form: PdfForm) -> dict[str, PdfField]:
    return {
        name: found
        for name, found in form.fields.items()
        if found.kind not in (PdfFieldKind.PUSHBUTTON, PdfFieldKind.SIGNATURE)
    }


def _comparable(oracle: dict[str, OracleField]) -> dict[str, str | None]:
    # A value of spaces is an empty answer for us ("unchanged"); pdftk keeps combo boxes' "  ".
    return {
        name: (found.value if found.value and found.value.strip() else None)
        for name, found in oracle.items()
        if found.kind not in ("pushbutton", "signature", "node")
    }


def _our_value(found: PdfField, oracle: str) -> str | None:
    if oracle == "pdfium" and found.kind is PdfFieldKind.LIST and found.value:
        # PDFium names the selected options of a list box by their labels, not export values.
        labels = dict(found.options)
        return ",".join(labels.get(v, v) for v in found.value.split(","))
    return found.value


def _differences(
    fixture: str, oracle: str, theirs: dict[str, str | None], ours: PdfForm
) -> dict[tuple[str, str, str], tuple[str | None, str | None]]:
    mine = _ours(ours)
    found: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
    for name in sorted(set(mine) | set(theirs)):
        our_value = _our_value(mine[name], oracle) if name in mine else ABSENT
        their_value = theirs.get(name, ABSENT) if name in theirs else ABSENT
        if our_value != their_value:
            found[(fixture, oracle, name)] = (our_value, their_value)
    return found


@pytest.mark.parametrize("reader", ["auto", "pypdf"])
@pytest.mark.parametrize("fixture", sorted(FORMS))
def test_values_agree_with_pdftk_and_pdfium(fixture: str, reader: str) -> None:
    """Both of our parsers: pdfplumber ("auto") and the pypdf fallback."""
    path = FIXTURES / fixture
    ours = read_pdf_form(path.read_bytes(), reader=reader)
    assert ours.reader == ("pdfplumber" if reader == "auto" else "pypdf")
    # Regression: the pypdf fallback lost the /Producer (its /Info keys were stripped).
    assert (ours.producer or "") == FORMS[fixture]
    differences: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
    for oracle in ("pdftk", "pdfium"):
        theirs = _oracle(fixture, oracle)
        assert theirs, f"{oracle} saw no field in {fixture}"
        differences |= _differences(fixture, oracle, theirs, ours)
    expected = {key: value[:2] for key, value in KNOWN.items() if key[0] == fixture}
    assert differences == expected


def test_the_set_holds_real_filled_values() -> None:
    """The agreement is about values, not about empty fields: count what was compared."""
    filled = {kind: 0 for kind in PdfFieldKind}
    for fixture in FORMS:
        for found in _ours(read_pdf_form((FIXTURES / fixture).read_bytes())).values():
            if found.value is not None:
                filled[found.kind] += 1
    assert filled[PdfFieldKind.TEXT] >= 90
    assert filled[PdfFieldKind.CHECKBOX] >= 10
    assert filled[PdfFieldKind.RADIO] >= 5
    assert filled[PdfFieldKind.CHOICE] >= 10
    assert filled[PdfFieldKind.LIST] >= 5


def test_acrobat_values_spot_checked() -> None:
    """A few values read by all three readers, written out, so a shared mistake would show."""
    acroform = read_pdf_form((FIXTURES / "pdfbox/acroform.pdf").read_bytes())
    assert acroform.value("ListBoxMultiSelect") == "Earth,Sun,Venus"
    assert acroform.value("GroupOption") == "Option2"
    assert acroform.value("CheckBox1") == "Ja" and acroform.value("CheckBox2") is None
    assert acroform.value("TextFieldMultiLine") == (
        "This is a line\rThis is a second line\rAnd a third line"
    )
    livecycle = read_pdf_form((FIXTURES / "pdfjs/bug1815476.pdf").read_bytes())
    assert all(name.startswith("topmostSubform[0].Page1[0].") for name in livecycle.fields)
    assert livecycle.xfa


def test_widgets_listed_in_fields_without_their_parent() -> None:
    """Regression (pdfjs/opt_demo.pdf): /Fields lists the widgets of `veg`, not `veg` itself.

    We used to report them as two fields `unnamed_5` and `unnamed_6`; PDFium reads `veg` =
    "Potato" (state /1 through /Opt), as we now do.
    """
    form = read_pdf_form((FIXTURES / "pdfjs/opt_demo.pdf").read_bytes())
    assert form.value("veg") == "Potato"
    assert form.fields["veg"].states == ("Carrot", "Potato")
    assert not [name for name in form.fields if name.startswith("unnamed")]


def test_pdfdocencoding_syn_is_not_shifted() -> None:
    """Regression (pdfbox/ControlCharacters.pdf): byte 0x16 came out as U+0017 (pdfminer's table)."""
    form = read_pdf_form((FIXTURES / "pdfbox/ControlCharacters.pdf").read_bytes())
    assert form.value("acrobat-dle") == "DLE\x16DLE"
    assert form.value("acrobat-linebreak") == "linebreak\u2028linebreak"


def test_a_duplicated_name_reads_the_field_on_the_page() -> None:
    """Regression (pypdfform/sample_template_sejda.pdf): four fields are called `future_date`.

    A checkbox with /V /Yes but no widget on any page, and three text fields of which one has
    a widget on page 1. We kept the checkbox's "Yes" (a value nobody could see); pdftk and
    PDFium both read the empty field shown on the page, as we now do.
    """
    path = FIXTURES / "pypdfform" / "sample_template_sejda.pdf"
    shown = read_pdf_form(path.read_bytes()).fields["future_date"]
    assert (shown.kind, shown.value, shown.page) == (PdfFieldKind.TEXT, None, 1)
    assert read_with_pdftk(path)["future_date"].value is None
    assert read_with_pdfium(path)["future_date"].value is None
