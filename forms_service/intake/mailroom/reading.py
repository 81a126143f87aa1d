"""Read one scanned page through ocr/: find its code, align it, read its zones, keep the crops.

The steps are small functions so that the page job (pages.py) only orders them: load the
page, identify it (identification.py), let ocr/ align and read it here, and, once every page
of a document is read, build the paper answer (answers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from forms_service.core.i18n import N_
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.mailroom.identification import (
    UNKNOWN_LAYOUT,
    Identity,
    PageException,
)
from forms_service.intake.mailroom.suggestions import letters_of, suggest_page
from forms_service.issuing.layout import LAYOUTS, UnknownLayoutVersion, answer_zones
from forms_service.storage.filestore import FileStore
from ocr.align import set_upright
from ocr.confidence import DEFAULT_THRESHOLD
from ocr.geometry import FormGeometry, PageGeometry
from ocr.identify import CodeFinding, find_code
from ocr.interfaces import GrayImage, OcrEngine
from ocr.manual import Alignment, align_on_code, align_on_frame
from ocr.model import CodeNotFound, PageReading, Reading, ScanError
from ocr.orientation import orient_without_code
from ocr.pipeline import PageContext, check_pairs, read_page, read_zone

log = logging.getLogger(__name__)

#: The warning of a value read on a page aligned without its code.
WITHOUT_CODE = "read_without_code"
#: The warning of a value read on a page aligned the way an operator chose (not checked by
#: the corner squares): it always goes to a clerk.
ALIGNED_BY_OPERATOR = "aligned_by_operator"
#: Operator-facing reasons per ocr/ error code.
SCAN_REASONS = {
    "code_not_found": (
        "unreadable_code",
        N_(
            "no readable QR code: a page of another sender, a damaged code, or a photo of "
            "a screen rather than a scan of the paper form"
        ),
    ),
    "marks_not_found": (
        "unaligned_page",
        N_(
            "fewer than three of the four corner squares were found: the page is cut, folded "
            "or photographed"
        ),
    ),
    "misaligned_page": (
        "unaligned_page",
        N_(
            "the corner squares, the code and the printed boxes disagree on where the answers "
            "are: the page is folded, stretched or has something stuck on it"
        ),
    ),
    "orientation_uncertain": (
        "orientation_uncertain",
        N_(
            "the code cannot be read and the printed boxes do not say which way up the page "
            "is: it is not read; assign it aligned on the edges of the scan, saying how to turn it"
        ),
    ),
    "unreadable_image": ("unreadable_image", N_("the image cannot be decoded")),
    "unknown_page": ("unknown_page", N_("the code names a page the form does not have")),
}


@dataclass(frozen=True)
class ReadResult:
    """A page read: who it is, and what each zone holds (crops in the file store)."""

    identity: Identity
    rotation: int
    skew: float
    zones: tuple[dict[str, Any], ...] = field(default_factory=tuple)


#: The geometry of a definition in a layout version.
GeometryOf = Callable[[FormDefinition, int], FormGeometry]
#: The printed, unfilled form page (definition, layout version, page, resolution); None
#: when it cannot be rendered.
BlankOf = Callable[[FormDefinition, int, int, float], "GrayImage | None"]


class BlankPages:
    """The service knows the exact blank page: each form page, rendered once per process.

    Handed to ocr/ so that anything printed inside a box (separators, hints) is not taken
    for the customer's ink. The page code and reference differ per document but lie
    outside every answer box, so one rendering serves every document of a form version
    printed with one layout version.
    """

    def __init__(self, render: Callable[[FormDefinition, int], bytes]) -> None:
        self.render = render
        self._pages: dict[tuple[str, int, str, int, int, float], GrayImage | None] = {}

    def __call__(
        self, definition: FormDefinition, layout: int, number: int, dpi: float
    ) -> GrayImage | None:
        key = (definition.id, definition.version, definition.path, layout, number, dpi)
        if key not in self._pages:
            self._pages[key] = self._rasterise(definition, layout, number, dpi)
        return self._pages[key]

    def _rasterise(
        self, definition: FormDefinition, layout: int, number: int, dpi: float
    ) -> GrayImage | None:
        import pypdfium2 as pdfium

        try:
            document = pdfium.PdfDocument(self.render(definition, layout))
        except Exception:  # no blank page: the reader works without one
            log.exception("cannot render the blank pages of form %s", definition.id)
            return None
        try:
            if number >= len(document):  # page 0 is the covering letter
                return None
            bitmap = document[number].render(scale=dpi / 72, grayscale=True)
            array = bitmap.to_numpy().reshape(bitmap.height, bitmap.width, -1)[:, :, 0]
            return np.ascontiguousarray(array, dtype=np.uint8)
        finally:
            document.close()


def geometry_of(definition: FormDefinition, layout: int) -> FormGeometry:
    """The definition's form geometry in a layout version (pure: recomputed, never stored)."""
    return LAYOUTS.geometry(definition, layout)


