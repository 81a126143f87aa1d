"""The printed box corners are found where they are, even when an alignment is a little off."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ocr.align import MM, align_page, set_upright
from ocr.geometry import PageGeometry
from ocr.grid import line_level, measure_grid
from ocr.identify import find_code
from tests.ocr_pages import GrayImage


@pytest.mark.parametrize("off_mm", [(0.0, 0.0), (1.5, -1.0)])
def test_box_corners_are_measured_where_they_are_printed(
    filled_200: GrayImage, page: PageGeometry, off_mm: tuple[float, float]
) -> None:
    aligned = align_page(set_upright(filled_200, find_code(filled_200)), page, dpi=200)
    per_mm = 200 / 72 * MM
    # An alignment off by `off_mm`: the boxes appear that far from their template places.
    shift = np.array([[1, 0, off_mm[0] * per_mm], [0, 1, off_mm[1] * per_mm], [0, 0, 1]])
    off = replace(aligned, matrix=shift @ aligned.matrix)
    found = measure_grid(off.region, page, 200, line_level(off.black, off.paper))
    assert len(found) == 4 * len({z.rect for z in page.zones})
    for point in found:
        dx = point.measured[0] - point.template[0]
        dy = point.measured[1] - point.template[1]
        assert dx == pytest.approx(off_mm[0] * per_mm, abs=1.5)
        assert dy == pytest.approx(off_mm[1] * per_mm, abs=1.5)


def test_nothing_is_found_on_a_page_without_boxes(page: PageGeometry) -> None:
    white = np.full((2339, 1654), 255, dtype=np.uint8)
    assert measure_grid(lambda box: white[box[1] : box[3], box[0] : box[2]], page, 200, 160) == []
