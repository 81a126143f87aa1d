"""A text box's handwriting cut into characters (ocr/glyphs.py), on real handwriting fonts."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.glyphs import Mask, segment
from ocr.handprint import shipped_model
from tests.ocr_pages import HANDWRITING_FONTS, HELD_OUT_FONTS, require_font

#: A text box's interior at 300 dpi (8 mm box, 0.9 mm inset), written at 14 pt.
HEIGHT = 73
SIZE = 58


def _line(font: str, text: str, spacing: float = 0.0, stroke: int = 1) -> Mask:
    """Text written character by character as tests/ocr_pages.py writes a text box."""
    face = ImageFont.truetype(font, SIZE)
    image = Image.new("L", (round(SIZE * 0.9 * len(text)) + 40, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    x = 20.0
    for char in text:
        draw.text(
            (x, HEIGHT / 2), char, font=face, fill=0, anchor="lm",
            stroke_width=stroke, stroke_fill=0,
        )  # fmt: skip
        x += face.getlength(char) + spacing
    return np.asarray(image) < 128


def test_separate_capitals_give_one_glyph_each_and_the_spaces_between_words() -> None:
    right = 0
    for font in HELD_OUT_FONTS.values():
        require_font(font)
        mask = _line(font, "LE GALL", spacing=6)
        right += len(segment(mask)) == 6
        # Aiming at another reader's count (Tesseract's six letters) always gets there.
        glyphs = segment(mask, count=6)
        assert len(glyphs) == 6, font
        assert [g.space_before for g in glyphs] == [False, False, True, False, False, False]
    # As the ink falls, broken strokes stay apart (Steve's "E"): measured 3 of 5.
    assert right >= 3


def test_the_dot_of_an_i_stays_with_its_stem() -> None:
    font = HELD_OUT_FONTS["klee"]
    require_font(font)
    mask = _line(font, "ij", spacing=8)
    glyphs = segment(mask)
    assert len(glyphs) == 2
    # Each glyph holds both its pieces: all the ink is in the two glyphs.
    assert sum(int(g.mask.sum()) for g in glyphs) == int(mask.sum())


def test_letters_joined_by_a_heavy_pen_are_split_at_the_thinnest_columns() -> None:
    font = HANDWRITING_FONTS["humor-sans"]
    require_font(font)
    mask = _line(font, "NN", spacing=-8, stroke=3)
    count, _ = cv2.connectedComponents(mask.astype(np.uint8))
    assert count - 1 == 1  # one piece of ink, about twice a letter's width
    halves = segment(mask)
    assert len(halves) == 2
    assert abs(halves[0].width - halves[1].width) < 0.3 * mask.shape[0]
    assert shipped_model().read_cells([halves[0].mask], "ABCDEFGHIJKLMNOPQRSTUVWXYZ").text == "N"


def test_a_broken_stroke_is_one_character_when_another_reader_counts_one() -> None:
    font = HELD_OUT_FONTS["dkg-handwriting"]
    require_font(font)
    mask = _line(font, "H", stroke=1)
    broken = mask.copy()
    columns = np.flatnonzero(mask.any(axis=0))
    middle = (columns[0] + columns[-1]) // 2
    broken[:, middle - 1 : middle + 2] = False  # the crossbar cut: two pieces side by side
    assert len(segment(broken)) == 2
    assert len(segment(broken, count=1)) == 1


def test_an_empty_box_has_no_glyph() -> None:
    assert segment(np.zeros((HEIGHT, 300), dtype=bool)) == []
