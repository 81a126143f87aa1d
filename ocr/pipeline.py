"""Runs the reading steps in order on one page: code, upright, align, then every zone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import cv2

from ocr.align import AlignedPage, align_page, set_upright
from ocr.confidence import DEFAULT_THRESHOLD, judge
from ocr.geometry import OptionBox, PageGeometry, Zone, ZoneKind
from ocr.handprint import shipped_model, shipped_text_model
from ocr.identify import CodeFinding, find_code
from ocr.ink import classify_mark, is_filled, measure_ink
from ocr.interfaces import (
    EngineReading,
    GrayImage,
    OcrEngine,
    PairCheck,
    PairVerdict,
    ValueCheck,
)
from ocr.model import Mark, PageReading, Reading, ReviewReason, ScanError, UnknownPage
from ocr.raster import load_pages
from ocr.text import read_text

#: Under this confidence, a comb the handprint model reads and Tesseract makes nothing of is
#: unreadable (measured: a blot across phone cells read "01" at 0.26).
UNSURE_ALONE = 0.5

Resolve = Callable[[str], PageGeometry]
"""Turns a QR payload into the page's template; raises UnknownPage (or KeyError) if none."""


@dataclass(frozen=True)
class PageContext:
    """What reading a page needs besides the image: small and picklable for worker processes.

    Attributes:
        dpi: resolution of the aligned page the zones are read on.
        threshold: confidence under which a value goes to a clerk.
        checks: field name -> the field's check of a value read (the caller builds them
            from its own rules; ocr/ knows no field type).
        pairs: fields confirmed by another read on the same page (a postcode by its city).
        second_reading: read every inked box a second, independent way and compare.
        verified_only: flag written values no check confirms (see flag_unverifiable).
        handprint: read comb cells one by one and text boxes glyph by glyph with the
            shipped handprint classifier (ocr/handprint.py), Tesseract's line reading
            being the second opinion; False reads every box with the engine alone (as
            before issue 16).
    """

    dpi: float = 300
    threshold: float = DEFAULT_THRESHOLD
    checks: Mapping[str, ValueCheck] = field(default_factory=dict)
    pairs: tuple[PairCheck, ...] = ()
    second_reading: bool = True
    verified_only: bool = True
    handprint: bool = True


def _png(image: GrayImage) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    return encoded.tobytes() if ok else b""


def _crop(aligned: AlignedPage, zone: Zone) -> bytes:
    """The zone's evidence as PNG: its box, or an option square's whole choice (once a page)."""
    rect = zone.evidence if isinstance(zone, OptionBox) and zone.evidence else zone.rect
    box = aligned.box(rect)
    found = aligned.crops.get(box)
    if found is None:
        found = aligned.crops[box] = _png(aligned.region(box))
    return found


