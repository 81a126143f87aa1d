"""A document's paper answer from the zone readings of its pages: values, confidence, evidence.

An empty box means "unchanged" and is left out. Whatever a clerk must see (a flagged
reading, a value its field type refuses, an ambiguous mark, handwriting nothing checks)
gets a confidence under the auto-apply threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forms_service.changes.model import VALID
from forms_service.definitions.fieldtypes import FieldValueError, OptionMarks, WidgetKind
from forms_service.definitions.model import FieldDefinition, FormDefinition

#: The warning of a reading no check can confirm.
UNVERIFIABLE = "unverifiable"
#: Confidence at most given to a reading the reader itself says needs a person.
REVIEW_CAP = 0.5


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
    snapshot: Mapping[str, Any] | None = None,
) -> PaperAnswer:
    """Turn zone readings into an answer; an empty box means "unchanged" and is left out.

    A reading the reader flagged, a value its field type refuses, an ambiguous mark, or
    handwriting nothing can cross-check (see `_self_checked`) gets a confidence under the
    auto-apply threshold: it is never applied without a clerk.

    Args:
        definition: the document's form.
        zones: the stored readings of all its pages.
        snapshot: the values the pages printed as on record; the option rows of a choice
            (layout 2 on: an "answer" in the reading) change these option by option.
    """
    snapshot = snapshot or {}
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
        listed: str | None = None  # the inked boxes of option rows, as read
        if any(r.get("answer") is not None for r in readings):
            read, listed = _option_rows(field_def, readings, snapshot.get(field_def.name))
        elif any(r.get("choice") is not None for r in readings):
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
        marks = field_def.type.widget is WidgetKind.SIGNATURE or any(
            r.get("choice") is not None for r in readings
        )
        if not marks and not _self_checked(field_def, by_field):
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
        }
        if listed is not None:
            raw[field_def.name] = listed
    return PaperAnswer(raw, values, evidence)


Read = tuple[str, float, list[str], str | None]


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
