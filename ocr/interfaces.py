"""The protocol every OCR engine implements, and the values engines return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

GrayImage = npt.NDArray[np.uint8]
"""A grayscale image, rows x columns, 0 black .. 255 white."""


@dataclass(frozen=True)
class EngineReading:
    """The text an engine read in one image.

    Attributes:
        text: the best reading, without line breaks.
        confidence: 0..1.
        alternatives: per character of `text`, the candidate characters best first, with a
            score 0..1 each; empty when the engine gives none.
    """

    text: str
    confidence: float
    alternatives: tuple[tuple[tuple[str, float], ...], ...] = ()


class OcrEngine(Protocol):
    """Reads the text of a small, cleaned image (black ink on white)."""

    name: str

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        """Read one line of text, restricted to `charset` when given."""
        ...

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        """Read a single character (one comb cell), restricted to `charset` when given."""
        ...
