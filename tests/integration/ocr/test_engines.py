"""One contract for every OCR engine: the real ones (tesserocr, pytesseract) and the recorded fake."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.engines.pytesseract_engine import PytesseractEngine, read_full_page
from ocr.engines.tesserocr_engine import TesserocrEngine
from ocr.interfaces import GrayImage, OcrEngine
from tests.ocr_fakes import RecordedEngine, RecordingEngine
from tests.ocr_pages import TYPED_FONT

DIGITS = "0123456789"


def _word(text: str, size: int = 40) -> GrayImage:
    font = ImageFont.truetype(TYPED_FONT, size)
    width = int(font.getlength(text)) + 40
    image = Image.new("L", (width, size + 30), 255)
    ImageDraw.Draw(image).text((20, 12), text, font=font, fill=0)
    return np.asarray(image, dtype=np.uint8).copy()


def _recorded() -> OcrEngine:
    recording = RecordingEngine(TesserocrEngine())
    recording.read_line(_word("LE GALL"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ -'")
    recording.read_line(_word("33000"), DIGITS)
    recording.read_character(_word("7"), DIGITS)
    recording.read_character(_word("0"), DIGITS)
    return RecordedEngine(dict(recording.answers))


@pytest.fixture(params=["tesserocr", "pytesseract", "recorded"])
def engine(request: pytest.FixtureRequest) -> Iterator[OcrEngine]:
    if request.param == "tesserocr":
        tesserocr = TesserocrEngine()
        yield tesserocr
        tesserocr.close()
    elif request.param == "pytesseract":
        yield PytesseractEngine()
    else:
        yield _recorded()


def test_reads_a_line_with_its_spaces(engine: OcrEngine) -> None:
    reading = engine.read_line(_word("LE GALL"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ -'")
    assert reading.text == "LE GALL"
    assert 0.8 <= reading.confidence <= 1.0


def test_reads_digits_within_the_charset(engine: OcrEngine) -> None:
    reading = engine.read_line(_word("33000"), DIGITS)
    assert reading.text == "33000"


@pytest.mark.parametrize("digit", ["7", "0"])
def test_reads_one_character(engine: OcrEngine, digit: str) -> None:
    reading = engine.read_character(_word(digit), DIGITS)
    assert reading.text == digit


def test_tesserocr_gives_alternatives_per_character() -> None:
    reading = TesserocrEngine().read_line(_word("FR76"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert reading.text == "FR76"
    assert len(reading.alternatives) == 4
    assert all(
        choices[0][0] == char for choices, char in zip(reading.alternatives, "FR76", strict=True)
    )


def test_blank_image_reads_nothing() -> None:
    blank = np.full((80, 200), 255, dtype=np.uint8)
    assert TesserocrEngine().read_line(blank, DIGITS).text == ""
    assert PytesseractEngine().read_line(blank, DIGITS).text == ""


def test_full_page_baseline_reads_text() -> None:
    assert "GALL" in read_full_page(_word("LE GALL"))
