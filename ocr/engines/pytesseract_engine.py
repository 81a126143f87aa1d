"""Tesseract through pytesseract: one process per box, the portable fallback engine."""

from __future__ import annotations

import pytesseract
from PIL import Image

from ocr.interfaces import EngineReading, GrayImage


class PytesseractEngine:
    """Reads boxes by running the tesseract program once per box."""

    name = "pytesseract"

    def __init__(self, lang: str = "fra") -> None:
        self._lang = lang

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(image, charset, 7)

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(image, charset, 10)

    def _read(self, image: GrayImage, charset: str | None, mode: int) -> EngineReading:
        config = f"--psm {mode}"
        if charset:
            config += f" -c tessedit_char_whitelist={charset}"
        data = pytesseract.image_to_data(
            Image.fromarray(image),
            lang=self._lang,
            config=config,
            output_type=pytesseract.Output.DICT,
        )
        words: list[str] = []
        confidences: list[float] = []
        for text, confidence in zip(data["text"], data["conf"], strict=True):
            if text and text.strip() and float(confidence) >= 0:
                words.append(text.strip())
                confidences.append(float(confidence) / 100.0)
        if not words:
            return EngineReading("", 0.0)
        return EngineReading(" ".join(words), min(confidences))


def read_full_page(image: GrayImage, lang: str = "fra") -> str:
    """Full-page `image_to_string`: the baseline the scan benchmark compares against."""
    return str(pytesseract.image_to_string(Image.fromarray(image), lang=lang))
