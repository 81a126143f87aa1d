"""API: send a campaign's documents, read a document's history."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from forms_service.accounts.service import Role
from forms_service.delivery.campaigns import CampaignOptions, parse_channels
from forms_service.delivery.history import document_history
from forms_service.delivery.interfaces import Purpose
from forms_service.web.api.auth import require_token
from forms_service.web.api.delivery_schema import (
    HistorySchema,
    SendRequestSchema,
    SendResponseSchema,
)
from forms_service.web.api.problems import problems
from forms_service.web.context import runtime

blueprint = Blueprint(
    "api_delivery", __name__, url_prefix="/api/v1", description="Delivery and history"
)


@blueprint.route("/campaigns/<name>/send", methods=["POST"])
@require_token(Role.INTEGRATION)  # outside `arguments`: authenticate before reading the body
@blueprint.arguments(SendRequestSchema)
@blueprint.response(200, SendResponseSchema)
@problems(blueprint, 400, 403, 404, 422)
def send_campaign(body: dict[str, Any], name: str) -> dict[str, Any]:
    """Send a campaign's documents (a dry run counts them); a second call resumes."""
    options = CampaignOptions(
        channels=parse_channels(body["channels"]),
        force=body["force"],
        purpose=Purpose(body["purpose"]),
        reminders=tuple(body["remind"]),
        remind_channel=body["remind_channel"],
    )
    plan = runtime().delivery.send_campaign(name, options, dry_run=body["dry_run"])
    return plan.as_dict()


@blueprint.route("/documents/<document_id>/events", methods=["GET"])
@require_token()
@blueprint.response(200, HistorySchema)
@problems(blueprint, 403, 404)
def document_events(document_id: str) -> dict[str, Any]:
    """A document's history: issued, sent, delivered, opened, answered, applied..."""
    with runtime().sessions() as session:
        events = document_history(session, document_id)
    return {"document_id": document_id, "events": [vars(e) for e in events]}
