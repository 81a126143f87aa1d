"""API: the review queue, change sets, and the decisions on them (accept, reject, edit)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import g
from flask_smorest import Blueprint

from forms_service.accounts.service import Role
from forms_service.changes.model import ChangeSetView
from forms_service.changes.queries import queue_filter
from forms_service.changes.service import ChangeService
from forms_service.intake.queries import origin_of
from forms_service.storage.service import reading
from forms_service.web.api.auth import require_token
from forms_service.web.api.change_sets_schema import (
    ChangeSetQuerySchema,
    ChangeSetSchema,
    EditSchema,
    QueuePageSchema,
    RejectSchema,
    TakeAnswerSchema,
    VersionSchema,
)
from forms_service.web.api.problems import problems
from forms_service.web.context import runtime

blueprint = Blueprint(
    "api_change_sets", __name__, url_prefix="/api/v1", description="Change sets and review"
)

#: Roles whose tokens may decide change sets (admin may too).
DECIDERS = (Role.CLERK, Role.SUPERVISOR)
#: Roles whose tokens read the values of a change set (personal data).
VALUE_READERS = frozenset({Role.INTEGRATION, Role.CLERK, Role.SUPERVISOR, Role.ADMIN})
_PERSONAL = frozenset(
    {"base", "current", "proposed", "base_display", "current_display", "proposed_display"}
    | {"edited_from", "evidence"}
)
LOCALE = "en"


def _changes() -> ChangeService:
    return runtime().changes


def _shown(view: ChangeSetView) -> dict[str, Any]:
    """The change set as the token may see it."""
    allowed = bool(g.api_roles & VALUE_READERS)
    rows = []
    for row in view.rows:
        shown = dataclasses.asdict(row)
        shown["waiting"] = row.waiting
        if not allowed:
            shown.update({name: None for name in _PERSONAL})
        rows.append(shown)
    body = dataclasses.asdict(view)
    body["rows"] = rows
    with reading(runtime().sessions) as session:
        origin = origin_of(session, view.submission_id)
    body["origin"] = {
        "pdf_return_id": origin.pdf_return_id,
        "batch_ids": list(origin.batch_ids),
        "page_ids": [page.id for page in origin.pages],
    }
    if not allowed:
        body["record_key"] = None
    return body


@blueprint.route("/change-sets", methods=["GET"])
@require_token()  # outside `arguments`: authenticate before parsing
@blueprint.arguments(ChangeSetQuerySchema, location="query")
@blueprint.response(200, QueuePageSchema)
@problems(blueprint, 403, 422)
def change_set_list(query: dict[str, Any]) -> dict[str, Any]:
    """The review queue: conflicts first, then oldest first, with counts per status."""
    wanted = queue_filter(
        form_id=query.get("form"),
        channel=query.get("channel"),
        status=query.get("status"),
        older_than_days=query.get("older_than_days"),
        limit=query["limit"],
        offset=query["offset"],
    )
    page = _changes().queue(wanted, locale=LOCALE)
    return {
        "items": [dataclasses.asdict(entry) for entry in page.entries],
        "total": page.total,
        "conflicts": page.conflicts,
        "counts": dict(page.counts),
        "limit": query["limit"],
        "offset": query["offset"],
    }


@blueprint.route("/change-sets/<change_set_id>", methods=["GET"])
@require_token()  # outside `arguments`: authenticate before parsing
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404)
def change_set_detail(change_set_id: str) -> dict[str, Any]:
    """One change set with a row per changed field, and its write-back progress."""
    return _shown(_changes().change_set(change_set_id, locale=LOCALE))


@blueprint.route("/change-sets/<change_set_id>/approve", methods=["POST"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(VersionSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def change_set_approve(body: dict[str, Any], change_set_id: str) -> dict[str, Any]:
    """Accept every field still waiting for this token's owner (four-eyes: another person)."""
    view = _changes().approve_all(change_set_id, actor=g.api_reviewer, version=body["version"])
    return _shown(view)


@blueprint.route("/change-sets/<change_set_id>/reject", methods=["POST"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(RejectSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def change_set_reject(body: dict[str, Any], change_set_id: str) -> dict[str, Any]:
    """Reject every field still waiting: the source keeps its values."""
    view = _changes().reject_all(
        change_set_id, actor=g.api_reviewer, version=body["version"], reason=body["reason"]
    )
    return _shown(view)


@blueprint.route("/change-sets/<change_set_id>/fields/<field>/accept", methods=["POST"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(VersionSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def field_accept(body: dict[str, Any], change_set_id: str, field: str) -> dict[str, Any]:
    """Accept one field's change as proposed."""
    view = _changes().accept(change_set_id, field, actor=g.api_reviewer, version=body["version"])
    return _shown(view)


@blueprint.route("/change-sets/<change_set_id>/fields/<field>/reject", methods=["POST"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(RejectSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def field_reject(body: dict[str, Any], change_set_id: str, field: str) -> dict[str, Any]:
    """Reject one field's change."""
    view = _changes().reject(
        change_set_id, field, actor=g.api_reviewer, version=body["version"], reason=body["reason"]
    )
    return _shown(view)


@blueprint.route("/change-sets/<change_set_id>/fields/<field>/take-answer", methods=["POST"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(TakeAnswerSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def field_take_answer(body: dict[str, Any], change_set_id: str, field: str) -> dict[str, Any]:
    """Settle a conflict for the answer, with the reason (accept refuses a conflict).

    Keeping the source's value is a rejection of the field.
    """
    view = _changes().take_answer(
        change_set_id, field, reason=body["reason"], actor=g.api_reviewer, version=body["version"]
    )
    return _shown(view)


@blueprint.route("/change-sets/<change_set_id>/fields/<field>", methods=["PATCH"])
@require_token(*DECIDERS, decides=True)  # outside `arguments`: authenticate before parsing
@blueprint.arguments(EditSchema)
@blueprint.response(200, ChangeSetSchema)
@problems(blueprint, 403, 404, 409, 422)
def field_edit(body: dict[str, Any], change_set_id: str, field: str) -> dict[str, Any]:
    """Replace the proposed value (checked again by the field type); optionally accept it."""
    view = _changes().edit(
        change_set_id,
        field,
        body["value"],
        actor=g.api_reviewer,
        version=body["version"],
        accept=body["accept"],
    )
    return _shown(view)
