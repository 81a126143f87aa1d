"""marshmallow schemas of the API's change-sets resource (queue, change set, decisions)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from forms_service.storage.model import ChangeSetStatus
from forms_service.web.api.channel_schema import channel_field


class ChangeSetQuerySchema(Schema):
    """Filters and paging of the queue (default: change sets waiting for a clerk)."""

    form = fields.String(validate=validate.Length(1, 64))
    channel = channel_field()
    status = fields.String(validate=validate.OneOf([s.value for s in ChangeSetStatus]))
    older_than_days = fields.Integer(validate=validate.Range(0, 3650))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class QueueEntrySchema(Schema):
    """One change set in the queue."""

    id = fields.String(required=True)
    version = fields.Integer(required=True)
    document_id = fields.String(required=True)
    reference = fields.String(required=True)
    form_id = fields.String(required=True)
    form_title = fields.String(required=True)
    channel = channel_field(required=True)
    status = fields.String(required=True)
    has_conflict = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    fields_ = fields.Integer(required=True, data_key="fields", attribute="fields")
    waiting = fields.Integer(required=True)


class QueuePageSchema(Schema):
    """A page of the queue, conflicts first, with counts per status."""

    items = fields.List(fields.Nested(QueueEntrySchema), required=True)
    total = fields.Integer(required=True)
    conflicts = fields.Integer(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class FieldRowSchema(Schema):
    """One changed field; the values are null for tokens not allowed to read personal data."""

    field = fields.String(required=True)
    label = fields.String(required=True)
    base = fields.String(allow_none=True)
    current = fields.String(allow_none=True)
    proposed = fields.String(allow_none=True)
    base_display = fields.String(allow_none=True)
    current_display = fields.String(allow_none=True)
    proposed_display = fields.String(allow_none=True)
    edited_from = fields.String(allow_none=True)
    #: How a clerk settled a conflict: keep_source, take_answer, edit (None: not settled).
    resolution = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    policy = fields.String(required=True)
    confidence = fields.Float(required=True)
    evidence = fields.Dict(
        keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True
    )
    verdict = fields.String(allow_none=True)
    status = fields.String(required=True)
    first_reviewer = fields.String(allow_none=True)
    second_reviewer = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    waiting = fields.Boolean(required=True)


class OutboxSchema(Schema):
    """The write-back's progress for one outbox message."""

    id = fields.Integer(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class OriginSchema(Schema):
    """The records a change set's answer was read from (ids only, no personal data)."""

    pdf_return_id = fields.String(
        allow_none=True, metadata={"description": "The PDF return (`pdf`, `pdf_scan`)."}
    )
    batch_ids = fields.List(
        fields.String(), required=True, metadata={"description": "Scan batches of its pages."}
    )
    page_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The scanned pages it was read from."},
    )


class ChangeSetSchema(Schema):
    """A change set with one row per changed field."""

    id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    has_conflict = fields.Boolean(required=True)
    document_id = fields.String(required=True)
    reference = fields.String(required=True)
    record_key = fields.String(allow_none=True)
    form_id = fields.String(required=True)
    form_title = fields.String(required=True)
    channel = channel_field(required=True)
    submission_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)
    origin = fields.Nested(OriginSchema, required=True)
    rows = fields.List(fields.Nested(FieldRowSchema), required=True)
    outbox = fields.List(fields.Nested(OutboxSchema), required=True)


class VersionSchema(Schema):
    """The change set's version as the caller last read it (optimistic lock)."""

    version = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


class RejectSchema(VersionSchema):
    """A rejection, with an optional reason kept in the audit log."""

    reason = fields.String(load_default="", validate=validate.Length(0, 200))


class TakeAnswerSchema(VersionSchema):
    """A conflict settled for the answer: the reason is required (kept in the audit log)."""

    reason = fields.String(required=True, validate=validate.Length(1, 200))


class EditSchema(VersionSchema):
    """A corrected value for one field (checked by the field type); accept it at once or not."""

    value = fields.String(required=True, allow_none=True, validate=validate.Length(0, 2000))
    accept = fields.Boolean(load_default=False)