def read_zone(
    aligned: AlignedPage,
    zone: Zone,
    engine: OcrEngine,
    context: PageContext,
    blank: GrayImage | None = None,
) -> Reading:
    """Read one answer zone of an aligned page."""
    crop = _crop(aligned, zone)
    ink = measure_ink(aligned, zone, blank)
    if zone.kind in (ZoneKind.CHECKBOX, ZoneKind.SIGNATURE):
        mark = classify_mark(ink, zone.kind)
        marked = "signed" if zone.kind is ZoneKind.SIGNATURE else "true"
        unmarked = None if zone.kind is ZoneKind.SIGNATURE else "false"
        answer = zone.answer.value if isinstance(zone, OptionBox) else None
        if mark is Mark.AMBIGUOUS:
            return Reading(
                zone.field, zone.kind, None, 0.5, crop,
                (ReviewReason.AMBIGUOUS_MARK,), zone.choice, ink.share, answer,
            )  # fmt: skip
        value = marked if mark is Mark.MARKED else unmarked
        return Reading(zone.field, zone.kind, value, 0.99, crop, (), zone.choice, ink.share, answer)
    if not is_filled(ink):
        return Reading(zone.field, zone.kind, None, 0.99, crop, (), zone.choice, ink.share)
    check = context.checks.get(zone.field)
    if check is not None and check.lower_case and zone.charset is not None:
        # The layout's charset stays as printed (its geometry is frozen per version).
        zone = replace(zone, charset="".join(dict.fromkeys(zone.charset.lower())))

    def worth_second(line: EngineReading) -> bool:
        # Only a value that could be applied without a clerk needs confirming: anything
        # less goes to a clerk whatever a second reading says (and it costs most of the time).
        return context.second_reading and line.confidence >= context.threshold

    combed = zone.kind is ZoneKind.COMB and (zone.cells or 0) > 1
    cells = None
    if context.handprint:  # the models load on first use only
        cells = (shipped_model() if combed else shipped_text_model()).read_cells
    # Tesseract's line is the handprint model's second opinion: always asked for (one call,
    # cheaper than the cells it read one by one before), it often has a typed hand right.
    second = context.second_reading if cells is not None and combed else worth_second
    texts = read_text(aligned, zone, ink, engine, second, cells)
    readings = [texts.line] if texts.second is None else [texts.line, texts.second]
    tesseract_blank = texts.second is not None and not texts.second.text
    if cells is not None and combed and tesseract_blank and texts.line.confidence < UNSURE_ALONE:
        # Ink Tesseract makes nothing of and the model is unsure of (a blot, a scrawl
        # across the cells): unreadable, for a clerk to key, not a guess to confirm.
        readings = []
    checksum = check is not None and check.checksum
    verdict = judge(readings, check, context.threshold, checksum=checksum)
    reasons = (*verdict.reasons, ReviewReason.FAINT_INK) if ink.faint else verdict.reasons
    return Reading(
        zone.field, zone.kind, verdict.value or None, verdict.confidence, crop,
        reasons, zone.choice, ink.share, None, texts.line.text or None, texts.line.alternatives,
    )  # fmt: skip


def _pair_verdicts(
    readings: Sequence[Reading], context: PageContext
) -> list[tuple[PairCheck, PairVerdict]]:
    """Each pair whose two fields were both read, with its verdict."""
    by_field = {r.field: r for r in readings}
    verdicts = []
    for pair in context.pairs:
        value, other = by_field.get(pair.field), by_field.get(pair.other)
        if value is None or other is None or not value.value or not other.value:
            continue
        verdicts.append((pair, pair(value.value, other.value)))
    return verdicts


def check_pairs(readings: list[Reading], context: PageContext) -> list[Reading]:
    """Flag both fields of a pair read on the page that its check does not confirm.

    An unknown value (a postcode no list has) is a failed check; two values that may both be
    right but that nothing confirms (another commune of the postcode) are unconfirmed.
    """
    reasons: dict[str, str] = {}
    for pair, verdict in _pair_verdicts(readings, context):
        if verdict is PairVerdict.CONFIRMED:
            continue
        reason = (
            ReviewReason.FAILED_CHECK
            if verdict is PairVerdict.UNKNOWN
            else ReviewReason.UNCONFIRMED
        )
        for name in (pair.field, pair.other):
            reasons.setdefault(name, reason)
    flagged = []
    for reading in readings:
        flag = reasons.get(reading.field)
        if flag is not None and flag not in reading.warnings:
            reading = replace(reading, warnings=(*reading.warnings, flag))
        flagged.append(reading)
    return flagged


def flag_unverifiable(readings: list[Reading], context: PageContext) -> list[Reading]:
    """Flag written values that nothing cross-checks, when the context asks for it.

    Tesseract reads handwriting-like digits wrong with confidences up to 0.99 and both
    readings agreeing (benchmarks/scan_accuracy.py), so only a value a check can confirm is
    applied without a clerk: a value passing a checksum (an IBAN's), a pair of values that
    their check confirms together (a postcode and its city).
    """
    if not context.verified_only:
        return readings
    confirmed = {
        name
        for pair, verdict in _pair_verdicts(readings, context)
        if verdict is PairVerdict.CONFIRMED
        for name in (pair.field, pair.other)
    }
    flagged = []
    for reading in readings:
        check = context.checks.get(reading.field)
        checked = check is not None and check.checksum
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
    readings = check_pairs(readings, context)
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
