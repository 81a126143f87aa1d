"""The `channel` field every API resource shares: one list of values, documented once."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from forms_service.storage.model import AnswerChannel

#: Every channel an answer comes from; the same values in filters, lists and change sets.
CHANNELS = [c.value for c in AnswerChannel]
CHANNEL_DESCRIPTION = (
    "Where the answer came from: `online` (the online form), `pdf` (a returned fillable "
    "PDF, its fields read), `pdf_scan` (a returned PDF with no fields left, read by the "
    "mailroom's scan), `paper` (a paper letter scanned by the mailroom)."
)


def channel_field(**kwargs: Any) -> fields.String:
    """The `channel` of an answer, documented with its values (an enum in the OpenAPI spec)."""
    return fields.String(
        validate=validate.OneOf(CHANNELS), metadata={"description": CHANNEL_DESCRIPTION}, **kwargs
    )
