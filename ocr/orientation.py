"""Which way up a page is when its code cannot be read: the box grid and the code's area decide.

The four registration squares are symmetric, so a page without its code aligns both upright
and upside down. The printed answer boxes are not: aligned the right way, their corners are
where the template prints them; turned, few are. The code's area, when it still holds ink
(a damaged code), says the same. A page neither settles is refused, never read at 0 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocr.align import AlignedPage, align_page, set_upright
from ocr.geometry import PageGeometry
from ocr.identify import CodeFinding, Point
from ocr.interfaces import GrayImage
from ocr.model import MarksNotFound, ScanError

#: Share of the box corners the right orientation finds at least.
MIN_BOXES = 0.5
#: How much more evidence the chosen orientation needs than the next one.
MIN_LEAD = 0.25
#: Share of dark pixels in the code's area above which a code (even unreadable) is printed.
CODE_INK = 0.2


class OrientationUncertain(ScanError):
    """The page aligns in more than one orientation, or in none clearly: it is not read."""

    reason = "orientation_uncertain"


@dataclass(frozen=True)
class Oriented:
    """A page without its code, turned and aligned.

    Attributes:
        aligned: the page aligned on the template.
        rotation: degrees it was turned counter-clockwise (0, 90, 180, 270).
        evidence: per tried rotation, the score it got (box corners found, code ink).
    """

    aligned: AlignedPage
    rotation: int
    evidence: dict[int, float]


def _assumed_code(image: GrayImage, page: PageGeometry) -> CodeFinding:
    """The code's corners where the template prints it, the page filling the scan."""
    height, width = image.shape
    sx, sy = width / page.width, height / page.height
    qr = page.qr
    top = page.height - qr.y - qr.height
    corners: tuple[Point, Point, Point, Point] = (
        (qr.x * sx, top * sy),
        ((qr.x + qr.width) * sx, top * sy),
        ((qr.x + qr.width) * sx, (top + qr.height) * sy),
        (qr.x * sx, (top + qr.height) * sy),
    )
    return CodeFinding("", corners)


def _code_ink(aligned: AlignedPage) -> float:
    level = (aligned.black + aligned.paper) / 2
    return float(np.mean(aligned.region(aligned.box(aligned.page.qr)) < level))


def orient_without_code(gray: GrayImage, page: PageGeometry, dpi: float = 300) -> Oriented:
    """Turn and align a page whose code cannot be read, once its template is known.

    Each quarter turn is aligned on the squares, the code assumed where the template prints
    it; a turn scores the share of the printed box corners found where the template has
    them, plus one if the code's area holds a code's ink. The best turn must find at least
    half the box corners and lead the next by a quarter.

    Raises:
        MarksNotFound: no turn aligns on the squares.
        OrientationUncertain: no turn clearly wins: the page goes to an operator.
    """
    tried: dict[int, tuple[float, AlignedPage]] = {}
    for turns in range(4):
        image = np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray
        upright = set_upright(image, _assumed_code(image, page))
        try:
            aligned = align_page(upright, page, dpi, code_measured=False)
        except ScanError:
            continue
        score = aligned.boxes + (1.0 if _code_ink(aligned) > CODE_INK else 0.0)
        tried[90 * turns] = (score, aligned)
    if not tried:
        raise MarksNotFound("the corner squares were not found in any orientation")
    ranked = sorted(tried.items(), key=lambda item: item[1][0], reverse=True)
    rotation, (score, aligned) = ranked[0]
    runner_up = ranked[1][1][0] if len(ranked) > 1 else 0.0
    evidence = {turn: round(found[0], 3) for turn, found in tried.items()}
    if aligned.boxes < MIN_BOXES or score - runner_up < MIN_LEAD:
        raise OrientationUncertain(
            "which way up the page is cannot be told without its code (box corners and code "
            f"ink per rotation: {evidence})"
        )
    return Oriented(aligned, rotation, evidence)
