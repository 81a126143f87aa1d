"""marshmallow schemas of the API's audit resource."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class AuditQuerySchema(Schema):
    """Which events: one document's, or the latest; paged backwards by id."""

    document_id = fields.String(validate=validate.Length(1, 32))
    before_id = fields.Integer(validate=validate.Range(1, 2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AuditEntrySchema(Schema):
    """One audit event; `before`/`after` read "[redacted]" for roles not allowed."""

    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    document_id = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)
    detail = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    redacted = fields.Boolean(required=True)


class AuditPageSchema(Schema):
    """The latest events first; `next_before_id` pages further back (null at the start)."""

    items = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next_before_id = fields.Integer(allow_none=True)
