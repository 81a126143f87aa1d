"""The verification station's reading of a change set: doubtful characters, cross-field checks.

A paper or PDF answer's evidence may carry what the recogniser knew (per-character
probabilities and alternatives, the raw OCR value, its own cross-field checks); the service
adds what it can check itself for any channel (a postcode against its city in the registry's
list, a value its type's own check refuses). Nothing here decides: it tells the clerk where
to look, and which lines "approve all valid lines" may take without a look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from forms_service.changes.model import UNREAD, VALID, FieldRowView
from forms_service.changes.review import needs_choice
from forms_service.definitions.model import FieldDefinition, FormDefinition
from ocr.interfaces import PairVerdict

#: A character read with a probability below this is doubtful: highlighted, and its line is
#: one the "next uncertain" key stops at.
DOUBTFUL_BELOW = 0.9


class CheckCode(StrEnum):
    """A cross-field or type check that failed on a line (the recogniser's codes too)."""

    POSTCODE_CITY_MISMATCH = "postcode_city_mismatch"
    IBAN_CHECKSUM = "iban_checksum"
    PHONE_INVALID = "phone_invalid"
    DATE_INVALID = "date_invalid"
    EMAIL_DOMAIN_UNKNOWN = "email_domain_unknown"


class Resolution(StrEnum):
    """How a clerk settled a conflicting line (base, source now and answer all differ)."""

    KEEP_SOURCE = "keep_source"
    TAKE_ANSWER = "take_answer"
    EDIT = "edit"


class Writer(StrEnum):
    """Who wrote the value a clerk corrected: the words of the audit depend on it."""

    OCR = "ocr"
    PDF = "pdf"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class ValueCharacter:
    """One character of a suggested value as the recogniser read it."""

    char: str
    probability: float | None
    alternatives: tuple[tuple[str, float], ...] = ()

    @property
    def doubtful(self) -> bool:
        """Read with too little certainty to be taken without a look."""
        return self.probability is not None and self.probability < DOUBTFUL_BELOW


@dataclass(frozen=True)
class CrossCheck:
    """A check that failed on a line: which fields disagree, and a value that would pass."""

    code: CheckCode
    fields: tuple[str, ...]
    alternative: str | None = None
    #: "ocr" when the recogniser reported it, "service" when the service found it.
    found_by: str = "service"


@dataclass(frozen=True)
class Correction:
    """Who wrote what: the value a channel gave, and the clerk's correction of it."""

    writer: Writer
    written: str
    corrected: str | None
    clerk: str | None


@dataclass(frozen=True)
class LineCheck:
    """What the station shows about one line beside its crop and its value.

    Attributes:
        field: the line's field.
        characters: the suggested value's characters as read (empty: no reading, or the
            value was edited since).
        doubtful_at: the index in the proposed value of the first doubtful character, when
            the characters line up with it (the edit key selects it).
        suggestion_probability: the recogniser's probability of its whole suggestion.
        ocr_value: what the OCR read before the checks chose a suggestion, when different.
        checks: the checks that failed.
        needs_choice: a conflict nobody settled yet: keep source, take answer or edit.
        uncertain: worth a look before accepting (doubtful characters, low confidence, a
            failed check, an invalid or unread value, an open conflict).
        correction: who wrote the value a clerk corrected, when one did.
    """

    field: str
    characters: tuple[ValueCharacter, ...] = ()
    doubtful_at: int | None = None
    suggestion_probability: float | None = None
    ocr_value: str | None = None
    checks: tuple[CrossCheck, ...] = ()
    needs_choice: bool = False
    uncertain: bool = False
    correction: Correction | None = None

    @property
    def doubtful(self) -> int:
        """How many characters are doubtful."""
        return sum(1 for c in self.characters if c.doubtful)

    @property
    def approvable(self) -> bool:
        """Whether "approve all valid lines" may take it: valid, read, no check failed."""
        return not self.needs_choice and not self.checks


def characters_of(evidence: Mapping[str, Any]) -> tuple[ValueCharacter, ...]:
    """The recogniser's characters in the evidence; none when absent or malformed."""
    listed = evidence.get("characters")
    if not isinstance(listed, list):
        return ()
    found = []
    for item in listed:
        if not isinstance(item, Mapping) or not isinstance(item.get("c"), str):
            return ()
        probability = item.get("p")
        alternatives = tuple(
            (str(alt[0]), float(alt[1]))
            for alt in item.get("alt") or ()
            if isinstance(alt, list | tuple) and len(alt) == 2 and isinstance(alt[1], int | float)
        )
        found.append(
            ValueCharacter(
                item["c"],
                float(probability) if isinstance(probability, int | float) else None,
                alternatives,
            )
        )
    return tuple(found)


def _position_in(value: str, characters: Sequence[ValueCharacter], index: int) -> int | None:
    """Where character `index` of the reading is in `value` (spaces of `value` skipped).

    None when the reading does not spell `value` (the type formatted it otherwise).
    """
    positions = [i for i, char in enumerate(value) if not char.isspace()]
    read = "".join(c.char for c in characters if not c.char.isspace())
    compact = "".join(value[i] for i in positions)
    if read.upper() != compact.upper() or len(read) != len(characters):
        return None
    return positions[index]


def _ocr_checks(evidence: Mapping[str, Any]) -> list[CrossCheck]:
    found = []
    for item in evidence.get("cross_checks") or ():
        if not isinstance(item, Mapping):
            continue
        try:
            code = CheckCode(str(item.get("code")))
        except ValueError:
            continue
        fields = tuple(str(f) for f in item.get("fields") or ())
        alternative = item.get("alternative")
        found.append(
            CrossCheck(
                code, fields, str(alternative) if alternative is not None else None, found_by="ocr"
            )
        )
    return found


def _type_alternative(
    field: FieldDefinition, value: str, characters: Sequence[ValueCharacter]
) -> str | None:
    """The one value passing the type's check with a single doubtful character swapped.

    Only the recogniser's own alternatives of its doubtful characters are tried: any other
    guess would be the service inventing a value.
    """
    if len(characters) != len(value):
        return None
    passing = set()
    for index, character in enumerate(characters):
        if not character.doubtful:
            continue
        for alternative, _ in character.alternatives:
            candidate = value[:index] + alternative + value[index + 1 :]
            if _passes(field, candidate):
                passing.add(candidate)
    return passing.pop() if len(passing) == 1 else None


def _passes(field: FieldDefinition, value: str) -> bool:
    check = field.paper_check()
    return check is not None and check(value)


def service_checks(
    definition: FormDefinition,
    field: str,
    values: Mapping[str, str | None],
    changed: Iterable[str],
    verdict: str | None,
    characters: Sequence[ValueCharacter] = (),
) -> list[CrossCheck]:
    """The checks the service makes itself on one line, whatever the channel.

    Args:
        definition: the form.
        field: the line's field.
        values: every field's value as the change set would leave it (proposed where it
            changes, else as on record).
        changed: the fields the change set changes.
        verdict: the line's verdict (VALID, or the key of the type's refusal).
        characters: the recogniser's characters of the line's value, if any.
    """
    field_def = definition.field(field)
    value = values.get(field)
    found: list[CrossCheck] = []
    if value and verdict not in (None, VALID, UNREAD) and field_def.type.check_code:
        found.append(
            CrossCheck(
                CheckCode(field_def.type.check_code),
                (field,),
                _type_alternative(field_def, value, characters),
            )
        )
    changed = set(changed)
    pairs = [(field_def, field)] + [
        (other, other.confirms)
        for other in definition.fields
        if other.confirms == field and other.name != field
    ]
    for owner, confirming in pairs:
        if owner.confirms is None or confirming is None:
            continue
        mine, theirs = values.get(owner.name), values.get(owner.confirms)
        if not mine or not theirs or not ({owner.name, owner.confirms} & changed):
            continue
        check = owner.pair_check()
        verdict_of_pair = check(mine, theirs) if check is not None else None
        alternative = owner.type.confirmed_alternative(mine, theirs)
        if verdict_of_pair is PairVerdict.UNCONFIRMED or (
            verdict_of_pair is PairVerdict.UNKNOWN and alternative is not None
        ):
            found.append(
                CrossCheck(
                    CheckCode.POSTCODE_CITY_MISMATCH,
                    (owner.name, owner.confirms),
                    alternative,
                )
            )
    return found


def line_checks(
    definition: FormDefinition,
    rows: Sequence[FieldRowView],
    record: Mapping[str, str | None],
    *,
    resolutions: Mapping[str, str | None],
    editors: Mapping[str, str] | None = None,
    review_below: float = 0.9,
) -> dict[str, LineCheck]:
    """What the station shows about each line of a change set.

    Args:
        definition: the change set's form.
        rows: its lines.
        record: the values on record of every field (the snapshot the customer saw).
        resolutions: field -> how a conflict was settled (None: not settled).
        editors: field -> the clerk who last edited its value (from the audit).
        review_below: a confidence under which a line is uncertain.
    """
    editors = editors or {}
    values = {**record, **{row.field: row.proposed for row in rows}}
    changed = [row.field for row in rows]
    found = {}
    for row in rows:
        characters = characters_of(row.evidence) if row.edited_from is None else ()
        first = next((i for i, c in enumerate(characters) if c.doubtful), None)
        doubtful_at = (
            _position_in(row.proposed, characters, first)
            if first is not None and row.proposed
            else None
        )
        checks = _ocr_checks(row.evidence) if row.edited_from is None else []
        known = {check.code for check in checks}
        checks += [
            check
            for check in service_checks(
                definition, row.field, values, changed, row.verdict, characters
            )
            if check.code not in known
        ]
        choice = needs_choice(row.outcome, row.status, resolutions.get(row.field))
        probability = row.evidence.get("suggestion_probability")
        ocr_value = row.evidence.get("ocr_value")
        uncertain = row.waiting and (
            choice
            or bool(checks)
            or any(c.doubtful for c in characters)
            # Per-character probabilities say more than the whole reading's confidence; a
            # value a clerk keyed is theirs.
            or (not characters and row.edited_from is None and row.confidence < review_below)
            or row.verdict not in (None, VALID)
            or row.proposed is None
        )
        found[row.field] = LineCheck(
            field=row.field,
            characters=characters,
            doubtful_at=doubtful_at,
            suggestion_probability=(
                float(probability) if isinstance(probability, int | float) else None
            ),
            ocr_value=str(ocr_value) if ocr_value and ocr_value != row.proposed else None,
            checks=tuple(checks),
            needs_choice=choice,
            uncertain=uncertain,
            correction=correction_of(row, editors.get(row.field)),
        )
    return found


def writer_of(evidence: Mapping[str, Any]) -> Writer:
    """Who wrote an answer's value: the OCR for a scan, the PDF's field, else the customer."""
    kind = evidence.get("kind")
    if kind == "scan":
        return Writer.OCR
    if kind == "pdf_field":
        return Writer.PDF
    return Writer.CUSTOMER


def correction_of(row: FieldRowView, clerk: str | None) -> Correction | None:
    """Who wrote the value a clerk corrected (none when nobody corrected it)."""
    if row.edited_from is None:
        return None
    return Correction(writer_of(row.evidence), row.edited_from, row.proposed, clerk)


def editors_of(events: Iterable[Any]) -> dict[str, str]:
    """Field -> the clerk of its latest `edited` audit event (events newest first)."""
    found: dict[str, str] = {}
    for event in events:
        if event.kind == "edited" and event.field and event.field not in found:
            found[event.field] = event.actor
    return found


@dataclass(frozen=True)
class RecordLine:
    """A field of the record the change set leaves as it is, shown for context."""

    field: str
    label: str
    value: str


@dataclass(frozen=True)
class Station:
    """The verification station of one change set: whose record, its other fields, each line.

    Attributes:
        customer: the customer's name as the source holds it ("" when it has none or cannot
            be read now).
        record_key: the record's key in the source.
        unchanged: the form's other fields, as the source holds them now (as the customer
            saw them when the source cannot be read).
        lines: field -> what the station shows about that line.
    """

    customer: str
    record_key: str
    unchanged: tuple[RecordLine, ...]
    lines: Mapping[str, LineCheck]

    @property
    def approvable(self) -> tuple[str, ...]:
        """The lines "approve all valid lines" takes: valid, no failed check, no choice."""
        return tuple(field for field, line in self.lines.items() if line.approvable)


#: The source columns that name the customer, in the order a letter writes them.
NAME_COLUMNS = ("title", "first_name", "last_name")


def station_of(
    definition: FormDefinition,
    rows: Sequence[FieldRowView],
    record_key: str,
    snapshot: Mapping[str, Any],
    source: Mapping[str, Any] | None,
    *,
    locale: str,
    editors: Mapping[str, str] | None = None,
    review_below: float = 0.9,
) -> Station:
    """The station of a change set's `rows` (`source`: the live record, None when unreadable)."""
    changed = {row.field for row in rows}
    record: dict[str, str | None] = {}
    unchanged = []
    for field in definition.fields:
        if not field.maps_to:
            continue
        value = snapshot.get(field.name)
        if source is not None and field.maps_to in source:
            raw = source[field.maps_to]
            value = None if raw is None else str(raw)
        record[field.name] = value
        if field.name not in changed and value not in (None, ""):
            try:
                # Context, not a decision: bank details left alone stay masked.
                shown = (
                    field.customer_display(value, locale)
                    if field.type.masked
                    else field.display(value, locale)
                )
            except (KeyError, ValueError):
                shown = str(value)
            unchanged.append(RecordLine(field.name, field.label_in(locale), shown))
    customer = " ".join(
        str(source[name]).strip() for name in NAME_COLUMNS if source and source.get(name)
    )
    lines = line_checks(
        definition,
        [row for row in rows if _known(definition, row.field)],
        record,
        resolutions={row.field: row.resolution for row in rows},
        editors=editors,
        review_below=review_below,
    )
    return Station(customer, record_key, tuple(unchanged), lines)


def _known(definition: FormDefinition, field: str) -> bool:
    try:
        definition.field(field)
    except KeyError:
        return False
    return True
