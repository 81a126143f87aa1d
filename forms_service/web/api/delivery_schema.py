"""marshmallow schemas of the API's delivery resources: a campaign's send, a document's history."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from forms_service.delivery.interfaces import Channel, Purpose


class SendRequestSchema(Schema):
    """How a campaign is to be sent (the same options as `forms-service send`)."""

    channels = fields.List(
        fields.String(validate=validate.OneOf([c.value for c in Channel])),
        load_default=None,
        validate=validate.Length(1, 3),
    )
    force = fields.Boolean(load_default=False)
    dry_run = fields.Boolean(load_default=False)
    remind = fields.List(
        fields.Integer(validate=validate.Range(1, 365)),
        load_default=list,
        validate=validate.Length(0, 10),
    )
    remind_channel = fields.String(load_default="same", validate=validate.OneOf(["same", "next"]))
    purpose = fields.String(
        load_default="service", validate=validate.OneOf([p.value for p in Purpose])
    )


class SendResponseSchema(Schema):
    """What the send did (or would do): counts per channel and per reason."""

    campaign = fields.String()
    dry_run = fields.Boolean()
    documents = fields.Integer()
    channels = fields.Dict(keys=fields.String(), values=fields.Integer())
    unreachable = fields.Dict(keys=fields.String(), values=fields.Integer())
    skipped = fields.Dict(keys=fields.String(), values=fields.Integer())
    already = fields.Integer()
    closed = fields.Integer()
    gate = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={
            "description": "Per channel, the consent gate's columns: selected, sendable_now, "
            "deferred, capacity (spread over later days), suppressed_consent, suppressed_cap, "
            "unreachable."
        },
    )
    deferred_until = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "Per channel, the first and last time a deferred one may go."},
    )
    decisions = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "`reason: rule` -> messages deferred or suppressed by it."},
    )


class HistoryEntrySchema(Schema):
    """One event of a document's history (codes and figures, no personal data)."""

    kind = fields.String()
    at = fields.DateTime()
    channel = fields.String(allow_none=True)
    message_id = fields.String(allow_none=True)
    detail = fields.Dict(keys=fields.String(), values=fields.Raw())


class HistorySchema(Schema):
    """A document's history, oldest first."""

    document_id = fields.String()
    events = fields.List(fields.Nested(HistoryEntrySchema))
