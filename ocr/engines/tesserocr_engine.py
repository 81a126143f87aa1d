"""Tesseract through tesserocr: the model stays loaded, one API object per process."""

from __future__ import annotations

import threading

from PIL import Image
from tesserocr import PSM, RIL, PyTessBaseAPI, iterate_level

from ocr.interfaces import EngineReading, GrayImage

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


class TesserocrEngine:
    """Reads boxes with one loaded Tesseract model; not shared between threads."""

    name = "tesserocr"

    def __init__(self, lang: str = "fra", tessdata: str = TESSDATA) -> None:
        self._api = PyTessBaseAPI(path=tessdata, lang=lang, psm=PSM.SINGLE_LINE)
        # Keeps per-character alternatives from the LSTM decoder for validators to choose from.
        self._api.SetVariable("lstm_choice_mode", "2")
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the model."""
        self._api.End()

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(image, charset, PSM.SINGLE_LINE)

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(image, charset, PSM.SINGLE_CHAR)

    def _read(self, image: GrayImage, charset: str | None, mode: int) -> EngineReading:
        with self._lock:
            api = self._api
            api.SetPageSegMode(mode)
            api.SetVariable("tessedit_char_whitelist", charset or "")
            api.SetImage(Image.fromarray(image))
            api.Recognize()
            symbols: list[str] = []
            confidences: list[float] = []
            alternatives: list[tuple[tuple[str, float], ...]] = []
            iterator = api.GetIterator()
            for symbol in iterate_level(iterator, RIL.SYMBOL):
                try:
                    text = symbol.GetUTF8Text(RIL.SYMBOL)
                except RuntimeError:  # an empty result has an iterator with no symbol
                    break
                if not text or text.isspace():
                    continue
                confidence = max(0.0, min(1.0, symbol.Confidence(RIL.SYMBOL) / 100.0))
                choices = [(text, confidence)]
                for choice in symbol.GetChoiceIterator():
                    candidate = choice.GetUTF8Text()
                    if candidate and candidate != text and all(candidate != c for c, _ in choices):
                        choices.append((candidate, max(0.0, choice.Confidence() / 100.0)))
                symbols.append(text)
                confidences.append(confidence)
                alternatives.append(tuple(choices))
            if not symbols:
                return EngineReading("", 0.0)
            # The weakest character bounds how sure we are of the whole value.
            return EngineReading("".join(symbols), min(confidences), tuple(alternatives))
