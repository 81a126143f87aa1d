"""OCR of inked text and comb boxes: clean the crop, read the line and, for combs, each cell."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.align import AlignedPage
from ocr.geometry import Zone, ZoneKind
from ocr.ink import SPECKLE_MM2, ZoneInk
from ocr.interfaces import EngineReading, GrayImage, OcrEngine

#: White border added around a crop: Tesseract reads badly when ink touches the edge.
PADDING = 12


@dataclass(frozen=True)
class TextReadings:
    """The readings of one inked box.

    Attributes:
        line: the whole box read as one line.
        cells: for a comb, each inked cell read on its own and joined (None otherwise).
    """

    line: EngineReading
    cells: EngineReading | None


def clean_crop(ink: ZoneInk) -> GrayImage:
    """The box interior with everything but the customer's ink turned white, padded.

    The scanned gray levels are kept next to the ink (anti-aliased stroke edges read better
    than a hard binary image); lines, separators, speckle and show-through become paper.
    """
    keep = cv2.dilate(ink.mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cleaned = np.where(keep, ink.gray, 255).astype(np.uint8)
    padded = cv2.copyMakeBorder(
        cleaned, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT, value=(255,)
    )
    return np.asarray(padded, dtype=np.uint8)


def _compact(text: str) -> str:
    return "".join(text.split())


def _read_cells(
    aligned: AlignedPage, zone: Zone, ink: ZoneInk, engine: OcrEngine
) -> EngineReading | None:
    cells = zone.cells or 1
    width = ink.mask.shape[1]
    scale = aligned.dpi / 72
    cell_width = zone.rect.width * scale / cells
    offset = ink.box[0] - round(zone.rect.x * scale)
    pixel_mm2 = (25.4 / aligned.dpi) ** 2
    texts: list[str] = []
    confidences: list[float] = []
    alternatives: list[tuple[tuple[str, float], ...]] = []
    for index in range(cells):
        left = max(0, round(index * cell_width) - offset)
        right = min(width, round((index + 1) * cell_width) - offset)
        if right <= left:
            continue
        mask = ink.mask[:, left:right]
        if mask.sum() * pixel_mm2 < 2 * SPECKLE_MM2:
            continue
        cell = ZoneInk(ink.box, ink.gray[:, left:right], mask, 0.0, 0.0)
        reading = engine.read_character(clean_crop(cell), zone.charset)
        text = _compact(reading.text)
        if len(text) != 1:
            # One cell holds one character: anything else is a failed reading of that cell.
            return EngineReading("", 0.0)
        texts.append(text)
        confidences.append(reading.confidence)
        alternatives.append(reading.alternatives[0] if reading.alternatives else ((text, 1.0),))
    if not texts:
        return None
    return EngineReading("".join(texts), min(confidences), tuple(alternatives))


def read_text(
    aligned: AlignedPage, zone: Zone, ink: ZoneInk, engine: OcrEngine, cell_reading: bool = True
) -> TextReadings:
    """Read an inked box with the field's charset.

    Args:
        aligned: the aligned page.
        zone: a TEXT or COMB zone.
        ink: its measured ink.
        engine: the OCR engine.
        cell_reading: also read a comb cell by cell, the second reading confidence compares.
    """
    line = engine.read_line(clean_crop(ink), zone.charset)
    if zone.kind is ZoneKind.COMB:
        line = EngineReading(_compact(line.text), line.confidence, line.alternatives)
    else:
        line = EngineReading(" ".join(line.text.split()), line.confidence, line.alternatives)
    cells = None
    if cell_reading and zone.kind is ZoneKind.COMB and (zone.cells or 0) > 1:
        cells = _read_cells(aligned, zone, ink, engine)
    return TextReadings(line, cells)
