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
#: Below this much ink (mm²) a text or comb box is empty ("unchanged").
FILLED_MM2 = 0.4
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
    """

    box: tuple[int, int, int, int]
    gray: GrayImage
    mask: Mask
    area_mm2: float
    share: float


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


def _remove_lines(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Remove straight lines spanning nearly the whole interior (a border that slipped in)."""
    height, width = mask.shape
    lines = np.zeros(mask.shape, dtype=bool)
    if width > 8:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(width * 0.8)), 1))
        lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel) > 0
    if height > 8:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(height * 0.95))))
        lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel) > 0
    if not lines.any():
        return mask
    grown = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.where(grown, 0, mask).astype(np.uint8)


def _remove_speckle(mask: npt.NDArray[np.uint8], min_area: float) -> npt.NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(count, dtype=np.uint8)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return np.asarray(keep[labels], dtype=np.uint8)


def measure_ink(aligned: AlignedPage, zone: Zone, blank: GrayImage | None = None) -> ZoneInk:
    """Clean a zone's interior and measure its ink.

    Args:
        aligned: the page aligned on the template.
        zone: the answer zone.
        blank: the blank template page at the same dpi, when the caller has it: anything
            printed there (separators, hints) is not counted as the customer's ink.
    """
    left, top, right, bottom = interior(aligned, zone.rect)
    gray = aligned.image[top:bottom, left:right]
    mask = (gray < ink_threshold(aligned)).astype(np.uint8)
    pixel_mm = 25.4 / aligned.dpi
    if zone.kind is ZoneKind.COMB and zone.cells and zone.cells > 1:
        scale = aligned.dpi / 72
        band = max(1, round(SEPARATOR_BAND * scale))
        cell = zone.rect.width / zone.cells
        for index in range(1, zone.cells):
            x = round((zone.rect.x + index * cell) * scale) - left
            mask[:, max(0, x - band) : max(0, x + band + 1)] = 0
    if blank is not None:
        printed = (blank[top:bottom, left:right] < 160).astype(np.uint8)
        if printed.any():
            grown = cv2.dilate(printed, np.ones((5, 5), np.uint8)) > 0
            mask = np.where(grown, 0, mask).astype(np.uint8)
    mask = _remove_lines(mask)
    mask = _remove_speckle(mask, SPECKLE_MM2 / pixel_mm**2)
    count = int(mask.sum())
    total = max(1, mask.size)
    return ZoneInk(
        (left, top, right, bottom), gray, mask.astype(bool), count * pixel_mm**2, count / total
    )


def classify_mark(ink: ZoneInk, kind: ZoneKind) -> Mark:
    """Ticked, empty or ambiguous for a checkbox; signed or not for a signature box."""
    if kind is ZoneKind.SIGNATURE:
        empty, marked = SIGNATURE_EMPTY_MM2, SIGNATURE_MM2
    else:
        empty, marked = CHECKBOX_EMPTY_MM2, CHECKBOX_MARKED_MM2
    if ink.area_mm2 < empty:
        return Mark.EMPTY
    if ink.area_mm2 >= marked:
        return Mark.MARKED
    return Mark.AMBIGUOUS


def is_filled(ink: ZoneInk) -> bool:
    """Whether a text or comb box holds writing (False means "unchanged")."""
    return ink.area_mm2 >= FILLED_MM2
