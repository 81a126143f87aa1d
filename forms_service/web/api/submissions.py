"""API: the submissions received on every channel (read only)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from forms_service.accounts.service import Role
from forms_service.intake.queries import SubmissionFilter, get_submission, list_submissions
from forms_service.storage.model import SubmissionStatus
from forms_service.web.api.auth import require_token
from forms_service.web.api.problems import problems
from forms_service.web.api.submissions_schema import (
    SubmissionPageSchema,
    SubmissionQuerySchema,
    SubmissionSchema,
)
from forms_service.web.context import runtime

blueprint = Blueprint(
    "api_submissions", __name__, url_prefix="/api/v1", description="Submissions (answers)"
)

#: Roles whose tokens read the answered values (personal data).
VALUE_READERS = frozenset({Role.INTEGRATION, Role.CLERK, Role.SUPERVISOR, Role.ADMIN})


def _shown(view: Any) -> dict[str, Any]:
    shown = dict(vars(view))
    if not (g.api_roles & VALUE_READERS):
        shown["values"] = None
    return shown


@blueprint.route("/submissions", methods=["GET"])
@require_token()  # outside `arguments`: authenticate before parsing
@blueprint.arguments(SubmissionQuerySchema, location="query")
@blueprint.response(200, SubmissionPageSchema)
@problems(blueprint, 403, 422)
def submission_list(query: dict[str, Any]) -> dict[str, Any]:
    """List submissions, newest first, filtered by form, channel, status and date."""
    wanted = SubmissionFilter(
        form_id=query.get("form"),
        channel=query.get("channel"),
        status=SubmissionStatus(query["status"]) if query.get("status") else None,
        received_after=query.get("received_after"),
        limit=query["limit"],
        offset=query["offset"],
    )
    with runtime().sessions() as session:
        page = list_submissions(session, wanted)
    return {
        "items": [_shown(item) for item in page.items],
        "total": page.total,
        "limit": wanted.limit,
        "offset": wanted.offset,
    }


@blueprint.route("/submissions/<submission_id>", methods=["GET"])
@require_token()  # outside `arguments`: authenticate before parsing
@blueprint.response(200, SubmissionSchema)
@problems(blueprint, 403, 404)
def submission_detail(submission_id: str) -> dict[str, Any]:
    """One submission with its values (null for tokens not allowed to read them)."""
    with runtime().sessions() as session:
        return _shown(get_submission(session, submission_id))
