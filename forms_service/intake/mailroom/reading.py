"""Read one scanned page: decode, identify by its code, read the zones, turn readings into answers.

The steps are small functions so that the job (tasks.py) only orders them: load the page,
identify it (the code must be ours and name a document that still takes answers), let ocr/
align and read it, and, once every page of a document is read, build the paper submission.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from forms_service.changes.model import VALID
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FieldDefinition, FormDefinition
from forms_service.issuing.layout import LAYOUTS, LayoutVersions, UnknownLayoutVersion
from forms_service.issuing.pagecode import PageCodes, TamperedPageCode
from forms_service.issuing.tokens import ExpiredLink, LinkSigner, TamperedLink
from forms_service.storage.filestore import FileStore
from forms_service.storage.model import Document, DocumentStatus
from ocr.align import AlignedPage, align_page, set_upright
from ocr.confidence import DEFAULT_THRESHOLD
from ocr.geometry import FormGeometry, PageGeometry
from ocr.identify import CodeFinding, find_code
from ocr.interfaces import GrayImage, OcrEngine
from ocr.model import CodeNotFound, MarksNotFound, PageReading, Reading, ScanError
from ocr.pipeline import PageContext, check_postcode_city, read_page, read_zone

log = logging.getLogger(__name__)

_LINK = re.compile(r"/f/([A-Za-z0-9_.-]{40,120})")
#: Field types whose handwritten reading carries its own proof: an IBAN's checksum, a
#: postcode confirmed by the city read beside it. Other handwriting (a phone number, an
#: e-mail, a name) has no redundancy: a confident misreading (a 9 read as a 4) looks like
#: any valid value, so it always goes to a clerk, whatever the engine's confidence.
#: Ticks and signatures are measured by ink, not read, and are not concerned.
SELF_CHECKING = frozenset({"iban", "postcode"})
#: The warning of a value read on a page aligned without its code.
WITHOUT_CODE = "read_without_code"
#: The warning of a reading no check can confirm.
UNVERIFIABLE = "unverifiable"
#: Confidence at most given to a reading the reader itself says needs a person.
REVIEW_CAP = 0.5
#: Operator-facing reasons per ocr/ error code.
SCAN_REASONS = {
    "code_not_found": (
        "unreadable_code",
        "no readable QR code: a page of another sender, a damaged code, or a photo of a "
        "screen rather than a scan of the paper form",
    ),
    "marks_not_found": (
        "unaligned_page",
        "the four corner squares were not found: the page is cut, folded or photographed",
    ),
    "unreadable_image": ("unreadable_image", "the image cannot be decoded"),
    "unknown_page": ("unknown_page", "the code names a page the form does not have"),
}
#: The exception of a well-signed page code naming a layout version this service lacks.
UNKNOWN_LAYOUT = "unknown_layout"


class PageException(Exception):
    """A page an operator must look at; `code` is stable, `reason` is shown to them."""

    def __init__(self, code: str, reason: str, *, document_id: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.document_id = document_id


@dataclass(frozen=True)
class Identity:
    """Which document, form and page a scanned page is."""

    document_id: str
    form_id: str
    version: int
    page: int
    #: The layout version the page was printed with: its zones are that version's.
    layout: int


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


def identify(
    payload: str,
    *,
    codes: PageCodes,
    find_document: Callable[[str], Document | None],
    definitions: Mapping[str, FormDefinition],
    letter_of: Callable[[str], str | None] | None = None,
    layouts: LayoutVersions = LAYOUTS,
) -> Identity:
    """Check a page code and the document it names.

    `letter_of` tells the covering letter (its QR code is the document's link) from a
    foreign page: it returns the document id of one of our links, None otherwise.

    Raises:
        PageException: not our code, unknown or withdrawn document, retired form version,
            or a layout version this service does not have (`unknown_layout`: a page printed
            by a newer deployment is never read with another layout's boxes).
    """
    try:
        claims = codes.decode(payload)
    except TamperedPageCode:
        letter = letter_of(payload) if letter_of else None
        if letter is not None:
            raise PageException(
                "covering_letter",
                "the covering letter (its code is the link): it carries no answers",
                document_id=letter,
            ) from None
        raise PageException(
            "foreign_code", "the QR code is not one of this service's page codes"
        ) from None
    document = find_document(claims.document_id)
    if document is None:
        raise PageException("unknown_document", "the code names a document that does not exist")
    if document.status is DocumentStatus.REVOKED:
        raise PageException(
            "revoked_document",
            f"document {document.reference} was withdrawn",
            document_id=document.id,
        )
    definition = definitions.get(document.form_id)
    if definition is None or definition.version != claims.version:
        raise PageException(
            "retired_version",
            f"document {document.reference} was printed with a form version no longer served",
            document_id=document.id,
        )
    if claims.layout not in layouts:
        raise PageException(
            UNKNOWN_LAYOUT,
            f"document {document.reference} was printed with paper layout version "
            f"{claims.layout}, which this service does not know (known: "
            f"{', '.join(map(str, layouts.versions))}): its boxes cannot be located",
            document_id=document.id,
        )
    return Identity(document.id, document.form_id, claims.version, claims.page, claims.layout)


def letter_document(payload: str, signer: LinkSigner, now: dt.datetime) -> str | None:
    """The document whose covering letter carries this QR code (its signed link), if ours."""
    found = _LINK.search(payload)
    if found is None:
        return None
    token = found.group(1)
    try:
        return signer.verify(token, now).document_id
    except ExpiredLink:  # well signed, only late: still our letter
        return token.split(".", 1)[0]
    except TamperedLink:
        return None


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
) -> ReadResult:
    """Identify and read one page through ocr/; crops go to the file store.

    The code is decoded first so that the reading settings (field types for the checks) are
    the form's; an operator's assignment (`assigned`) replaces the code's identification.

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
        page = geometry(definition, identity.layout).page(identity.page)
        context = context_for(definition, dpi=settings.dpi, threshold=settings.threshold)
        template = (
            blank(definition, identity.layout, identity.page, settings.dpi) if blank else None
        )
        try:
            # The code found above is handed over, so the page is not searched twice.
            reading = read_page(gray, lambda _payload: page, engine, context, template, found)
        except CodeNotFound:
            if assigned is None:
                raise
            # The operator said which page it is: align on the corner squares alone.
            reading = read_without_code(gray, page, engine, context, template)
    except KeyError:
        raise PageException(
            "unknown_page", "the code names a page the form does not have"
        ) from None
    except UnknownLayoutVersion as exc:  # an assigned page of a newer deployment's document
        document_id = identity.document_id if identity else None
        raise PageException(UNKNOWN_LAYOUT, exc.reason, document_id=document_id) from exc
    except ScanError as exc:
        code, reason = SCAN_REASONS.get(exc.reason, (exc.reason, exc.message))
        document_id = identity.document_id if identity else None
        raise PageException(code, reason, document_id=document_id) from exc
    return ReadResult(
        identity=identity,
        rotation=reading.rotation,
        skew=reading.skew,
        zones=tuple(_stored(r, files, engine.name) for r in _readings(reading)),
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
    are; here each quarter turn is tried with the code assumed where the template prints it,
    and the turn whose code area holds the most ink wins (the squares alone are symmetric).
    Every value read this way goes to a clerk (warning `read_without_code`).

    Raises:
        MarksNotFound: the corner squares are not found in any orientation.
    """
    best: tuple[float, int, AlignedPage] | None = None
    for turns in range(4):
        image = np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray
        height, width = image.shape
        sx, sy = width / page.width, height / page.height
        qr = page.qr
        top = page.height - qr.y - qr.height
        corners = (
            (qr.x * sx, top * sy),
            ((qr.x + qr.width) * sx, top * sy),
            ((qr.x + qr.width) * sx, (top + qr.height) * sy),
            (qr.x * sx, (top + qr.height) * sy),
        )
        try:
            aligned = align_page(set_upright(image, CodeFinding("", corners)), page, context.dpi)
        except ScanError:
            continue
        left, box_top, right, bottom = aligned.box(qr)
        ink = float(np.mean(aligned.region((left, box_top, right, bottom)) < 128))
        if best is None or ink > best[0]:
            best = (ink, turns, aligned)
    if best is None:
        raise MarksNotFound("the corner squares were not found in any orientation")
    _, turns, aligned = best
    readings = [read_zone(aligned, zone, engine, context, blank) for zone in page.zones]
    flagged = [
        replace(r, warnings=(*r.warnings, WITHOUT_CODE)) if r.value is not None else r
        for r in check_postcode_city(readings, context)
    ]
    return PageReading("", page.number, 90 * turns, 0.0, tuple(flagged))


def context_for(definition: FormDefinition, *, dpi: float, threshold: float) -> PageContext:
    """The reading settings of a form: field types for the checks, postcode and city pair."""
    names = {f.name: f.type_name for f in definition.fields}
    postcode = next((f.name for f in definition.fields if f.type_name == "postcode"), None)
    city = "city" if "city" in names else None
    return PageContext(
        dpi=dpi,
        threshold=threshold,
        field_types=names,
        postcode_city=(postcode, city) if postcode and city else None,
    )


def _readings(page: PageReading) -> Sequence[Reading]:
    return page.readings


def _stored(reading: Reading, files: FileStore, engine: str) -> dict[str, Any]:
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
    }


def page_png(gray: GrayImage) -> bytes:
    """The decoded page as PNG, kept for the operator's screen."""
    ok, encoded = cv2.imencode(".png", gray)
    if not ok:
        raise PageException("unreadable_image", "the page cannot be encoded as an image")
    return bytes(encoded.tobytes())


# -- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperAnswer:
    """A document's answer on paper, built from the readings of all its pages.

    Attributes:
        raw_values: field -> the text or marks read, before parsing.
        values: field -> canonical value (or the raw text when the field type refuses it,
            so that the clerk sees and corrects it); fields left empty are absent.
        evidence: field -> {"kind": "scan", "crop", "confidence", "engine", "verdict", …}.
    """

    raw_values: dict[str, Any]
    values: dict[str, str | None]
    evidence: dict[str, dict[str, Any]]


def answer_of(
    definition: FormDefinition,
    zones: Sequence[Mapping[str, Any]],
    *,
    self_checking: frozenset[str] = SELF_CHECKING,
) -> PaperAnswer:
    """Turn zone readings into an answer; an empty box means "unchanged" and is left out.

    A reading the reader flagged, a value its field type refuses, an ambiguous mark, or
    handwriting nothing can cross-check (see SELF_CHECKING) gets a confidence under the
    auto-apply threshold: it is never applied without a clerk.
    """
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for zone in zones:
        by_field.setdefault(str(zone["field"]), []).append(zone)
    raw: dict[str, Any] = {}
    values: dict[str, str | None] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for field_def in definition.fields:
        readings = by_field.get(field_def.name)
        if not readings:
            continue
        if any(r.get("choice") is not None for r in readings):
            read = _marks(field_def, readings)
        else:
            read = _text(next((r for r in readings if r.get("value") is not None), readings[0]))
        if read is None:
            continue
        text, confidence, warnings, crop = read
        raw[field_def.name] = text
        try:
            value = field_def.parse(text)
            verdict = VALID
        except FieldValueError as exc:
            value, verdict = text, exc.key
        # Ticks and signatures are measured by ink, not read by OCR.
        marks = any(r.get("choice") is not None or r.get("kind") == "signature" for r in readings)
        if not marks and not _self_checked(field_def.type_name, by_field, self_checking):
            warnings = sorted({*warnings, UNVERIFIABLE})
        if warnings or verdict != VALID:
            confidence = min(confidence, REVIEW_CAP)
        values[field_def.name] = value
        evidence[field_def.name] = {
            "kind": "scan",
            "crop": crop,
            "confidence": round(confidence, 4),
            "engine": readings[0].get("engine", ""),
            "warnings": warnings,
            "read": text,
            **({"verdict": verdict} if verdict != VALID else {}),
        }
    return PaperAnswer(raw, values, evidence)


Read = tuple[str, float, list[str], str | None]


def _self_checked(
    type_name: str,
    by_field: Mapping[str, Sequence[Mapping[str, Any]]],
    self_checking: frozenset[str],
) -> bool:
    """Whether a text reading of this type can stand without a clerk (its check is real)."""
    if type_name not in self_checking:
        return False
    if type_name == "postcode":
        # Only the city read on the same page confirms a postcode (ocr/ flags a mismatch);
        # without it, any five digits pass.
        city = by_field.get("city") or ()
        return any(r.get("value") and not r.get("warnings") for r in city)
    return True


def _text(reading: Mapping[str, Any]) -> Read | None:
    value = reading.get("value")
    if value is None:
        return None
    return (
        str(value),
        float(reading.get("confidence", 0.0)),
        list(reading.get("warnings") or []),
        reading.get("crop"),
    )


def _marks(field_def: FieldDefinition, readings: Sequence[Mapping[str, Any]]) -> Read | None:
    """Squares of a choice or yes/no field: the ticked options, or nothing when none is."""
    ticked = [str(r["choice"]) for r in readings if r.get("value") == "true"]
    warnings = sorted({w for r in readings for w in (r.get("warnings") or [])})
    ambiguous = any(r.get("value") is None for r in readings)
    if not ticked and not ambiguous:
        return None
    confidence = min(float(r.get("confidence", 0.0)) for r in readings)
    crop = next((r.get("crop") for r in readings if r.get("value") == "true"), None)
    crop = crop or readings[0].get("crop")
    single = field_def.type_name != "multiple_choice"
    if ambiguous or (single and len(ticked) > 1):
        warnings = sorted({*warnings, "ambiguous_mark"})
    return ",".join(ticked), confidence, warnings, crop
