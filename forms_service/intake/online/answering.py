"""The online answer's plain parts: values parsed again, repeats recognised, rows written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row

from forms_service.core.errors import InvalidInput
from forms_service.definitions.fieldtypes import FieldValueError
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.intake.online.queries import PENDING, SUBMISSIONS
from forms_service.storage.model import Submission, SubmissionStatus


def repeated_by(answers: Sequence[Row[Any, Any, Any, Any, Any]], new: Submission) -> str | None:
    """The id of the stored answer a new one repeats, if any.

    The earliest pending answer, else the latest one when it was confirmed without change
    with the same values and base: an answer that changes nothing is closed in the submit's
    own transaction, so without this second rule a double click on it would store it twice.
    """
    pending = [a for a in answers if a.status in PENDING]
    if pending:
        return str(min(pending, key=lambda a: a.received_at).id)
    latest = max(answers, key=lambda a: a.received_at, default=None)
    if (
        latest is not None
        and latest.status is SubmissionStatus.NO_CHANGE
        and latest.answer == new.values
        and latest.base == new.base
    ):
        return str(latest.id)
    return None


def parsed_answer(
    definition: FormDefinition, raw_values: Mapping[str, Any], base: Mapping[str, str | None]
) -> dict[str, str | None]:
    """The canonical values of an online answer, parsed again by the field types.

    A postcode with a `country_field` is checked against the country the same answer
    chose (or the one it was shown, when it sent none).
    """
    values: dict[str, str | None] = {}
    for field_def in definition.fields_for(Channel.ONLINE):
        country_field = field_def.rules.country_field
        country = (
            (raw_values.get(country_field) or base.get(country_field)) if country_field else None
        )
        try:
            values[field_def.name] = field_def.parse_answer(
                raw_values.get(field_def.name), base.get(field_def.name), country
            )
        except FieldValueError as exc:
            raise InvalidInput(exc.key, field=field_def.name) from exc
    return values


def row_of(submission: Submission) -> dict[str, Any]:
    """The submission as the row its INSERT writes."""
    return {column.key: getattr(submission, column.key) for column in SUBMISSIONS.columns}


def document_part(token: str) -> str | None:
    """The document id a token starts with, when it has the shape of one (security events)."""
    head = token.split(".", 1)[0]
    return head if len(head) == 22 else None


def jsonable(value: Any) -> Any:
    """A form's raw value as JSON can keep it (dates and the like as text)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)
