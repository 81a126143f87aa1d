"""Alignments an operator chooses for a page the registration squares cannot align.

A page whose squares are cut off or disagree is refused by align_page; the operator who
looked at it may still have it read, every value then going to a clerk: aligned on its
code's corners alone (the code was read: position, scale and tilt are known near it), or
on the scan's frame (the sheet filled the scanner). Neither is checked by the squares, so
the reader never applies what it reads this way without a person.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np

from ocr.align import AlignedPage, Matrix, UprightPage, code_similarity
from ocr.geometry import PageGeometry
from ocr.grid import MM, SEARCH_MM, line_level, measure_grid
from ocr.interfaces import GrayImage
from ocr.orientation import MIN_BOXES, MIN_LEAD, OrientationUncertain

#: How far (mm) the box edges are first searched on a page aligned on the scan's frame,
#: once the frame's shift is measured (_frame_shift): the tilt is still to correct.
FRAME_SEARCH_MM = 4.0


class Alignment(StrEnum):
    """How a page is put onto its template."""

    #: The registration squares, the code's corners and the box grid (align_page).
    SQUARES = "squares"
    #: The code's corners alone: a similarity (shift, scale, tilt) from where it was read.
    CODE = "code"
    #: The scan's frame: the scanned image is taken to be the whole page.
    FRAME = "frame"


def _levels(gray: GrayImage) -> tuple[float, float]:
    """Ink and paper gray levels of a page (no square to measure them on)."""
    return float(np.percentile(gray, 0.5)), float(np.percentile(gray, 60))


def _with_grid(
    source: GrayImage, matrix: Matrix, page: PageGeometry, dpi: float, first_search: float
) -> AlignedPage:
    """The first alignment corrected on the printed box corners found near where it puts them.

    The boxes are searched up to `first_search` mm away first, then, with the corrected
    alignment, SEARCH_MM; an affine map is fitted on them, far ones left out (RANSAC).
    """
    black, paper = _levels(source)
    level = line_level(black, paper)
    corners = 4 * len({z.rect for z in page.zones})
    share = 0.0
    for search in (first_search, SEARCH_MM):
        aligned = AlignedPage(source, matrix, dpi, page, black, paper, marks=0)
        found = measure_grid(aligned.region, page, dpi, level, search_mm=search)
        share = len(found) / corners if corners else 1.0
        if len(found) < 3:
            break
        measured = np.array([p.measured for p in found], dtype=np.float64).reshape(-1, 1, 2)
        scan = cv2.perspectiveTransform(measured, np.linalg.inv(matrix)).reshape(-1, 2)
        template = np.array([p.template for p in found], dtype=np.float64)
        fitted, _ = cv2.estimateAffine2D(
            scan, template, ransacReprojThreshold=MM * dpi / 72, method=cv2.RANSAC
        )
        if fitted is None:
            break
        matrix = np.vstack([fitted, [0.0, 0.0, 1.0]])
    return AlignedPage(source, matrix, dpi, page, black, paper, 0, 0.0, share)


def _drawn_boxes(page: PageGeometry, per_mm: float) -> GrayImage:
    """The template's boxes and squares drawn in white on black, `per_mm` pixels a millimetre."""
    scale = per_mm / MM
    size = (round(page.height * scale), round(page.width * scale))
    drawing = np.zeros(size, dtype=np.uint8)
    for zone in page.zones:
        rect = zone.rect
        top_left = (round(rect.x * scale), round((page.height - rect.y - rect.height) * scale))
        bottom_right = (
            round((rect.x + rect.width) * scale),
            round((page.height - rect.y) * scale),
        )
        cv2.rectangle(drawing, top_left, bottom_right, (255,), 1)
    half = page.mark_size / 2
    for x, y in page.marks:
        cv2.rectangle(
            drawing,
            (round((x - half) * scale), round((page.height - y - half) * scale)),
            (round((x + half) * scale), round((page.height - y + half) * scale)),
            (255,),
            -1,
        )
    return drawing


def _frame_shift(image: GrayImage, page: PageGeometry) -> tuple[float, float]:
    """How far (mm, right and down) the printed page lies from the scan's frame.

    The scan, one pixel a millimetre, is correlated with the template's boxes and squares
    drawn the same way (phase correlation: a shift of a few centimetres is found at once).
    """
    per_mm = 2.0
    template = _drawn_boxes(page, per_mm).astype(np.float32)
    height, width = template.shape
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ink = small < (int(np.percentile(small, 60)) + int(np.percentile(small, 0.5))) / 2
    blur = (3, 3)
    (dx, dy), _ = cv2.phaseCorrelate(
        cv2.blur(template, blur), cv2.blur(ink.astype(np.float32) * 255, blur)
    )
    return dx / per_mm, dy / per_mm


def align_on_code(upright: UprightPage, page: PageGeometry, dpi: float = 300) -> AlignedPage:
    """The page aligned by its code's four corners alone (a similarity: no perspective)."""
    similarity = code_similarity(page, upright.code)  # template points -> scan pixels
    to_scan = np.vstack([similarity, [0.0, 0.0, 1.0]])
    to_pixels = np.diag([dpi / 72, dpi / 72, 1.0])
    return _with_grid(upright.image, to_pixels @ np.linalg.inv(to_scan), page, dpi, SEARCH_MM)


def align_on_frame(
    gray: GrayImage, page: PageGeometry, dpi: float = 300, rotation: int | None = None
) -> tuple[AlignedPage, int]:
    """The page aligned on the scan's frame, turned by `rotation` (or by its box grid).

    Without a rotation (no code was read), each quarter turn is tried and the one whose
    printed boxes are found where the template has them wins, as in orient_without_code.

    Raises:
        OrientationUncertain: no rotation given and no turn clearly wins.
    """
    tried: list[tuple[float, int, AlignedPage]] = []
    for turns in [rotation // 90] if rotation is not None else range(4):
        image = np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray
        height, width = image.shape
        scale = np.diag([dpi / 72 * page.width / width, dpi / 72 * page.height / height, 1.0])
        dx, dy = _frame_shift(image, page)
        to_pixels = dpi / 72 * MM
        shift = np.array([[1.0, 0.0, -dx * to_pixels], [0.0, 1.0, -dy * to_pixels], [0, 0, 1]])
        aligned = _with_grid(image, shift @ scale, page, dpi, FRAME_SEARCH_MM)
        tried.append((aligned.boxes, 90 * (turns % 4), aligned))
    tried.sort(key=lambda item: item[0], reverse=True)
    share, turned, aligned = tried[0]
    if rotation is None and (
        share < MIN_BOXES or (len(tried) > 1 and share - tried[1][0] < MIN_LEAD)
    ):
        raise OrientationUncertain(
            "which way up the page is cannot be told from its frame and its printed boxes"
        )
    return aligned, turned
