"""Ink in an answer zone: empty or filled boxes, ticked checkboxes, signatures."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ocr.align import MM, AlignedPage
from ocr.geometry import Rect, Zone, ZoneKind
from ocr.interfaces import GrayImage
from ocr.model import Mark

Mask = npt.NDArray[np.bool_]

#: How far inside the printed box lines the reader looks (the lines and their blur stay out).
INSET = 0.9 * MM
#: Half-width of the band whitened around each comb separator.
SEPARATOR_BAND = 0.45 * MM
#: Ink blobs smaller than this (mm²) are speckle, dust or scanner noise.
SPECKLE_MM2 = 0.05
#: Blobs smaller than this (mm²) count only within DOT_REACH_MM of a larger stroke: the dot
#: of an "i" or a "." stays, lone dust specks (up to 0.4 mm across) go.
DOT_MM2 = 0.15
DOT_REACH_MM = 1.5
#: Below this much ink (mm²) a text or comb box is empty ("unchanged").
FILLED_MM2 = 0.4
#: Faint ink: gray levels within this share of the paper-to-black range from the paper
#: (show-through stays lighter), and how much of it (mm²) makes a box "not surely empty".
FAINT_SHARE = 0.3
FAINT_MM2 = 0.8
#: Checkbox: below EMPTY_MM2 empty, from MARKED_MM2 up ticked, ambiguous in between.
CHECKBOX_EMPTY_MM2 = 0.35
CHECKBOX_MARKED_MM2 = 1.0
#: Signature box: below SIGNATURE_EMPTY_MM2 unsigned, from SIGNATURE_MM2 up signed.
SIGNATURE_EMPTY_MM2 = 1.5
SIGNATURE_MM2 = 6.0


@dataclass(frozen=True)
class ZoneInk:
    """The cleaned ink inside one zone.

    Attributes:
        box: pixel box (left, top, right, bottom) of the zone's interior on the aligned page.
        gray: the interior as scanned.
        mask: True where ink remains after box lines, separators and speckle are removed.
        area_mm2: inked area in square millimetres.
        share: inked share of the interior, 0..1.
        faint: the ink was found only near the paper's gray level (a clerk must look).
        black: gray level of the page's printed black.
        paper: gray level of its paper.
    """

    box: tuple[int, int, int, int]
    gray: GrayImage
    mask: Mask
    area_mm2: float
    share: float
    faint: bool = False
    black: float = 0.0
    paper: float = 255.0


def interior(aligned: AlignedPage, rect: Rect) -> tuple[int, int, int, int]:
    """Pixel box of a rectangle shrunk by INSET on every side (inside the printed lines)."""
    inner = Rect(rect.x + INSET, rect.y + INSET, rect.width - 2 * INSET, rect.height - 2 * INSET)
    return aligned.box(inner)


def ink_threshold(aligned: AlignedPage) -> float:
    """Gray level under which a pixel is ink: halfway between the marks' black and the paper.

    Halfway keeps faint show-through from the back of the sheet (a little darker than the
    paper) out, and keeps light pen strokes in, whatever the scanner's contrast.
    """
    return aligned.black + 0.5 * (aligned.paper - aligned.black)


def _remove_lines(mask: npt.NDArray[np.uint8], text: bool = False) -> npt.NDArray[np.uint8]:
    """Remove straight lines spanning nearly the whole interior (a border that slipped in).

    In a text box (`text`), a vertical line must cross the interior from edge to edge: a
    tall handwritten "l" (95% of it in some hands) stays. In a comb, any one that tall is
    a separator's remains.
    """
    height, width = mask.shape
    lines = np.zeros(mask.shape, dtype=bool)
    if width > 8:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(width * 0.8)), 1))
        lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel) > 0
    if height > 8:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(height * 0.95))))
        upright = (cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel) > 0).astype(np.uint8)
        if text:
            count, labels, stats, _ = cv2.connectedComponentsWithStats(upright, connectivity=8)
            crossing = [
                i for i in range(1, count)
                if stats[i, cv2.CC_STAT_TOP] <= 1
                and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] >= height - 1
            ]  # fmt: skip
            upright = np.isin(labels, crossing).astype(np.uint8)
        lines |= upright > 0
    if not lines.any():
        return mask
    grown = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.where(grown, 0, mask).astype(np.uint8)


def _remove_speckle(mask: npt.NDArray[np.uint8], pixel_mm: float) -> npt.NDArray[np.uint8]:
    """Drop dust: tiny blobs always, small ones unless near real strokes (an "i" dot, a ".")."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA] * pixel_mm**2
    large = areas >= DOT_MM2
    large[0] = False
    keep = large.copy()
    small = (areas >= SPECKLE_MM2) & ~large
    small[0] = False
    if small.any() and large.any():
        reach = max(3, round(2 * DOT_REACH_MM / pixel_mm) | 1)
        strokes = cv2.dilate(large[labels].astype(np.uint8), np.ones((reach, reach), np.uint8))
        near = np.unique(labels[(strokes > 0) & small[labels]])
        keep[near] = True
    return np.asarray(keep[labels], dtype=np.uint8)


