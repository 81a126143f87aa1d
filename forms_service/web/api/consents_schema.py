"""marshmallow schemas of the API's consent resources: record a consent, read states in bulk."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

_PURPOSES = validate.OneOf(["regulatory", "commercial"])
_CHANNELS = validate.OneOf(["email", "sms", "letter"])


class ConsentRecordSchema(Schema):
    """A consent the client collected: who, what, when, and the exact wording shown."""

    source = fields.String(required=True, validate=validate.Length(3, 130))
    key = fields.String(required=True, validate=validate.Length(1, 128))
    purpose = fields.String(required=True, validate=_PURPOSES)
    channel = fields.String(required=True, validate=_CHANNELS)
    state = fields.String(required=True, validate=validate.OneOf(["granted", "withdrawn"]))
    at = fields.AwareDateTime(required=True)
    wording = fields.String(required=True, validate=validate.Length(1, 2000))
    locale = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class ConsentRecordedSchema(Schema):
    """The event written, and what became of the source's opt-in column."""

    event = fields.Integer()
    write_back = fields.String()


class ConsentQuerySchema(Schema):
    """The customers of one source whose states are wanted (a campaign batch)."""

    source = fields.String(required=True, validate=validate.Length(3, 130))
    keys = fields.List(
        fields.String(validate=validate.Length(1, 128)),
        required=True,
        validate=validate.Length(1, 1000),
    )
    purpose = fields.String(required=True, validate=_PURPOSES)
    channel = fields.String(required=True, validate=_CHANNELS)


class ConsentStatesSchema(Schema):
    """The ledger's state of each key it knows (absent: nothing recorded)."""

    states = fields.Dict(keys=fields.String(), values=fields.String())
