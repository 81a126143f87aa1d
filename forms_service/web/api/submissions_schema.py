"""marshmallow schemas of the API's submissions resource."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from forms_service.storage.model import SubmissionStatus
from forms_service.web.api.channel_schema import channel_field


class SubmissionQuerySchema(Schema):
    """Filters and paging of the submission list."""

    form = fields.String(validate=validate.Length(1, 64))
    channel = channel_field()
    status = fields.String(validate=validate.OneOf([s.value for s in SubmissionStatus]))
    received_after = fields.AwareDateTime(default_timezone=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class SubmissionSchema(Schema):
    """One answer; `values` is null for tokens not allowed to read personal data."""

    id = fields.String(required=True)
    document_id = fields.String(required=True)
    reference = fields.String(required=True)
    form_id = fields.String(required=True)
    channel = channel_field(required=True)
    status = fields.String(required=True)
    locale = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    opened_at = fields.DateTime(allow_none=True)
    change_set_id = fields.String(allow_none=True)
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True)


class SubmissionPageSchema(Schema):
    """A page of submissions, newest first."""

    items = fields.List(fields.Nested(SubmissionSchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
