"""What the scan reader hands back: readings per zone, results per page, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ocr.geometry import ZoneKind


class Mark(StrEnum):
    """What a checkbox or a signature box holds."""

    MARKED = "marked"
    EMPTY = "empty"
    AMBIGUOUS = "ambiguous"


class ReviewReason(StrEnum):
    """Why a reading must not be applied without a person looking at it."""

    LOW_CONFIDENCE = "low_confidence"
    READINGS_DISAGREE = "readings_disagree"
    FAILED_CHECK = "failed_check"
    CORRECTED_BY_CHECK = "corrected_by_check"
    AMBIGUOUS_MARK = "ambiguous_mark"
    FAINT_INK = "faint_ink"
    UNREADABLE = "unreadable"
    UNCONFIRMED = "unconfirmed"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class Reading:
    """What the reader found in one answer zone.

    Attributes:
        field: the definition's field name.
        kind: the zone's kind.
        value: None when the box is empty (the customer changed nothing); for a checkbox
            "true" or "false" (None when ambiguous); "signed" for a signed signature box;
            otherwise the text read.
        confidence: 0..1, how sure the reader is of `value`.
        crop: the zone as a PNG, the evidence a clerk sees beside the proposal.
        warnings: why the value needs a person, empty when it may be applied automatically.
        choice: for a square of a choice field, the option it stands for.
        ink: share of the zone's interior covered by ink, after line and speckle removal.
        answer: for one of an option's two boxes (an OptionBox), "yes" or "no"; None for
            any other zone.
        read: the text box's or comb's first reading as the reader read it, before any
            check chose among its alternatives (None for marks and empty boxes).
        alternatives: per character of `read`, the candidate characters best first with
            their probabilities (calibrated for comb cells read by ocr/handprint.py;
            Tesseract's scores for text boxes); empty when the reader gives none.
    """

    field: str
    kind: ZoneKind
    value: str | None
    confidence: float
    crop: bytes
    warnings: tuple[str, ...] = ()
    choice: str | None = None
    ink: float = 0.0
    answer: str | None = None
    read: str | None = None
    alternatives: tuple[tuple[tuple[str, float], ...], ...] = ()

    @property
    def needs_review(self) -> bool:
        """Whether a clerk must confirm the value before it is applied."""
        return bool(self.warnings)


@dataclass(frozen=True)
class PageReading:
    """Everything read on one scanned page."""

    payload: str
    page_number: int
    rotation: int
    skew: float
    readings: tuple[Reading, ...]
    timings: dict[str, float] = field(default_factory=dict, compare=False)


class ScanError(Exception):
    """A page the reader cannot read; `reason` is a stable code shown to the operator."""

    reason = "unreadable_page"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnreadableImage(ScanError):
    """The file is not an image or PDF the reader can open (corrupt, protected, too large)."""

    reason = "unreadable_image"


class CodeNotFound(ScanError):
    """No QR code was found on the page (blank page, foreign page, badly damaged code)."""

    reason = "code_not_found"


class MarksNotFound(ScanError):
    """The registration marks were not found where the code says they are."""

    reason = "marks_not_found"


class UnknownPage(ScanError):
    """The caller could not match the code's payload to a form page."""

    reason = "unknown_page"


class MisalignedPage(MarksNotFound):
    """The marks, the code and the printed boxes do not agree on where the zones are."""

    reason = "misaligned_page"
