"""Finding the code, setting the page upright and aligning it on the registration marks."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.align import MM, align_page, set_upright
from ocr.geometry import PageGeometry
from ocr.identify import find_code
from ocr.model import CodeNotFound, MarksNotFound
from tests.ocr_pages import Degradation, GrayImage, degrade
from tests.unit.ocr.conftest import PAYLOAD


def _mark_centre_error(
    image: GrayImage, page: PageGeometry, dpi: float, which: tuple[int, ...] = (0, 1, 2, 3)
) -> float:
    """Largest distance (px) between a mark's measured centre and its template centre."""
    worst = 0.0
    scale = dpi / 72
    for x, y in (page.marks[i] for i in which):
        cx, cy = x * scale, (page.height - y) * scale
        half = round(page.mark_size * scale)
        window = image[round(cy) - half : round(cy) + half, round(cx) - half : round(cx) + half]
        ys, xs = np.nonzero(window < 128)
        worst = max(worst, float(np.hypot(xs.mean() - half, ys.mean() - half)))
    return worst


def test_code_payload_is_read(filled_200: GrayImage) -> None:
    assert find_code(filled_200).payload == PAYLOAD


def test_blank_sheet_has_no_code() -> None:
    with pytest.raises(CodeNotFound):
        find_code(np.full((1600, 1100), 255, dtype=np.uint8))


@pytest.mark.parametrize(
    ("turn", "rotation"), [(0, 0), (1, 0), (2, 0), (3, 0), (0, 4.5), (2, -4.5)]
)
def test_page_is_set_upright_and_skew_measured(
    filled_200: GrayImage, turn: int, rotation: float
) -> None:
    scan = degrade(filled_200, Degradation(turn=turn, rotation=rotation))
    upright = set_upright(scan, find_code(scan))
    # Degradation turns counter-clockwise; the reader turns it back.
    assert upright.rotation == (-90 * turn) % 360
    assert upright.skew == pytest.approx(-rotation, abs=0.6)


@pytest.mark.parametrize(
    "how",
    [
        Degradation(),
        Degradation(rotation=3.0),
        Degradation(rotation=-4.5, turn=2, noise=6),
        Degradation(perspective=0.01, jpeg=60),
        Degradation(rotation=1.0, contrast=0.6, blur=1.0),
    ],
)
def test_alignment_puts_marks_on_the_template(
    filled_200: GrayImage, page: PageGeometry, how: Degradation
) -> None:
    scan = degrade(filled_200, how, seed=3)
    aligned = align_page(set_upright(scan, find_code(scan)), page, dpi=200)
    assert aligned.image.shape == (round(page.height * 200 / 72), round(page.width * 200 / 72))
    assert _mark_centre_error(aligned.image, page, 200) < 1.0
    assert aligned.black == pytest.approx(255 * (1 - how.contrast), abs=25)
    assert aligned.paper > 230


def test_alignment_box_converts_points_to_pixels(filled_200: GrayImage, page: PageGeometry) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=144)
    left, top, right, bottom = aligned.box(page.zones[0].rect)
    rect = page.zones[0].rect
    assert (left, right) == (round(rect.x * 2), round((rect.x + rect.width) * 2))
    assert bottom == round((page.height - rect.y) * 2)
    assert abs((bottom - top) - 8 * MM * 2) <= 1


def _hide_marks(image: GrayImage, page: PageGeometry, indices: tuple[int, ...]) -> GrayImage:
    scan = image.copy()
    scale = 200 / 72
    half = round(page.mark_size * scale)
    for index in indices:
        x, y = page.marks[index]
        cy, cx = round((page.height - y) * scale), round(x * scale)
        scan[cy - half : cy + half, cx - half : cx + half] = 255
    return scan


def test_one_missing_mark_is_made_up_by_the_others_the_code_and_the_boxes(
    filled_200: GrayImage, page: PageGeometry
) -> None:
    scan = degrade(_hide_marks(filled_200, page, (3,)), Degradation(rotation=2.0), seed=4)
    aligned = align_page(set_upright(scan, find_code(scan)), page, dpi=200)
    assert aligned.marks == 3
    assert aligned.residual < 1.0
    assert _mark_centre_error(aligned.image, page, 200, (0, 1, 2)) < 1.5


def test_two_missing_marks_are_reported(filled_200: GrayImage, page: PageGeometry) -> None:
    scan = _hide_marks(filled_200, page, (2, 3))
    with pytest.raises(MarksNotFound, match="only 2 of the 4"):
        align_page(set_upright(scan, find_code(scan)), page, dpi=200)
