"""Preparing inked boxes for OCR: lines and separators removed, padded; line and cell readings."""

from __future__ import annotations

import numpy as np

from ocr.align import align_page, set_upright
from ocr.geometry import PageGeometry, Zone
from ocr.identify import find_code
from ocr.ink import measure_ink
from ocr.interfaces import EngineReading
from ocr.text import PADDING, clean_crop, read_text, tidy
from tests.ocr_fakes import ScriptedEngine
from tests.ocr_pages import GrayImage


def _zone(page: PageGeometry, field: str) -> Zone:
    return next(z for z in page.zones if z.field == field)


def test_clean_crop_of_an_empty_comb_is_white(blank_200: GrayImage, page: PageGeometry) -> None:
    aligned = align_page(set_upright(blank_200, find_code(blank_200)), page, dpi=300)
    ink = measure_ink(aligned, _zone(page, "iban"))
    crop = clean_crop(ink)
    assert crop.shape == (ink.gray.shape[0] + 2 * PADDING, ink.gray.shape[1] + 2 * PADDING)
    assert crop.min() == 255  # box lines and all 26 separators are gone


def test_clean_crop_keeps_the_writing(filled_200: GrayImage, page: PageGeometry) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=300)
    ink = measure_ink(aligned, _zone(page, "postcode"))
    crop = clean_crop(ink)
    dark = crop < 128
    assert dark.sum() > 200
    # no ink in the padding, and none left on the separator columns
    assert not dark[:PADDING].any() and not dark[:, :PADDING].any()
    columns = dark.any(axis=0)
    runs = np.flatnonzero(np.diff(columns.astype(int)) == 1)
    assert len(runs) == 5  # five separate digits, no separator line joining them


def test_comb_is_read_as_a_line_and_cell_by_cell(filled_200: GrayImage, page: PageGeometry) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=300)
    zone = _zone(page, "postcode")
    engine = ScriptedEngine(EngineReading("33 000", 0.9), EngineReading("3", 0.8, ((("3", 0.8),),)))
    readings = read_text(aligned, zone, measure_ink(aligned, zone), engine)
    assert readings.line.text == "33000"  # spaces between comb cells are dropped
    assert engine.characters_read == 5  # one per inked cell
    assert readings.second is not None and readings.second.text == "33333"
    assert len(readings.second.alternatives) == 5


def test_text_box_is_read_twice_at_two_scales(filled_200: GrayImage, page: PageGeometry) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=300)
    zone = _zone(page, "city")
    engine = ScriptedEngine(EngineReading(" SAINT  ETIENNE ", 0.9))
    readings = read_text(aligned, zone, measure_ink(aligned, zone), engine)
    assert readings.line.text == "SAINT ETIENNE"
    assert readings.second is not None and readings.second.text == "SAINT ETIENNE"
    assert (engine.lines_read, engine.characters_read) == (2, 0)
    once = read_text(aligned, zone, measure_ink(aligned, zone), engine, second_reading=False)
    assert once.second is None


def test_a_cell_read_as_two_characters_fails_the_cell_reading(
    filled_200: GrayImage, page: PageGeometry
) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=300)
    zone = _zone(page, "postcode")
    engine = ScriptedEngine(EngineReading("33000", 0.9), EngineReading("3|", 0.8))
    readings = read_text(aligned, zone, measure_ink(aligned, zone), engine)
    assert readings.second is not None and readings.second.text == ""


def test_tidy_spaces_and_stray_punctuation(page: PageGeometry) -> None:
    city, email, phone = _zone(page, "city"), _zone(page, "email"), _zone(page, "phone")
    assert tidy(EngineReading(".CHAMPIGNELLES ", 0.9), city).text == "CHAMPIGNELLES"
    assert tidy(EngineReading("SAINT  JEAN:", 0.9), city).text == "SAINT JEAN"
    assert (
        tidy(EngineReading("jean.a ndre@laposte.net", 0.9), email).text == "jean.andre@laposte.net"
    )
    spaced = EngineReading(
        "06 12", 0.9, ((("0", 0.9),), (("6", 0.9),), ((" ", 1.0),), (("1", 0.9),), (("2", 0.8),))
    )
    tidied = tidy(spaced, phone)
    assert tidied.text == "0612"
    assert [choices[0][0] for choices in tidied.alternatives] == ["0", "6", "1", "2"]
    assert tidy(EngineReading("..", 0.9), city) == EngineReading("", 0.0)
