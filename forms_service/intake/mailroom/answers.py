"""A document's paper answer from the zone readings of its pages: values, confidence, evidence.

Only a box the ink detector calls empty means "unchanged" and is left out. Whatever a clerk
must see (a flagged reading, a value its field type refuses, an ambiguous mark, handwriting
nothing checks) gets a confidence under the auto-apply threshold; an inked box nothing could
be read in is a value for the clerk to key from its crop (verdict `UNREAD`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forms_service.changes.model import UNREAD, VALID
from forms_service.definitions.fieldtypes import FieldValueError, OptionMarks, WidgetKind
from forms_service.definitions.model import Channel, FieldDefinition, FormDefinition

#: The warning of a reading no check can confirm.
UNVERIFIABLE = "unverifiable"
#: The warning of a box with ink in which nothing usable was read.
UNREADABLE = "unreadable"
#: Confidence at most given to a reading the reader itself says needs a person.
REVIEW_CAP = 0.5


@dataclass(frozen=True)
class PaperAnswer:
    """A document's answer on paper, built from the readings of all its pages.

    Attributes:
        raw_values: field -> the text or marks read, before parsing.
        values: field -> canonical value (or the raw text when the field type refuses it,
            so that the clerk sees and corrects it; None for an inked box nothing could be
            read in, whose evidence's verdict is `UNREAD`); fields left empty are absent.
        evidence: field -> {"kind": "scan", "crop", "confidence", "engine", "verdict", …}.
    """

    raw_values: dict[str, Any]
    values: dict[str, str | None]
    evidence: dict[str, dict[str, Any]]


def answer_of(
    definition: FormDefinition,
    zones: Sequence[Mapping[str, Any]],
    snapshot: Mapping[str, Any] | None = None,
    channel: Channel = Channel.PAPER,
) -> PaperAnswer:
    """Turn zone readings into an answer; only an empty box means "unchanged" and is left out.

    A reading the reader flagged, a value its field type refuses, an ambiguous mark, or
    handwriting nothing can cross-check (see `_self_checked`) gets a confidence under the
    auto-apply threshold: it is never applied without a clerk. A box with ink and no usable
    reading (unreadable, or flagged without a value) is never taken for an empty one: it
    becomes a value to key (None, confidence 0, verdict `UNREAD`) beside its crop.

    Only fields answered on `channel` count (paper, or PDF for a flattened PDF return): a
    reading of another field (a page read before its channels changed) is left out.

    Args:
        definition: the document's form.
        zones: the stored readings of all its pages.
        snapshot: the values the pages printed as on record; the option rows of a choice
            (layout 2 on: an "answer" in the reading) change these option by option.
        channel: the channel the pages answer on (paper, or PDF for a flattened return).
    """
    snapshot = snapshot or {}
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for zone in zones:
        by_field.setdefault(str(zone["field"]), []).append(zone)
    raw: dict[str, Any] = {}
    values: dict[str, str | None] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for field_def in definition.fields_for(channel):
        readings = by_field.get(field_def.name)
        if not readings:
            continue
        listed: str | None = None  # the inked boxes of option rows, as read
        if any(r.get("answer") is not None for r in readings):
            read, listed = _option_rows(field_def, readings, snapshot.get(field_def.name))
        elif any(r.get("choice") is not None for r in readings):
            read = _marks(field_def, readings)
        else:
            read = _text(readings)
        if read is None:
            continue
        text, confidence, warnings, crop = read
        raw[field_def.name] = text
        value: str | None
        if text is None:
            value, verdict = None, UNREAD
        else:
            try:
                value = field_def.parse(text)
                verdict = VALID
            except FieldValueError as exc:
                value, verdict = text, exc.key
        # Ticks and signatures are measured by ink, not read by OCR.
        marks = field_def.type.widget is WidgetKind.SIGNATURE or any(
            r.get("choice") is not None for r in readings
        )
        if text is not None and not marks and not _self_checked(field_def, by_field):
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
            "read": listed or text,
            **({"verdict": verdict} if verdict != VALID else {}),
            **_recogniser_notes(readings),
        }
        if listed is not None:
            raw[field_def.name] = listed
    return PaperAnswer(raw, values, evidence)


#: What the handprint recogniser may add to a reading, kept for the verification station
#: (changes/station.py): per-character probabilities and alternatives, the whole
#: suggestion's probability, the OCR's value before the checks, its cross-field checks.
RECOGNISER_NOTES = ("characters", "suggestion_probability", "ocr_value", "cross_checks")


def _recogniser_notes(readings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The recogniser's notes of a field read in one zone (several zones: none)."""
    if len(readings) != 1:
        return {}
    return {key: readings[0][key] for key in RECOGNISER_NOTES if key in readings[0]}


#: (text read, None when inked but unread; confidence; warnings; crop key)
Read = tuple[str | None, float, list[str], str | None]


def _self_checked(
    field_def: FieldDefinition, by_field: Mapping[str, Sequence[Mapping[str, Any]]]
) -> bool:
    """Whether a text reading of this field can stand without a clerk (its check is real).

    A reading carries its own proof when its type's check is a checksum (an IBAN's), or
    when the field `confirms` another read beside it without warnings (a postcode and its
    city: ocr/ flags both when they do not agree). Other handwriting (a phone number, an
    e-mail, a name) has no redundancy: a confident misreading (a 9 read as a 4) looks like
    any valid value, so it always goes to a clerk, whatever the engine's confidence.
    """
    if field_def.type.checksum:
        return True
    if field_def.confirms is None:
        return False
    other = by_field.get(field_def.confirms) or ()
    return any(r.get("value") and not r.get("warnings") for r in other)


def inked(reading: Mapping[str, Any]) -> bool:
    """Whether the ink detector found something in the box of this stored reading.

    ocr/ gives an empty box no value and no warning, and only an empty box; a box with ink
    has a value, or warnings saying why it has none (unreadable, ambiguous mark, faint).
    """
    return reading.get("value") is not None or bool(reading.get("warnings"))


def _text(readings: Sequence[Mapping[str, Any]]) -> Read | None:
    """The box's text; for ink nothing usable was read in, no text (a clerk keys it)."""
    reading = next((r for r in readings if r.get("value") is not None), None)
    if reading is not None:
        return (
            str(reading["value"]),
            float(reading.get("confidence", 0.0)),
            list(reading.get("warnings") or []),
            reading.get("crop"),
        )
    unread = [r for r in readings if inked(r)]
    if not unread:
        return None
    warnings = sorted({str(w) for r in unread for w in (r.get("warnings") or [])} | {UNREADABLE})
    return None, 0.0, warnings, next((r.get("crop") for r in unread if r.get("crop")), None)


def _marks(field_def: FieldDefinition, readings: Sequence[Mapping[str, Any]]) -> Read | None:
    """Squares of a choice or yes/no field: the ticked options, or nothing when none is."""
    ticked = [str(r["choice"]) for r in readings if r.get("value") == "true"]
    warnings = sorted({w for r in readings for w in (r.get("warnings") or [])})
    ambiguous = any(r.get("value") is None for r in readings)
    if not ticked and not ambiguous:
        return None
    if not ticked:
        # Ink too doubtful to call a tick, and none clear: the clerk says what was meant.
        return None, 0.0, sorted({*warnings, "ambiguous_mark", UNREADABLE}), readings[0].get("crop")
    confidence = min(float(r.get("confidence", 0.0)) for r in readings)
    crop = next((r.get("crop") for r in readings if r.get("value") == "true"), None)
    crop = crop or readings[0].get("crop")
    single = not field_def.type.multiple
    if ambiguous or (single and len(ticked) > 1):
        warnings = sorted({*warnings, "ambiguous_mark"})
    return ",".join(ticked), confidence, warnings, crop


def _box(value: object) -> bool | None:
    """A square's reading as a mark: "true" marked, "false" empty, None unsure."""
    return None if value is None else value == "true"


def _option_rows(
    field_def: FieldDefinition, readings: Sequence[Mapping[str, Any]], current: object
) -> tuple[Read | None, str]:
    """A choice's option rows (a Yes and a No box each): the field type's rule decides.

    Returns the proposal in canonical form (which parses as itself) as the read value,
    None when no box holds ink; and the inked boxes as read ("insurance: no, credit: yes",
    "?" for a box the ink detector is unsure of). The options on record are the snapshot's
    (what the page printed).
    """
    boxes: dict[str, dict[str, bool | None]] = {}
    for reading in readings:
        option, answer = str(reading.get("choice")), str(reading.get("answer"))
        boxes.setdefault(option, {})[answer] = _box(reading.get("value"))
    marks = {
        option: OptionMarks(yes=found.get("yes", False), no=found.get("no", False))
        for option, found in boxes.items()
    }
    on_record = None if current is None else str(current)
    choice = field_def.type.read_option_rows(on_record, marks, field_def.choices)
    inked = [
        f"{r.get('choice')}: {r.get('answer') if r.get('value') is not None else '?'}"
        for c in field_def.choices
        for r in readings
        if r.get("choice") == c.value and r.get("value") != "false"
    ]
    listed = ", ".join(inked)
    if choice is None:
        return None, listed
    problems = {str(p) for p in choice.problems}
    warnings = sorted({*problems, *(w for r in readings for w in r.get("warnings") or [])})
    confidence = min(float(r.get("confidence", 0.0)) for r in readings)
    crop = next((r.get("crop") for r in readings if r.get("value") != "false"), None)
    return (choice.value or "", confidence, warnings, crop or readings[0].get("crop")), listed
