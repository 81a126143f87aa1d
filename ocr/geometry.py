"""The template geometry the scan reader works from, in PDF points (origin bottom-left).

The layout is a pure function of (definition, version): forms_service computes it and hands
it over in these types, so that the reader can recompute every zone from a QR payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ZoneKind(StrEnum):
    """What an answer zone holds."""

    TEXT = "text"
    COMB = "comb"
    CHECKBOX = "checkbox"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in PDF points, (x, y) its bottom-left corner."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Zone:
    """One answer box on a page.

    Attributes:
        field: the definition's field name.
        kind: text box, comb cells, checkbox or signature box.
        rect: where the box is printed.
        cells: number of comb cells (COMB only).
        charset: characters OCR may return (None: any).
        choice: for a choice field, the option value this square stands for.
    """

    field: str
    kind: ZoneKind
    rect: Rect
    cells: int | None = None
    charset: str | None = None
    choice: str | None = None


class OptionAnswer(StrEnum):
    """Which of an option's two boxes a square is, on layouts that print both."""

    YES = "yes"
    NO = "no"


@dataclass(frozen=True)
class OptionBox(Zone):
    """One of the two squares of a choice option (its Yes or its No), read like a checkbox.

    A subclass rather than a new attribute of Zone: the zones of the layouts printed before
    it (and their fingerprints) stay exactly what they were.

    Attributes:
        answer: whether a mark here says "yes, this option" or "no, not this option".
        evidence: the area shown to a clerk as this square's crop (its whole choice, labels
            and states included, so that the marks are seen in their rows); None: the square.
    """

    answer: OptionAnswer = OptionAnswer.YES
    evidence: Rect | None = None


@dataclass(frozen=True)
class PageGeometry:
    """One form page: size, registration mark centres, the QR code area and the zones."""

    number: int
    width: float
    height: float
    marks: tuple[tuple[float, float], ...]
    mark_size: float
    qr: Rect
    zones: tuple[Zone, ...]


@dataclass(frozen=True)
class FormGeometry:
    """Every page of one form version."""

    form_id: str
    version: int
    pages: tuple[PageGeometry, ...]

    def page(self, number: int) -> PageGeometry:
        """The page with that number; KeyError when the form has no such page."""
        for page in self.pages:
            if page.number == number:
                return page
        raise KeyError(number)
