"""marshmallow schemas of the API's documents resource."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class IssueRequestSchema(Schema):
    """Which records to issue a form to."""

    form = fields.String(required=True, validate=validate.Length(1, 64))
    campaign = fields.String(load_default=None, validate=validate.Length(1, 64))
    keys = fields.List(
        fields.String(validate=validate.Length(1, 128)), validate=validate.Length(1, 10000)
    )
    where = fields.String(validate=validate.Length(1, 500))
    all = fields.Boolean(load_default=False)

    @validates_schema
    def one_selection(self, data: dict[str, Any], **_: Any) -> None:
        """Exactly one of keys, where and all."""
        chosen = [k for k in ("keys", "where") if data.get(k)] + (
            ["all"] if data.get("all") else []
        )
        if len(chosen) != 1:
            raise ValidationError("give exactly one of 'keys', 'where' or 'all': true", "keys")


class IssuedDocumentSchema(Schema):
    """One issued document (no personal data: key, ids and link)."""

    key = fields.String()
    document_id = fields.String()
    reference = fields.String()
    link = fields.String()
    expires_at = fields.DateTime()
    created = fields.Boolean()


class IssueResponseSchema(Schema):
    """The issuing manifest."""

    campaign = fields.String()
    documents = fields.List(fields.Nested(IssuedDocumentSchema))


class ProblemSchema(Schema):
    """Every API error: status, code, the field concerned, the reason."""

    status = fields.Integer()
    code = fields.String()
    field = fields.String(allow_none=True)
    reason = fields.String()
    #: Request parsing errors by location and field (422 only).
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())
