"""Text and e-mail boxes read glyph by glyph (ocr/text.py, read_glyphs): real handwriting
fonts and the shipped text-box model; Tesseract's line is scripted, to say what it read."""

from __future__ import annotations

import numpy as np

from ocr.geometry import Rect, Zone, ZoneKind
from ocr.handprint import shipped_text_model
from ocr.ink import ZoneInk
from ocr.interfaces import EngineReading
from ocr.text import read_glyphs
from tests.ocr_pages import EMAIL_CHARSET, HELD_OUT_FONTS, NAME_CHARSET, require_font
from tests.unit.ocr.test_glyphs import _line

NAME = Zone("last_name", ZoneKind.TEXT, Rect(0, 0, 340, 23), charset=NAME_CHARSET)
EMAIL = Zone("email", ZoneKind.TEXT, Rect(0, 0, 450, 23), charset=EMAIL_CHARSET)


def _ink(mask: np.ndarray) -> ZoneInk:
    return ZoneInk((0, 0, mask.shape[1], mask.shape[0]), mask.astype(np.uint8), mask, 10.0, 0.1)


def _tesseract(text: str, score: float) -> EngineReading:
    """A line as the engine returns it: one score per character, a space its own."""
    alternatives = tuple(((c, 1.0),) if c == " " else ((c, score),) for c in text)
    return EngineReading(text, score, alternatives)


def test_both_readers_agreeing_keep_tesseract_s_confidence_and_gain_the_model_s_alternatives() -> (
    None
):
    font = HELD_OUT_FONTS["klee"]
    require_font(font)
    mask = _line(font, "LE GALL", spacing=6)
    line = _tesseract("LE GALL", 0.96)
    read = read_glyphs(_ink(mask), NAME, line, shipped_text_model().read_cells)
    assert read is not None and read.text == "LE GALL"
    assert read.confidence == line.confidence
    assert len(read.alternatives) == len(read.text)
    for choices in read.alternatives:
        assert 0.0 < sum(p for _, p in choices) <= 1.0001
        assert all(c.isupper() or not c.isalpha() for c, _ in choices)  # a capitals box


def test_a_letter_tesseract_misread_is_a_candidate_the_model_offers() -> None:
    font = HELD_OUT_FONTS["klee"]
    require_font(font)
    mask = _line(font, "MOREL", spacing=6)
    read = read_glyphs(_ink(mask), NAME, _tesseract("NOREL", 0.8), shipped_text_model().read_cells)
    assert read is not None and len(read.text) == 5
    assert "M" in dict(read.alternatives[0])  # the model's "M" beside Tesseract's "N"


def test_an_e_mail_s_dot_tesseract_dropped_is_put_back_in_lower_case() -> None:
    font = HELD_OUT_FONTS["klee"]
    require_font(font)
    mask = _line(font, "jean.martin@free.fr", spacing=4)
    line = _tesseract("jeanmartin@free.fr", 0.9)
    read = read_glyphs(_ink(mask), EMAIL, line, shipped_text_model().read_cells)
    assert read is not None
    assert read.text.startswith("jean.martin@")
    assert read.text == read.text.lower()


def test_an_unsure_tesseract_gives_way_to_a_sure_model() -> None:
    font = HELD_OUT_FONTS["klee"]
    require_font(font)
    mask = _line(font, "BORDEAUX", spacing=6)
    read = read_glyphs(_ink(mask), NAME, _tesseract("B", 0.2), shipped_text_model().read_cells)
    assert read is not None and read.text == "BORDEAUX"
