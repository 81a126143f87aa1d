"""API: record a consent an integration collected, read the ledger's states in bulk.

Both are POSTs: customer numbers travel in the body, never in an address.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from forms_service.accounts.service import Role
from forms_service.consent.interfaces import ConsentState
from forms_service.consent.ledger import Source
from forms_service.web.api.auth import require_token
from forms_service.web.api.consents_schema import (
    ConsentQuerySchema,
    ConsentRecordedSchema,
    ConsentRecordSchema,
    ConsentStatesSchema,
)
from forms_service.web.api.problems import problems
from forms_service.web.context import runtime

blueprint = Blueprint(
    "api_consents", __name__, url_prefix="/api/v1", description="The consent ledger"
)


@blueprint.route("/consents", methods=["POST"])
@require_token(Role.INTEGRATION)  # outside `arguments`: authenticate before reading the body
@blueprint.arguments(ConsentRecordSchema)
@blueprint.response(201, ConsentRecordedSchema)
@problems(blueprint, 400, 403, 404, 422)
def record_consent(body: dict[str, Any]) -> dict[str, Any]:
    """Record an opt-in or opt-out with its wording (the client's name is the evidence's)."""
    consent = runtime().consent
    customer = consent.customer_in(body["source"], body["key"])
    change = consent.record_by_clerk(
        customer,
        purpose=body["purpose"],
        channel=body["channel"],
        state=ConsentState(body["state"]),
        at=body["at"],
        actor=g.api_actor,
        wording=body["wording"],
        locale=body["locale"],
        via="api",
        source=Source.API,
    )
    return {"event": change.event_id, "write_back": change.write_back}


@blueprint.route("/consents/states", methods=["POST"])
@require_token(Role.INTEGRATION)
@blueprint.arguments(ConsentQuerySchema)
@blueprint.response(200, ConsentStatesSchema)
@problems(blueprint, 400, 403, 404, 422)
def consent_states(body: dict[str, Any]) -> dict[str, Any]:
    """The ledger's current state of up to 1,000 customers for one purpose and channel."""
    consent = runtime().consent
    customers = {consent.customer_in(body["source"], k).key: k for k in body["keys"]}
    with runtime().sessions() as session:
        states = consent.ledger.states(session, list(customers), body["purpose"], body["channel"])
    return {"states": {customers[c]: s.value for c, s in states.items()}}