def _clean_mask(
    aligned: AlignedPage,
    zone: Zone,
    gray: GrayImage,
    threshold: float,
    printed: Mask | None,
    left: int,
) -> npt.NDArray[np.uint8]:
    mask = (gray < threshold).astype(np.uint8)
    if zone.kind is ZoneKind.COMB and zone.cells and zone.cells > 1:
        scale = aligned.dpi / 72
        band = max(1, round(SEPARATOR_BAND * scale))
        cell = zone.rect.width / zone.cells
        for index in range(1, zone.cells):
            x = round((zone.rect.x + index * cell) * scale) - left
            mask[:, max(0, x - band) : max(0, x + band + 1)] = 0
    if printed is not None:
        mask = np.where(printed, 0, mask).astype(np.uint8)
    mask = _remove_lines(mask, text=zone.kind is ZoneKind.TEXT)
    return _remove_speckle(mask, 25.4 / aligned.dpi)


def measure_ink(aligned: AlignedPage, zone: Zone, blank: GrayImage | None = None) -> ZoneInk:
    """Clean a zone's interior and measure its ink.

    Ink is first looked for at the normal threshold. When there is too little, the zone is
    looked at again with a threshold close to the paper: faint or very thin writing found
    that way is returned with `faint` set, so that it goes to a clerk instead of being
    taken for an empty box ("unchanged").

    Args:
        aligned: the page aligned on the template.
        zone: the answer zone.
        blank: the blank template page at the same dpi, when the caller has it: anything
            printed there (separators, hints) is not counted as the customer's ink.
    """
    left, top, right, bottom = interior(aligned, zone.rect)
    gray = aligned.region((left, top, right, bottom))
    printed: Mask | None = None
    if blank is not None:
        dark = (blank[top:bottom, left:right] < 160).astype(np.uint8)
        if dark.any():
            printed = cv2.dilate(dark, np.ones((5, 5), np.uint8)) > 0
    pixel_mm2 = (25.4 / aligned.dpi) ** 2
    sensitive = aligned.paper - FAINT_SHARE * (aligned.paper - aligned.black)
    # A light pen on a pale scan sits above the page's midpoint: the zone's own Otsu
    # threshold follows it, never beyond the faint-ink level (show-through stays out).
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    threshold = max(ink_threshold(aligned), min(float(otsu), sensitive))
    mask = _clean_mask(aligned, zone, gray, threshold, printed, left)
    faint = False
    if int(mask.sum()) * pixel_mm2 < FILLED_MM2:
        faint_mask = _clean_mask(aligned, zone, gray, sensitive, printed, left)
        if int(faint_mask.sum()) * pixel_mm2 >= FAINT_MM2:
            mask, faint = faint_mask, True
    count = int(mask.sum())
    total = max(1, mask.size)
    box = (left, top, right, bottom)
    return ZoneInk(
        box, gray, mask.astype(bool), count * pixel_mm2, count / total, faint,
        aligned.black, aligned.paper,
    )  # fmt: skip


def classify_mark(ink: ZoneInk, kind: ZoneKind) -> Mark:
    """Ticked, empty or ambiguous for a checkbox; signed or not for a signature box."""
    if kind is ZoneKind.SIGNATURE:
        empty, marked = SIGNATURE_EMPTY_MM2, SIGNATURE_MM2
    else:
        empty, marked = CHECKBOX_EMPTY_MM2, CHECKBOX_MARKED_MM2
    if ink.faint:
        return Mark.AMBIGUOUS
    if ink.area_mm2 < empty:
        return Mark.EMPTY
    if ink.area_mm2 >= marked:
        return Mark.MARKED
    return Mark.AMBIGUOUS


def is_filled(ink: ZoneInk) -> bool:
    """Whether a text or comb box holds writing (False means "unchanged")."""
    return ink.area_mm2 >= FILLED_MM2
