"""API views: parse with marshmallow, call a service, serialise."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from forms_service.accounts.service import Role
from forms_service.connectors.interfaces import Selection
from forms_service.web.api.auth import require_token
from forms_service.web.api.schemas import IssueRequestSchema, IssueResponseSchema, ProblemSchema
from forms_service.web.context import runtime

blueprint = Blueprint("api_documents", __name__, url_prefix="/api/v1", description="Documents")


@blueprint.route("/documents", methods=["POST"])
@require_token(Role.INTEGRATION)  # outside `arguments`: authenticate before reading the body
@blueprint.arguments(IssueRequestSchema)
@blueprint.response(201, IssueResponseSchema)
@blueprint.alt_response(400, schema=ProblemSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
@blueprint.alt_response(422, schema=ProblemSchema)
def issue_documents(body: dict[str, Any]) -> dict[str, Any]:
    """Issue a form to records: one document each, same document when issued twice."""
    if body.get("keys"):
        selection = Selection(keys=tuple(body["keys"]))
    elif body.get("where"):
        selection = Selection.parse_where(body["where"])
    else:
        selection = Selection(all=True)
    issuing = runtime().issuing
    # By default, the campaign of the day, in the server's time zone.
    campaign = body.get("campaign") or issuing.clock().astimezone().date().isoformat()
    issued = list(issuing.issue(body["form"], selection, campaign, actor=g.api_actor))
    return {"campaign": campaign, "documents": [vars(i) for i in issued]}
