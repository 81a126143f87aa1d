"""Issue 17 (6): blankness is decided after dust, speckle and edge shadows are taken away.

A white sheet through a real scanner carries salt noise, a few dust specks, a light shadow
along the lid's edge and sometimes a dark strip where the sheet stops: counting dark pixels
called such a page not blank, and it went to the operator as `unreadable_code` with a
misleading reason. A few written words, a signature or a faint form are not blank.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from forms_service.intake.mailroom.files import blank_problem, is_blank
from tests.ocr_forms import IssuedForms
from tests.ocr_pages import TYPED_FONT

HEIGHT, WIDTH = 2339, 1654  # A4 at 200 dpi, the mailroom's rendering
PER_MM = WIDTH / 210
HANDWRITING = "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf"
Gray = npt.NDArray[np.uint8]


def scanner_white(seed: int = 1) -> Gray:
    """An empty sheet as a scanner gives it back."""
    rng = np.random.default_rng(seed)
    page = np.full((HEIGHT, WIDTH), 246, dtype=np.float32)
    page += rng.normal(0, 5, page.shape).astype(np.float32)
    # The lid's light shadow along the left edge, fading over 8 mm.
    shadow = np.clip(1 - np.arange(WIDTH) / (8 * PER_MM), 0, 1) * 80
    page -= shadow[None, :].astype(np.float32)
    # Salt noise: 4,000 dark pixels.
    ys, xs = rng.integers(0, HEIGHT, 4000), rng.integers(0, WIDTH, 4000)
    page[ys, xs] = rng.integers(0, 100, 4000)
    # A few dust specks, up to a millimetre across.
    for _ in range(5):
        centre = (int(rng.integers(80, WIDTH - 80)), int(rng.integers(80, HEIGHT - 80)))
        cv2.circle(page, centre, int(rng.integers(2, 5)), (25.0,), -1)
    # The sheet stops 1 mm short of the frame: a dark strip at the bottom.
    page[-8:, :] = 15
    return np.clip(page, 0, 255).astype(np.uint8)


def _old_rule_says_blank(gray: Gray) -> bool:
    """The dark-pixel count the mailroom used before (kept to show what it got wrong)."""
    sample = gray[::2, ::2]
    return bool(np.count_nonzero(sample < 128) < 0.0005 * sample.size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_white_page_with_speckle_dust_and_an_edge_shadow_is_blank(seed: int) -> None:
    page = scanner_white(seed)
    assert not _old_rule_says_blank(page)  # what made it `unreadable_code`
    assert is_blank(page)


def _written(page: Gray, text: str, size_mm: float, font: str = HANDWRITING) -> Gray:
    image = Image.fromarray(page)
    face = ImageFont.truetype(font, round(size_mm * PER_MM))
    ImageDraw.Draw(image).text((60 * PER_MM, 120 * PER_MM), text, font=face, fill=35)
    return np.asarray(image, dtype=np.uint8).copy()


@pytest.mark.parametrize("text", ["Bon pour accord", "NON", "J. Martin"])
def test_a_few_handwritten_words_are_not_blank(text: str) -> None:
    assert not is_blank(_written(scanner_white(), text, 6))


def test_a_signature_alone_is_not_blank() -> None:
    page = scanner_white()
    points = [(80 + 6 * i, 150 + (17 * i) % 11) for i in range(12)]
    scaled = np.array([(x * PER_MM, y * PER_MM) for x, y in points], dtype=np.int32)
    cv2.polylines(page, [scaled], False, (30,), 3)
    assert not is_blank(page)


def test_a_faint_form_is_not_blank() -> None:
    # The service's own form page printed by a printer almost out of toner (a fifth of the
    # ink's darkness), with the same scanner noise.
    printed = IssuedForms().print_form("contact-update", dpi=200)[0].image
    faint = 255 - (255 - printed.astype(np.float32)) * 0.2
    noisy = np.minimum(faint, scanner_white().astype(np.float32) + 9)
    assert not is_blank(np.clip(noisy, 0, 255).astype(np.uint8))


def test_a_few_printed_characters_are_not_blank() -> None:
    assert not is_blank(_written(scanner_white(), "Page 2", 3.5, TYPED_FONT))


# Issue 16 (7): near-blank pages (the back of a sheet, a separator) are set aside too, with
# a reason saying what they are, while a faint form stays a page to read.


def _back_of_a_form(strength: float) -> Gray:
    """The back of a printed form: its print showing through, mirrored and blurred by the paper."""
    printed = IssuedForms().print_form("contact-update", dpi=200)[0].image
    back = cv2.GaussianBlur(printed[:, ::-1].astype(np.float32), (0, 0), 1.5)
    through = 255 - (255 - back) * strength
    page: Gray = np.clip(np.minimum(through, scanner_white(2) + 9.0), 0, 255).astype(np.uint8)
    return page


@pytest.mark.parametrize("strength", [0.1, 0.16])
def test_the_back_of_a_printed_sheet_is_near_blank(strength: float) -> None:
    problem = blank_problem(_back_of_a_form(strength))
    assert problem is not None and problem.code == "near_blank_page"
    assert "showing through" in problem.reason


def test_a_coloured_separator_sheet_is_blank() -> None:
    rng = np.random.default_rng(4)
    sheet = np.clip(rng.normal(190, 4, (HEIGHT, WIDTH)), 0, 255).astype(np.uint8)
    problem = blank_problem(sheet)
    assert problem is not None and problem.code == "blank_page"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_white_sheet_with_an_edge_shadow_is_blank_not_near_blank(seed: int) -> None:
    # The lid's shadow is as faint as show-through, but along the edge: it says nothing.
    problem = blank_problem(scanner_white(seed))
    assert problem is not None and problem.code == "blank_page"


def test_a_faint_form_and_written_words_are_neither_blank_nor_near_blank() -> None:
    assert blank_problem(_back_of_a_form(0.22)) is None
    assert blank_problem(_written(scanner_white(), "Bon pour accord", 6)) is None
