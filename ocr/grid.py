"""Find the printed outlines of the answer boxes near where an alignment puts them.

Each answer box is printed as a rectangle; its corners are points of the page known from
the template, spread over the whole page. Measured on the scan, they are the independent
evidence that checks (and completes) a fit on three registration squares and the code:
three squares fix an affine map exactly, so only other points can say it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ocr.geometry import OptionBox, PageGeometry, Rect
from ocr.interfaces import GrayImage

MM = 72 / 25.4
#: How far (mm) from its predicted place a box edge is searched.
SEARCH_MM = 2.5
#: Share of a short stretch of edge that must be dark for a printed line to count as found
#: (handwriting inside the box rarely draws a straight stroke that long).
LINE_COVER = 0.7
#: Length (mm) of the stretch of each edge measured next to a corner.
STRETCH_MM = 5.0

#: Where between the marks' black (0) and the paper (1) a box line's pixels still count as
#: ink: thin printed lines come out much lighter than the solid squares (blur, 150 dpi).
LINE_LEVEL = 0.75

Box = tuple[int, int, int, int]
Region = Callable[[Box], GrayImage]
"""The aligned pixels of a box (left, top, right, bottom), as AlignedPage.region gives them."""


@dataclass(frozen=True)
class GridPoint:
    """One corner of a printed answer box: where the template has it, where the scan does.

    Attributes:
        template: the corner in aligned pixels (the template point at the aligned dpi).
        measured: where the box's two edges cross near it, in the same aligned pixels.
    """

    template: tuple[float, float]
    measured: tuple[float, float]


def _peak(profile: npt.NDArray[np.int64], length: int) -> float | None:
    """Index of the darkest line of a profile of dark-pixel counts, if it is a printed line."""
    if profile.size == 0:
        return None
    best = int(np.argmax(profile))
    if profile[best] < LINE_COVER * length:
        return None
    # The centre of the run of near-maximal lines (a printed line is 1-3 pixels thick).
    near = np.nonzero(profile >= 0.8 * profile[best])[0]
    run = near[np.abs(near - best) <= 3]
    return float(run.mean())


def _corner(
    dark: npt.NDArray[np.int32],
    corner: tuple[float, float],
    inward: tuple[int, int],
    reach: int,
    along_x: tuple[int, int],
    along_y: tuple[int, int],
) -> tuple[float, float] | None:
    """Where the two edges meeting at `corner` (region pixels) are, measured next to it.

    Each edge is measured over a stretch (start, end: pixels from the corner into the box)
    starting as far in as the search reaches, so that a box found that far off still
    covers the whole stretch.
    """
    cx, cy = round(corner[0]), round(corner[1])
    sx, sy = inward
    height, width = dark.shape
    # The vertical edge: columns around cx, over a stretch going down (or up) the box side.
    y0, y1 = sorted((cy + sy * along_y[0], cy + sy * along_y[1]))
    x0, x1 = max(0, cx - reach), min(width, cx + reach + 1)
    y0, y1 = max(0, y0), min(height, y1)
    if y1 - y0 < (along_y[1] - along_y[0]) // 2 or x1 <= x0:
        return None
    column = _peak(dark[y0:y1, x0:x1].sum(axis=0), y1 - y0)
    # The horizontal edge: rows around cy, over a stretch along the box's top (or bottom).
    a0, a1 = sorted((cx + sx * along_x[0], cx + sx * along_x[1]))
    b0, b1 = max(0, cy - reach), min(height, cy + reach + 1)
    a0, a1 = max(0, a0), min(width, a1)
    if a1 - a0 < (along_x[1] - along_x[0]) // 2 or b1 <= b0:
        return None
    row = _peak(dark[b0:b1, a0:a1].sum(axis=1), a1 - a0)
    if column is None or row is None:
        return None
    return float(x0 + column), float(b0 + row)


def _stretch(side: float, reach: int, longest: float) -> tuple[int, int]:
    """The stretch of a box side measured next to a corner: from the reach in, half the side."""
    start = min(reach, 0.25 * side)
    return round(start), round(start + min(longest, 0.5 * side))


def line_level(black: float, paper: float) -> float:
    """The gray level under which a pixel of a printed box line is ink."""
    return black + LINE_LEVEL * (paper - black)


def grid_rects(page: PageGeometry) -> list[Rect]:
    """The boxes whose printed corners check an alignment: the answer boxes.

    A choice's Yes and No squares (layout 2) are left out: small, close together and
    often marked through their edges, their corners say less than the answer boxes do.
    """
    return [zone.rect for zone in page.zones if not isinstance(zone, OptionBox)]


def measure_grid(
    region: Region,
    page: PageGeometry,
    dpi: float,
    level: float,
    rects: Sequence[Rect] | None = None,
    search_mm: float = SEARCH_MM,
) -> list[GridPoint]:
    """The corners of the printed answer boxes found near where the alignment puts them.

    Args:
        region: warps aligned pixels of a box from the scan (the alignment being checked).
        page: the template page.
        dpi: the aligned resolution.
        level: gray level under which a pixel is ink (between the marks' black and the paper).
        rects: the boxes to measure (every zone's by default).
        search_mm: how far from its predicted place an edge is searched.
    """
    scale = dpi / 72
    reach = max(2, round(search_mm * MM * scale))
    points: list[GridPoint] = []
    seen: set[tuple[float, float, float, float]] = set()
    for rect in rects if rects is not None else grid_rects(page):
        key = (rect.x, rect.y, rect.width, rect.height)
        if key in seen:
            continue
        seen.add(key)
        left = rect.x * scale
        right = (rect.x + rect.width) * scale
        top = (page.height - rect.y - rect.height) * scale
        bottom = (page.height - rect.y) * scale
        along_x = _stretch(right - left, reach, STRETCH_MM * MM * scale)
        along_y = _stretch(bottom - top, reach, STRETCH_MM * MM * scale)
        if along_x[1] - along_x[0] < 6 or along_y[1] - along_y[0] < 6:
            continue
        box = (
            int(left) - 2 * reach,
            int(top) - 2 * reach,
            int(right) + 2 * reach + 1,
            int(bottom) + 2 * reach + 1,
        )
        dark = (region(box) < level).astype(np.int32)
        for x, y, inward in (
            (left, top, (1, 1)),
            (right, top, (-1, 1)),
            (right, bottom, (-1, -1)),
            (left, bottom, (1, -1)),
        ):
            found = _corner(dark, (x - box[0], y - box[1]), inward, reach, along_x, along_y)
            if found is not None:
                points.append(GridPoint((x, y), (found[0] + box[0], found[1] + box[1])))
    return points
