"""The real pipeline with the real Tesseract on generated scans: 150/200/300 dpi, turned, noisy, JPEG."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from ocr.engines.pytesseract_engine import PytesseractEngine
from ocr.engines.tesserocr_engine import TesserocrEngine
from ocr.geometry import FormGeometry, PageGeometry, ZoneKind
from ocr.interfaces import OcrEngine
from ocr.model import PageReading, ReviewReason
from ocr.pipeline import PageContext, read_file, read_page
from tests.ocr_forms import IssuedForms, paper_context
from tests.ocr_pages import (
    SAMPLE_PAIRS,
    Answers,
    Degradation,
    GrayImage,
    degrade,
    fill_page,
    render_blank,
    render_page,
    sample_checks,
    sample_geometry,
)

PAYLOAD = "F1.Qm9uam91ciBsZSBtb25kZQ.1.3.k1.abcdefghijk"
CONTEXT = PageContext(checks=sample_checks(), pairs=SAMPLE_PAIRS)

FULL = Answers(
    texts={
        "last_name": "MARTIN-DUBOIS",
        "city": "BORDEAUX",
        "postcode": "33000",
        "phone": "0612345678",
        "birth_date": "14071989",
        "iban": "FR7630006000011234567890189",
        "email": "jean.martin@orange.fr",
    },
    ticks=frozenset({("consent", None), ("channel", "sms")}),
    signed=True,
)
PARTIAL = Answers(
    texts={"city": "LYON", "postcode": "69003", "phone": "0478123456"},
    ticks=frozenset({("channel", "email"), ("channel", "post")}),
)

REVIEW_ONLY = {ReviewReason.LOW_CONFIDENCE, ReviewReason.UNVERIFIABLE}
COMB_DOUBT = {ReviewReason.READINGS_DISAGREE}

DEGRADATIONS = {
    "clean": Degradation(),
    "tilted +3": Degradation(rotation=3.0, noise=4),
    "tilted -3": Degradation(rotation=-3.0, noise=4),
    "upside down": Degradation(turn=2, rotation=0.8),
    "quarter turn": Degradation(turn=3, rotation=-2.0, perspective=0.003),
    "noise and speckle": Degradation(noise=14, speckle=3000, rotation=1.2),
    "jpeg 60": Degradation(jpeg=60, rotation=-1.5, blur=0.6),
}


@pytest.fixture(scope="module")
def geometry() -> FormGeometry:
    return sample_geometry()


@pytest.fixture(scope="module")
def engine() -> TesserocrEngine:
    return TesserocrEngine()


def _assert_read(result: PageReading, page: PageGeometry, answers: Answers) -> None:
    for reading in result.readings:
        zone_kind = reading.kind
        if zone_kind in (ZoneKind.TEXT, ZoneKind.COMB):
            expected = answers.texts.get(reading.field)
            assert reading.value == expected, (reading.field, reading.value, reading.warnings)
            if expected is not None:
                # Read exactly; a clerk may still be asked to confirm a value no check confirms,
                # or a comb whose two readers (the handprint model, Tesseract's line) disagree
                # on a cell (issue 16: a noisy typed 6 read as a 9 by the model at 150 dpi).
                allowed = REVIEW_ONLY | (COMB_DOUBT if zone_kind is ZoneKind.COMB else set())
                assert set(reading.warnings) <= allowed, reading.warnings
        elif zone_kind is ZoneKind.CHECKBOX:
            ticked = (reading.field, reading.choice) in answers.ticks
            assert reading.value == ("true" if ticked else "false"), (reading.field, reading.choice)
        else:
            assert reading.value == ("signed" if answers.signed else None)
    assert result.page_number == page.number


@pytest.mark.parametrize("dpi", [150, 200, 300])
@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_typed_fills_are_read_exactly(
    geometry: FormGeometry, engine: OcrEngine, dpi: int, name: str
) -> None:
    page = geometry.page(1)
    answers = FULL if (dpi + len(name)) % 2 else PARTIAL
    clean = render_page(page, PAYLOAD, dpi, answers, seed=dpi)
    scan = degrade(clean, DEGRADATIONS[name], seed=dpi + 7)
    result = read_page(
        scan, lambda payload: geometry.page(int(payload.split(".")[2])), engine, CONTEXT
    )
    assert result.payload == PAYLOAD
    _assert_read(result, page, answers)


def _centre(image: GrayImage, height: int, width: int) -> GrayImage:
    """The middle of a turned page, cut back to the sheet's size."""
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top : top + height, left : left + width]


def _pdf_of(images: list[GrayImage], dpi: int) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(595.28, 841.89))
    for image in images:
        canvas.drawImage(ImageReader(Image.fromarray(image)), 0, 0, 595.28, 841.89)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_a_scanned_pdf_batch_is_read_page_by_page(
    geometry: FormGeometry, engine: OcrEngine
) -> None:
    page = geometry.page(1)
    first = degrade(render_page(page, PAYLOAD, 200, FULL, seed=1), Degradation(rotation=2.0))
    second = degrade(render_page(page, PAYLOAD, 200, PARTIAL, seed=2), Degradation(turn=2))
    data = _pdf_of([_centre(first, 2339, 1654), _centre(second, 2339, 1654)], 200)
    blank = render_blank(page, PAYLOAD, 300)
    outcomes = list(read_file(data, lambda _: page, engine, CONTEXT, blank_for=lambda _: blank))
    assert [o.error for o in outcomes] == [None, None]
    assert outcomes[0].reading is not None and outcomes[1].reading is not None
    _assert_read(outcomes[0].reading, page, FULL)
    _assert_read(outcomes[1].reading, page, PARTIAL)


@pytest.mark.slow
def test_pytesseract_engine_reads_the_same_page(geometry: FormGeometry) -> None:
    page = geometry.page(1)
    scan = degrade(
        render_page(page, PAYLOAD, 200, FULL, seed=5), Degradation(rotation=-2.0, jpeg=70)
    )
    result = read_page(scan, lambda _: page, PytesseractEngine(), CONTEXT)
    _assert_read(result, page, FULL)


@pytest.mark.parametrize("form_id", ["contact-update", "bank-details"])
def test_the_services_own_printed_form_is_read(engine: OcrEngine, form_id: str) -> None:
    forms = IssuedForms()
    printed = forms.print_form(form_id, dpi=200)[0]
    texts = {
        "contact-update": {"address_line": "12 RUE DES LILAS", "postcode": "33000", "city": "BORDEAUX",
                           "phone": "0612345678"},
        "bank-details": {"account_holder": "JEAN MARTIN", "iban": "FR7630006000011234567890189"},
    }[form_id]  # fmt: skip
    ticks = frozenset({("mandate", "true")}) if form_id == "bank-details" else frozenset()
    answers = Answers(texts=texts, ticks=ticks, signed=True)
    scan = degrade(
        fill_page(printed.image, printed.page, 200, answers), Degradation(rotation=-2.0, jpeg=75)
    )
    context = paper_context(forms.definition(form_id))
    result = read_page(scan, forms.resolve, engine, context)
    assert result.page_number == printed.page.number
    _assert_read(result, printed.page, answers)
