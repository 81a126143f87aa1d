"""API: the audit log, personal values redacted for roles not allowed to read them."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import g
from flask_smorest import Blueprint

from forms_service.audit.service import events_of, redact
from forms_service.web.api.audit_schema import AuditPageSchema, AuditQuerySchema
from forms_service.web.api.auth import require_token
from forms_service.web.api.problems import problems
from forms_service.web.context import runtime

blueprint = Blueprint("api_audit", __name__, url_prefix="/api/v1", description="Audit log")


@blueprint.route("/audit", methods=["GET"])
@require_token()  # outside `arguments`: authenticate before parsing
@blueprint.arguments(AuditQuerySchema, location="query")
@blueprint.response(200, AuditPageSchema)
@problems(blueprint, 403, 422)
def audit_list(query: dict[str, Any]) -> dict[str, Any]:
    """The latest audit events (of one document when asked), newest first."""
    with runtime().sessions() as session:
        events = events_of(
            session,
            document_id=query.get("document_id"),
            limit=query["limit"],
            before_id=query.get("before_id"),
        )
        entries = redact(events, {str(role) for role in g.api_roles})
    full = len(entries) == query["limit"]
    return {
        "items": [dataclasses.asdict(entry) for entry in entries],
        "next_before_id": entries[-1].id if entries and full else None,
    }