def read_scanned_page(
    gray: GrayImage,
    *,
    identify_payload: Callable[[str], Identity],
    assigned: Identity | None,
    definitions: Mapping[str, FormDefinition],
    engine: OcrEngine,
    files: FileStore,
    settings: ReadingSettings | None = None,
    geometry: GeometryOf = geometry_of,
    blank: BlankOf | None = None,
    alignment: Alignment = Alignment.SQUARES,
    turn: int | None = None,
    channel: Channel = Channel.PAPER,
) -> ReadResult:
    """Identify and read one page through ocr/; crops go to the file store.

    The code is decoded first so that the reading settings (field types for the checks) are
    the form's; an operator's assignment (`assigned`) replaces the code's identification,
    and may choose how the page is aligned (`alignment` and `turn`, see read_aligned).
    Only the zones of fields answered on `channel` are read (`answer_zones`: a paper letter's
    fields, or a flattened PDF return's), whatever the layout version printed.

    Raises:
        PageException: the page cannot be identified or read; the code says why.
    """
    settings = settings or ReadingSettings()
    identity = assigned
    found: CodeFinding | None = None
    try:
        if identity is None:
            found = find_code(gray)
            identity = identify_payload(found.payload)
        definition = definitions[identity.form_id]
        # The zones of the layout the page was printed with, never the current one's.
        page = answer_zones(
            definition, geometry(definition, identity.layout).page(identity.page), channel
        )
        context = context_for(definition, dpi=settings.dpi, threshold=settings.threshold)
        template = (
            blank(definition, identity.layout, identity.page, settings.dpi) if blank else None
        )
        try:
            if alignment is not Alignment.SQUARES:
                reading = read_aligned(gray, page, alignment, engine, context, template, turn=turn)
            else:
                # The code found above is handed over, so the page is not searched twice.
                reading = read_page(gray, lambda _payload: page, engine, context, template, found)
        except CodeNotFound:
            if assigned is None:
                raise
            # The operator said which page it is: align on the corner squares alone.
            reading = read_without_code(gray, page, engine, context, template)
    except KeyError:
        raise PageException(
            "unknown_page", N_("the code names a page the form does not have")
        ) from None
    except UnknownLayoutVersion as exc:  # an assigned page of a newer deployment's document
        document_id = identity.document_id if identity else None
        figures = {name: str(value) for name, value in exc.params.items()}
        raise PageException(UNKNOWN_LAYOUT, exc.message, figures, document_id=document_id) from exc
    except ScanError as exc:
        # A code ocr/ adds later has no catalogue text yet: its English message is kept.
        code, reason = SCAN_REASONS.get(exc.reason, (exc.reason, exc.message))
        document_id = identity.document_id if identity else None
        raise PageException(code, reason, document_id=document_id) from exc
    return ReadResult(
        identity=identity,
        rotation=reading.rotation,
        skew=reading.skew,
        zones=tuple(
            _stored(s.reading, files, engine.name, s.evidence)
            for s in suggest_page(
                _readings(reading),
                context.checks,
                context.pairs,
                letters_of({f.name: f.type for f in definition.fields}),
            )
        ),
    )


@dataclass(frozen=True)
class ReadingSettings:
    """How pages are read: resolution of the aligned page and the review threshold."""

    dpi: float = 300
    threshold: float = DEFAULT_THRESHOLD


