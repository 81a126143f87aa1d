"""Three-way diff per field (base, current, proposed) after normalisation by the field type."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from forms_service.changes.model import FieldDiff, Outcome
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import FieldDefinition, FormDefinition


def canonical(field: FieldDefinition, raw: object) -> str | None:
    """The canonical value of a raw source value; a value the type refuses is kept as text.

    A source may hold values its own rules would refuse today (an old postcode, an IBAN
    typed with spaces); they must still compare, so they fall back to collapsed text.
    """
    try:
        return field.parse(raw)
    except FieldValueError:
        pass
    text = None if raw is None else " ".join(str(raw).split())
    if not text:
        return None
    try:
        # Normalised without the rules (a consent a rule says must be ticked is still "false").
        return field.type.normalise(text, field.rules, field.choices)
    except FieldValueError:
        return text


def outcome_of(
    field: FieldDefinition, base: str | None, current: str | None, proposed: str | None
) -> Outcome:
    """The diff's conclusion for one field (values already canonical).

    proposed == base: the customer changed nothing; current == base: a clean change;
    current == proposed: somebody already made it; otherwise the source moved: conflict.
    """
    if field.same(proposed, base):
        return Outcome.UNCHANGED
    if field.same(current, base):
        return Outcome.CHANGE
    if field.same(current, proposed):
        return Outcome.ALREADY_APPLIED
    return Outcome.CONFLICT


def unread_outcome(field: FieldDefinition, base: str | None, current: str | None) -> Outcome:
    """The conclusion for an answer seen but not read: a change, whatever base it had.

    The value is for a clerk to key, so it can be compared with nothing: it is a change (a
    conflict when the source moved since the snapshot), never "unchanged" or "already done".
    """
    return Outcome.CHANGE if field.same(current, base) else Outcome.CONFLICT


def diff_field(
    field: FieldDefinition,
    base: object,
    current_raw: object,
    proposed: object,
    *,
    unread: bool = False,
) -> FieldDiff:
    """Compare one field three ways; `base` and `proposed` may be raw, they are normalised.

    `unread`: the channel saw an answer it could not read (`proposed` is None until a clerk
    keys it): see `unread_outcome`.
    """
    base_value = canonical(field, base)
    if unread:
        current_value = canonical(field, current_raw)
        return FieldDiff(
            field=field.name,
            base=base_value,
            current=current_value,
            proposed=None,
            outcome=unread_outcome(field, base_value, current_value),
            current_raw=current_raw,
        )
    # Most fields are answered and held unchanged: the same raw value is canonicalised once
    # (a phone number's parse shows in a submit's profile).
    proposed_value = base_value if _same_raw(proposed, base) else canonical(field, proposed)
    if _same_raw(current_raw, proposed):
        current_value = proposed_value
    elif _same_raw(current_raw, base):
        current_value = base_value
    else:
        current_value = canonical(field, current_raw)
    return FieldDiff(
        field=field.name,
        base=base_value,
        current=current_value,
        proposed=proposed_value,
        outcome=outcome_of(field, base_value, current_value, proposed_value),
        current_raw=current_raw,
    )


def _same_raw(a: object, b: object) -> bool:
    """Whether two raw values are one input (same type too: True == 1 in Python)."""
    return type(a) is type(b) and a == b


def diff_submission(
    definition: FormDefinition,
    base: Mapping[str, Any],
    current: Mapping[str, Any],
    proposed: Mapping[str, Any],
    unread: Collection[str] = frozenset(),
) -> tuple[FieldDiff, ...]:
    """Every answered field that maps to a writable source column, compared three ways.

    Args:
        definition: the form.
        base: field name -> value the customer saw.
        current: source column -> value the source holds now (the connector's record).
        proposed: field name -> the customer's answer; fields absent were not asked.
        unread: fields answered but not readable (a clerk keys them): always a change.

    Returns:
        One diff per answered, writable field, in definition order (unchanged ones included:
        the caller keeps only the real changes).
    """
    diffs = []
    for field in definition.fields:
        if field.name not in proposed or not field.maps_to or not field.type.writable:
            continue
        diffs.append(
            diff_field(
                field,
                base.get(field.name),
                current.get(field.maps_to),
                proposed[field.name],
                unread=field.name in unread,
            )
        )
    return tuple(diffs)
