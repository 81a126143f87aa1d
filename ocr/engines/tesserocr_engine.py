"""Tesseract through tesserocr: the model stays loaded, one API object per process."""

from __future__ import annotations

import threading

from PIL import Image
from tesserocr import PSM, RIL, PyTessBaseAPI, iterate_level

from ocr.interfaces import EngineReading, GrayImage

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


class TesserocrEngine:
    """Reads boxes with Tesseract models loaded once; not shared between threads.

    Lines are read with `lang` (French by default, for accented names). Single comb cells are
    read with `character_lang`: measured on clean crops, the French model returns nothing for
    a lone "0" in single-character mode about half the time, the English one reads it.
    """

    name = "tesserocr"

    def __init__(
        self, lang: str = "fra", character_lang: str = "eng", tessdata: str = TESSDATA
    ) -> None:
        self._line = PyTessBaseAPI(path=tessdata, lang=lang, psm=PSM.SINGLE_LINE)
        self._character = (
            self._line
            if character_lang == lang
            else PyTessBaseAPI(path=tessdata, lang=character_lang, psm=PSM.SINGLE_CHAR)
        )
        for api in (self._line, self._character):
            # Keeps per-character alternatives from the LSTM decoder for checks to choose from.
            api.SetVariable("lstm_choice_mode", "2")
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the models."""
        self._line.End()
        if self._character is not self._line:
            self._character.End()

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._read(self._line, image, charset, PSM.SINGLE_LINE)

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        # Single-character mode sometimes returns nothing for a clear glyph; word mode and
        # the other model usually read it (measured: 0 of 150 typed cells missed so).
        attempts = (
            (self._character, PSM.SINGLE_CHAR),
            (self._character, PSM.SINGLE_WORD),
            (self._line, PSM.SINGLE_CHAR),
        )
        reading = EngineReading("", 0.0)
        for api, mode in attempts:
            reading = self._read(api, image, charset, mode)
            if len(reading.text) == 1:
                return reading
        return reading

    def _read(
        self, api: PyTessBaseAPI, image: GrayImage, charset: str | None, mode: int
    ) -> EngineReading:
        with self._lock:
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
                if symbols and symbol.IsAtBeginningOf(RIL.WORD):
                    # Words are not separated by a symbol: put the space back.
                    symbols.append(" ")
                    alternatives.append(((" ", 1.0),))
                symbols.append(text)
                confidences.append(confidence)
                alternatives.append(tuple(choices))
            if not symbols:
                return EngineReading("", 0.0)
            # The weakest character bounds how sure we are of the whole value.
            return EngineReading("".join(symbols), min(confidences), tuple(alternatives))
