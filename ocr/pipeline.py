"""Runs the reading steps in order on one page: code, upright, align, then every zone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

import cv2

from ocr.align import AlignedPage, align_page, set_upright
from ocr.checks import CHECKS, CHECKSUMS, PostcodeVerdict, postcode_directory
from ocr.confidence import DEFAULT_THRESHOLD, judge
from ocr.geometry import PageGeometry, Zone, ZoneKind
from ocr.identify import CodeFinding, find_code
from ocr.ink import classify_mark, is_filled, measure_ink
from ocr.interfaces import EngineReading, GrayImage, OcrEngine
from ocr.model import Mark, PageReading, Reading, ReviewReason, ScanError, UnknownPage
from ocr.raster import load_pages
from ocr.text import read_text

Resolve = Callable[[str], PageGeometry]
"""Turns a QR payload into the page's template; raises UnknownPage (or KeyError) if none."""


@dataclass(frozen=True)
class PageContext:
    """What reading a page needs besides the image: small and picklable for worker processes.

    Attributes:
        dpi: resolution of the aligned page the zones are read on.
        threshold: confidence under which a value goes to a clerk.
        field_types: field name -> forms_service type name, to pick the field's check.
        postcode_city: (postcode field, city field) to check against the postcode list.
        second_reading: read every inked box a second, independent way and compare.
        verified_only: flag written values no check confirms (see flag_unverifiable).
    """

    dpi: float = 300
    threshold: float = DEFAULT_THRESHOLD
    field_types: Mapping[str, str] = field(default_factory=dict)
    postcode_city: tuple[str, str] | None = None
    second_reading: bool = True
    verified_only: bool = True


def _png(image: GrayImage) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    return encoded.tobytes() if ok else b""


def read_zone(
    aligned: AlignedPage,
    zone: Zone,
    engine: OcrEngine,
    context: PageContext,
    blank: GrayImage | None = None,
) -> Reading:
    """Read one answer zone of an aligned page."""
    crop = _png(aligned.region(aligned.box(zone.rect)))
    ink = measure_ink(aligned, zone, blank)
    if zone.kind in (ZoneKind.CHECKBOX, ZoneKind.SIGNATURE):
        mark = classify_mark(ink, zone.kind)
        marked = "signed" if zone.kind is ZoneKind.SIGNATURE else "true"
        unmarked = None if zone.kind is ZoneKind.SIGNATURE else "false"
        if mark is Mark.AMBIGUOUS:
            return Reading(
                zone.field, zone.kind, None, 0.5, crop,
                (ReviewReason.AMBIGUOUS_MARK,), zone.choice, ink.share,
            )  # fmt: skip
        value = marked if mark is Mark.MARKED else unmarked
        return Reading(zone.field, zone.kind, value, 0.99, crop, (), zone.choice, ink.share)
    if not is_filled(ink):
        return Reading(zone.field, zone.kind, None, 0.99, crop, (), zone.choice, ink.share)
    field_type = context.field_types.get(zone.field, "")
    check = CHECKS.get(field_type)

    def worth_second(line: EngineReading) -> bool:
        # Only a value that could be applied without a clerk needs confirming: anything
        # less goes to a clerk whatever a second reading says (and it costs most of the time).
        return context.second_reading and line.confidence >= context.threshold

    texts = read_text(aligned, zone, ink, engine, worth_second)
    readings = [texts.line] if texts.second is None else [texts.line, texts.second]
    verdict = judge(readings, check, context.threshold, checksum=field_type in CHECKSUMS)
    reasons = (*verdict.reasons, ReviewReason.FAINT_INK) if ink.faint else verdict.reasons
    return Reading(
        zone.field, zone.kind, verdict.value or None, verdict.confidence, crop,
        reasons, zone.choice, ink.share,
    )  # fmt: skip


def check_postcode_city(readings: list[Reading], context: PageContext) -> list[Reading]:
    """Flag a postcode and city read on the page that the postcode list does not confirm."""
    if context.postcode_city is None:
        return readings
    postcode_field, city_field = context.postcode_city
    by_field = {r.field: r for r in readings}
    postcode, city = by_field.get(postcode_field), by_field.get(city_field)
    if postcode is None or city is None or not postcode.value or not city.value:
        return readings
    verdict = postcode_directory().verdict(postcode.value, city.value)
    if verdict is PostcodeVerdict.CONFIRMED:
        return readings
    reason = (
        ReviewReason.FAILED_CHECK
        if verdict is PostcodeVerdict.UNKNOWN_POSTCODE
        else ReviewReason.UNCONFIRMED
    )
    flagged = []
    for reading in readings:
        if reading.field in (postcode_field, city_field) and reason not in reading.warnings:
            reading = replace(reading, warnings=(*reading.warnings, reason))
        flagged.append(reading)
    return flagged


