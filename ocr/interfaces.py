"""The protocols ocr/ is given: the OCR engine, and the checks of the values it reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
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


class ValueCheck(Protocol):
    """Whether a value read in a box is one its field accepts (the caller's own rules).

    ocr/ knows no field type: the caller hands one check per field, built from its own
    definitions, and the reader trusts a reading more when it passes, less when it fails.
    """

    @property
    def checksum(self) -> bool:
        """Whether the check is a checksum that no single misread character passes."""
        ...

    @property
    def lower_case(self) -> bool:
        """Whether the field's values are lower case whatever the hand (an e-mail address).

        The box is then read with the letters of its charset in lower case only: the
        handprint model folds a capital into its lower case, Tesseract reads lower case.
        """
        ...

    def __call__(self, text: str) -> bool:
        """Whether `text` is acceptable."""
        ...


class PairVerdict(StrEnum):
    """How a value and the other value read beside it agree."""

    CONFIRMED = "confirmed"
    #: They may both be right, but nothing confirms them: a person looks.
    UNCONFIRMED = "unconfirmed"
    #: The value itself is not one the pair check knows (a postcode no list has).
    UNKNOWN = "unknown"


class PairCheck(Protocol):
    """A field whose reading another field read on the same page confirms (postcode, city)."""

    @property
    def field(self) -> str:
        """The confirmed field."""
        ...

    @property
    def other(self) -> str:
        """The field that confirms it."""
        ...

    def __call__(self, value: str, other: str) -> PairVerdict:
        """The verdict on the two readings."""
        ...
