"""Find and decode the page's QR code: its payload and where its corners are."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from ocr.interfaces import GrayImage
from ocr.model import CodeNotFound

Point = tuple[float, float]

#: Long side of the downscaled page searched first (about 100 dpi for A4): most codes are
#: found there in a few milliseconds; the full-resolution page is searched only if not.
SEARCH_SIDE = 1200


@dataclass(frozen=True)
class CodeFinding:
    """A decoded QR code.

    Attributes:
        payload: the text it carries; the caller verifies and parses it.
        corners: its top-left, top-right, bottom-right and bottom-left corners as printed,
            in pixels of the scanned image (these turn with the page).
    """

    payload: str
    corners: tuple[Point, Point, Point, Point]


def _decode(gray: GrayImage, scale: float) -> CodeFinding | None:
    results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    for result in results:
        if not result.valid or not result.text:
            continue
        position = result.position
        points = (
            position.top_left,
            position.top_right,
            position.bottom_right,
            position.bottom_left,
        )
        corners = tuple((p.x / scale, p.y / scale) for p in points)
        return CodeFinding(result.text, corners)  # type: ignore[arg-type]
    return None


def find_code(gray: GrayImage) -> CodeFinding:
    """Find the page's QR code, on a downscaled page first, then at full resolution.

    Raises:
        CodeNotFound: no readable QR code on the page.
    """
    height, width = gray.shape
    scale = SEARCH_SIDE / max(height, width)
    if scale < 0.8:
        small: GrayImage = np.asarray(
            cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
        found = _decode(small, scale)
        if found is not None:
            return found
    found = _decode(gray, 1.0)
    if found is None:
        raise CodeNotFound("no readable QR code on the page")
    return found
