"""Issue 17 (2): a page with a corner square cut off by the scan is aligned on what is there.

The service's own form page (its real PDF, rasterised) is filled, then fed into a scanner
frame of its size a little tilted and shifted, so that a corner square falls partly out of
the scan: it was refused as `unaligned_page` although its code was read. Three squares, the
code's corners and the printed box grid align it; a fit they disagree with is still refused.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from ocr.align import MM
from ocr.engines.tesserocr_engine import TesserocrEngine
from ocr.geometry import PageGeometry, ZoneKind
from ocr.model import MarksNotFound, MisalignedPage
from ocr.pipeline import read_page
from tests.ocr_forms import IssuedForms, PrintedPage, paper_context
from tests.ocr_pages import Answers, Degradation, GrayImage, degrade, fill_page, render_page

DPI = 200
ANSWERS = Answers(
    texts={
        "address_line": "12 RUE DES LILAS",
        "postcode": "33000",
        "city": "BORDEAUX",
        "phone": "0612345678",
    },
    signed=True,
)
#: Tilts and shifts (mm right, down) that push one corner square partly out of the frame.
CUTS = {
    "left edge, top-left square cut": Degradation(rotation=1.5, frame_shift=(-7.5, 0.0)),
    "bottom edge, bottom-right square cut": Degradation(
        rotation=-1.5, frame_shift=(0.0, 7.5), noise=5, jpeg=75
    ),
    "right edge, bottom-right square cut": Degradation(rotation=-1.0, frame_shift=(8.0, 2.0)),
}


@pytest.fixture(scope="module")
def forms() -> IssuedForms:
    return IssuedForms()


@pytest.fixture(scope="module")
def printed(forms: IssuedForms) -> PrintedPage:
    return forms.print_form("contact-update", dpi=DPI)[0]


@pytest.fixture(scope="module")
def engine() -> TesserocrEngine:
    return TesserocrEngine()


def _square_cut(scan: GrayImage) -> bool:
    """Whether a dark square touches an edge of the scan (a registration square cut off)."""
    dark = (scan < 128).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark)
    height, width = scan.shape
    side = 8 * MM * DPI / 72
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches = x == 0 or y == 0 or x + w == width or y + h == height
        if touches and area > 0.2 * side * side and max(w, h) < 1.3 * side:
            return True
    return False


@pytest.mark.parametrize("name", list(CUTS))
def test_a_page_with_a_corner_square_cut_off_is_read(
    forms: IssuedForms, printed: PrintedPage, engine: TesserocrEngine, name: str
) -> None:
    scan = degrade(fill_page(printed.image, printed.page, DPI, ANSWERS), CUTS[name], seed=2)
    assert _square_cut(scan)  # the material is what the issue describes
    context = paper_context(forms.definition("contact-update"))
    result = read_page(scan, forms.resolve, engine, context)
    assert result.page_number == printed.page.number
    for reading in result.readings:
        if reading.kind in (ZoneKind.TEXT, ZoneKind.COMB):
            assert reading.value == ANSWERS.texts.get(reading.field), reading
        elif reading.kind is ZoneKind.SIGNATURE:
            assert reading.value == "signed"


def _move_mark(scan: GrayImage, page: PageGeometry, index: int, by_mm: float) -> GrayImage:
    """The scan with one registration square printed `by_mm` off its place (up and left)."""
    moved = scan.copy()
    scale = DPI / 72
    x, y = page.marks[index]
    cx, cy = x * scale, (page.height - y) * scale
    half = page.mark_size * scale / 2
    cv2.rectangle(
        moved, (int(cx - half - 3), int(cy - half - 3)), (int(cx + half + 3), int(cy + half + 3)),
        (255,), -1,
    )  # fmt: skip
    d = by_mm * DPI / 25.4
    cv2.rectangle(
        moved, (int(cx - half - d), int(cy - half - d)), (int(cx + half - d), int(cy + half - d)),
        (0,), -1,
    )  # fmt: skip
    return moved


def test_a_fit_the_code_and_the_boxes_disagree_with_is_still_refused(
    forms: IssuedForms, printed: PrintedPage, engine: TesserocrEngine
) -> None:
    # The top-left square is cut off, and the bottom-right one is 4 mm off its place (a
    # sticker, a fold): the three squares fit an affine map exactly, the boxes refuse it.
    filled = _move_mark(fill_page(printed.image, printed.page, DPI, ANSWERS), printed.page, 3, 4)
    scan = degrade(filled, CUTS["left edge, top-left square cut"], seed=2)
    context = paper_context(forms.definition("contact-update"))
    with pytest.raises(MisalignedPage, match="disagree by"):
        read_page(scan, forms.resolve, engine, context)


def test_a_page_with_two_squares_cut_off_is_refused_naming_them(
    forms: IssuedForms, printed: PrintedPage, engine: TesserocrEngine
) -> None:
    how = Degradation(rotation=0.5, frame_shift=(-9.0, 1.0))
    scan = degrade(fill_page(printed.image, printed.page, DPI, ANSWERS), how, seed=2)
    context = paper_context(forms.definition("contact-update"))
    with pytest.raises(MarksNotFound, match=r"only 2 of the 4 registration marks"):
        read_page(scan, forms.resolve, engine, context)


def test_squares_are_searched_where_the_layout_puts_them(
    forms: IssuedForms, printed: PrintedPage, engine: TesserocrEngine
) -> None:
    # A later layout version may print its squares further in from the edge: the aligner
    # takes their places from the page's geometry, not from constants.
    page = printed.page
    marks = tuple(
        (
            x + (4 * MM if x < page.width / 2 else 0),
            y + (12 * MM if y < page.height / 2 else -12 * MM),
        )
        for x, y in page.marks
    )
    moved = replace(page, marks=marks)
    payload = forms.codes.encode(printed.document_id, page.number, 1, layout=1)
    scan = degrade(render_page(moved, payload, DPI, ANSWERS), Degradation(rotation=-2.0))
    result = read_page(
        scan, lambda _: moved, engine, paper_context(forms.definition("contact-update"))
    )
    assert {r.field: r.value for r in result.readings if r.kind is ZoneKind.TEXT} == {
        "address_line": "12 RUE DES LILAS", "address_extra": None, "city": "BORDEAUX", "email": None,
    }  # fmt: skip
