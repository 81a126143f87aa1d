"""API: send a batch of scanned pages (multipart) and follow its per-page progress."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from forms_service.accounts.service import Role
from forms_service.core.errors import InvalidInput
from forms_service.intake.mailroom import queries
from forms_service.web.api.auth import require_token
from forms_service.web.api.problems import problems
from forms_service.web.api.scans_schema import (
    ScanBatchDetailQuerySchema,
    ScanBatchPageSchema,
    ScanBatchQuerySchema,
    ScanBatchSchema,
)
from forms_service.web.batches import spooled, too_large
from forms_service.web.context import runtime

blueprint = Blueprint(
    "api_scans", __name__, url_prefix="/api/v1", description="Scanned paper returns (mailroom)"
)

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "PDF, TIFF, PNG or JPEG files; one batch",
                    },
                    "name": {
                        "type": "string",
                        "maxLength": 120,
                        "description": "the batch's name (else its scanner's: the first "
                        "file's PDF /Title or TIFF DocumentName, else the file's name)",
                    },
                },
                "required": ["files"],
            }
        }
    },
}


def files_of(field: str = "files") -> list[FileStorage]:
    """The files of a multipart request (spooled to disk by Werkzeug when large)."""
    files = [f for f in request.files.getlist(field) if f and f.filename]
    if not files:
        raise InvalidInput("send the scanned files as multipart field 'files'", field=field)
    return files


@blueprint.route("/scans", methods=["POST"])
@blueprint.doc(requestBody=_UPLOAD_BODY)
@blueprint.response(202, ScanBatchSchema)
@problems(blueprint, 403, 413, 422)
@require_token(Role.MAILROOM, Role.INTEGRATION)
def scans_create() -> Any:
    """Store a batch of scans, then read each page in the background (202 Accepted).

    The batch is capped by MAILROOM_MAX_BATCH_BYTES (413 `batch_too_large` above it, with
    the size and the limit), not by the customers' MAX_CONTENT_LENGTH; files are stored
    from disk, never read whole into memory.
    """
    mailroom = runtime().mailroom
    with spooled(files_of()) as uploads:
        received = mailroom.receive(
            uploads, source="api", actor=str(g.api_actor), name=request.form.get("name")
        )
    with runtime().sessions() as session:
        return queries.batch(session, received.id)


@blueprint.route("/scans", methods=["GET"])
@require_token(Role.MAILROOM, Role.INTEGRATION)
@blueprint.arguments(ScanBatchQuerySchema, location="query")
@blueprint.response(200, ScanBatchPageSchema)
@problems(blueprint, 403, 422)
def scans_list(query: dict[str, Any]) -> dict[str, Any]:
    """The latest batches, newest first, with their page counts per status."""
    with runtime().sessions() as session:
        items = queries.batches(session, limit=query["limit"], offset=query["offset"])
    return {"items": items, "limit": query["limit"], "offset": query["offset"]}


@blueprint.route("/scans/<batch_id>", methods=["GET"])
@require_token(Role.MAILROOM, Role.INTEGRATION)
@blueprint.arguments(ScanBatchDetailQuerySchema, location="query")
@blueprint.response(200, ScanBatchSchema)
@problems(blueprint, 403, 404, 422)
def scans_detail(query: dict[str, Any], batch_id: str) -> Any:
    """A batch's progress, page by page: `limit` pages (500 by default) from `offset`."""
    with runtime().sessions() as session:
        return queries.batch(session, batch_id, limit=query["limit"], offset=query["offset"])


@blueprint.errorhandler(RequestEntityTooLarge)
def batch_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Over MAILROOM_MAX_BATCH_BYTES: the problem shape, with the size and the limit."""
    error = too_large()
    return {
        "status": error.status,
        "code": error.code,
        "field": error.field,
        "reason": error.reason,
    }, error.status