def read_without_code(
    gray: GrayImage,
    page: PageGeometry,
    engine: OcrEngine,
    context: PageContext,
    blank: GrayImage | None = None,
) -> PageReading:
    """Read a page whose code cannot be read, once an operator has said which page it is.

    The code normally tells which way up the page is and roughly where the corner squares
    are; here ocr/ tries each quarter turn and keeps the one whose printed boxes are where
    the template has them (orient_without_code): a page it cannot orient is refused, never
    read at 0 degrees. Every value read this way goes to a clerk (warning `read_without_code`).

    Raises:
        MarksNotFound: the corner squares are not found in any orientation.
        OrientationUncertain: which way up the page is cannot be told.
    """
    oriented = orient_without_code(gray, page, context.dpi)
    aligned = oriented.aligned
    readings = [read_zone(aligned, zone, engine, context, blank) for zone in page.zones]
    flagged = [
        replace(r, warnings=(*r.warnings, WITHOUT_CODE)) if r.value is not None else r
        for r in check_pairs(readings, context)
    ]
    return PageReading("", page.number, oriented.rotation, 0.0, tuple(flagged))


def read_aligned(
    gray: GrayImage,
    page: PageGeometry,
    alignment: Alignment,
    engine: OcrEngine,
    context: PageContext,
    blank: GrayImage | None = None,
    *,
    turn: int | None = None,
) -> PageReading:
    """Read a page aligned the way an operator chose: on its code alone, or on the scan's frame.

    The way forward for a page the corner squares cannot align (cut off, covered): the
    alignment is corrected on the printed box grid, and every value read goes to a clerk
    (warning `aligned_by_operator`), whatever its confidence. `turn` (frame only) is how
    many degrees the operator saw the scan must be turned counter-clockwise to stand
    upright; without it the printed boxes decide.

    Raises:
        CodeNotFound: aligned on the code, but no code can be read.
        OrientationUncertain: aligned on the frame without a turn, on a page whose boxes do
            not say which way up it is.
    """
    code = find_code(gray) if alignment is Alignment.CODE else None
    if code is not None:
        upright = set_upright(gray, code)
        aligned, rotation = align_on_code(upright, page, context.dpi), upright.rotation
    else:
        aligned, rotation = align_on_frame(gray, page, context.dpi, rotation=turn)
    readings = [read_zone(aligned, zone, engine, context, blank) for zone in page.zones]
    flagged = [
        replace(r, warnings=(*r.warnings, ALIGNED_BY_OPERATOR)) if r.value is not None else r
        for r in check_pairs(readings, context)
    ]
    return PageReading("", page.number, rotation, 0.0, tuple(flagged))


def context_for(definition: FormDefinition, *, dpi: float, threshold: float) -> PageContext:
    """The reading settings of a form: each field's check, and the pairs that confirm."""
    checks = {f.name: check for f in definition.fields if (check := f.paper_check()) is not None}
    pairs = tuple(pair for f in definition.fields if (pair := f.pair_check()) is not None)
    return PageContext(dpi=dpi, threshold=threshold, checks=checks, pairs=pairs)


def _readings(page: PageReading) -> Sequence[Reading]:
    return page.readings


def _stored(
    reading: Reading, files: FileStore, engine: str, evidence: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A zone's reading as stored with the page, with its suggestion's evidence (if any)."""
    return {
        "field": reading.field,
        "kind": reading.kind.value,
        "value": reading.value,
        "confidence": round(float(reading.confidence), 4),
        "crop": files.put(reading.crop, suffix=".png") if reading.crop else None,
        "warnings": [str(w) for w in reading.warnings],
        "choice": reading.choice,
        "ink": round(float(reading.ink), 4),
        "engine": engine,
        # Only an option's Yes or No box has one (layout 2 on): older readings stay as stored.
        **({"answer": reading.answer} if reading.answer is not None else {}),
        # Issue 16: ocr_value, suggestion_probability, characters, cross_checks (suggestions.py).
        **(evidence or {}),
    }


def page_png(gray: GrayImage) -> bytes:
    """The decoded page as PNG, kept for the operator's screen."""
    ok, encoded = cv2.imencode(".png", gray)
    if not ok:
        raise PageException("unreadable_image", N_("the page cannot be encoded as an image"))
    return bytes(encoded.tobytes())


#: Width of a page's thumbnail (px): a page's layout, a blank sheet or a letter is told
#: apart at this size, and a screen of 50 of them weighs about 1 MB.
THUMBNAIL_WIDTH = 160


def page_thumbnail(gray: GrayImage) -> bytes:
    """A small PNG of the page (THUMBNAIL_WIDTH px wide), made once and kept in the file store."""
    height, width = gray.shape[:2]
    scale = min(1.0, THUMBNAIL_WIDTH / max(width, 1))
    small = cv2.resize(
        gray,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    ok, encoded = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise PageException("unreadable_image", N_("the page cannot be encoded as an image"))
    return bytes(encoded.tobytes())
