"""Tesseract through pytesseract: one process per box, the portable fallback engine."""

from __future__ import annotations

import shlex

import pytesseract
from PIL import Image

from ocr.interfaces import EngineReading, GrayImage


class PytesseractEngine:
    """Reads boxes by running the tesseract program once per box."""

    name = "pytesseract"

    def __init__(self, lang: str = "fra", character_lang: str = "eng") -> None:
        self._lang = lang
        self._character_lang = character_lang

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(image, charset, 7, self._lang)

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        # Same language split and retries as TesserocrEngine: see its docstring.
        reading = EngineReading("", 0.0)
        for mode, lang in ((10, self._character_lang), (8, self._character_lang), (10, self._lang)):
            reading = self._read(image, charset, mode, lang)
            if len(reading.text) == 1:
                return reading
        return reading

    def _read(self, image: GrayImage, charset: str | None, mode: int, lang: str) -> EngineReading:
        config = f"--psm {mode}"
        if charset:
            # pytesseract splits its config like a shell: quote names with apostrophes.
            config += " -c " + shlex.quote(f"tessedit_char_whitelist={charset}")
        data = pytesseract.image_to_data(
            Image.fromarray(image),
            lang=lang,
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