def flag_unverifiable(readings: list[Reading], context: PageContext) -> list[Reading]:
    """Flag written values that nothing cross-checks, when the context asks for it.

    Tesseract reads handwriting-like digits wrong with confidences up to 0.99 and both
    readings agreeing (benchmarks/scan_accuracy.py), so only a value a check can confirm is
    applied without a clerk: an IBAN passing its checksum, a postcode and city that the
    postcode list confirms together.
    """
    if not context.verified_only:
        return readings
    confirmed: set[str] = set()
    if context.postcode_city is not None:
        postcode_field, city_field = context.postcode_city
        by_field = {r.field: r for r in readings}
        postcode, city = by_field.get(postcode_field), by_field.get(city_field)
        if postcode and city and postcode.value and city.value:
            verdict = postcode_directory().verdict(postcode.value, city.value)
            if verdict is PostcodeVerdict.CONFIRMED:
                confirmed = {postcode_field, city_field}
    flagged = []
    for reading in readings:
        checked = context.field_types.get(reading.field) in CHECKSUMS
        if (
            reading.kind in (ZoneKind.TEXT, ZoneKind.COMB)
            and reading.value is not None
            and not checked
            and reading.field not in confirmed
            and ReviewReason.UNVERIFIABLE not in reading.warnings
        ):
            reading = replace(reading, warnings=(*reading.warnings, ReviewReason.UNVERIFIABLE))
        flagged.append(reading)
    return flagged


def read_page(
    gray: GrayImage,
    resolve: Resolve,
    engine: OcrEngine,
    context: PageContext | None = None,
    blank: GrayImage | Callable[[PageGeometry], GrayImage] | None = None,
    code: CodeFinding | None = None,
) -> PageReading:
    """Identify, set upright, align and read every zone of one scanned page.

    Args:
        gray: the scanned page, grayscale.
        resolve: turns the QR payload into the page's template (the caller verifies the
            payload's document, page and version).
        engine: the OCR engine for inked text boxes.
        context: reading settings.
        blank: the blank template page rendered at `context.dpi` (or a function rendering
            it from the page template), to discount printed ink inside the zones.
        code: the page's code when the caller has already found it (saves a search).

    Raises:
        ScanError: no code, unknown page, or registration marks not found.
    """
    context = context or PageContext()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = now - started
        started = now

    code = code or find_code(gray)
    lap("identify")
    try:
        page = resolve(code.payload)
    except KeyError as exc:
        raise UnknownPage(f"no form page for code {code.payload!r}") from exc
    upright = set_upright(gray, code)
    lap("upright")
    aligned = align_page(upright, page, context.dpi)
    lap("align")
    if callable(blank):
        blank = blank(page)
    readings = [read_zone(aligned, zone, engine, context, blank) for zone in page.zones]
    readings = check_postcode_city(readings, context)
    readings = flag_unverifiable(readings, context)
    lap("read")
    return PageReading(
        code.payload, page.number, upright.rotation, upright.skew, tuple(readings), timings
    )


@dataclass(frozen=True)
class PageOutcome:
    """One page of a scanned file: what was read, or why it could not be."""

    index: int
    reading: PageReading | None
    error: ScanError | None


def read_file(
    data: bytes,
    resolve: Resolve,
    engine: OcrEngine,
    context: PageContext | None = None,
    blank_for: Callable[[PageGeometry], GrayImage] | None = None,
) -> Iterator[PageOutcome]:
    """Read every page of an uploaded file (PDF, TIFF, PNG, JPEG), one outcome per page.

    A page that cannot be read yields its error and the next page is read; a file that
    cannot be opened at all yields one error outcome.

    Args:
        data: the file.
        resolve: QR payload -> page template.
        engine: the OCR engine.
        context: reading settings.
        blank_for: renders a template page blank at `context.dpi`, when the caller can.
    """
    context = context or PageContext()
    index = 0
    pages = load_pages(data, dpi=round(context.dpi))
    while True:
        try:
            gray = next(pages)
        except StopIteration:
            return
        except ScanError as exc:
            yield PageOutcome(index, None, exc)
            return
        try:
            reading = read_page(gray, resolve, engine, context, blank_for)
        except ScanError as exc:
            yield PageOutcome(index, None, exc)
        except Exception as exc:  # one bad page must not stop the batch: report it, go on
            yield PageOutcome(index, None, ScanError(f"the reader failed on this page: {exc!r}"))
        else:
            yield PageOutcome(index, reading, None)
        index += 1
