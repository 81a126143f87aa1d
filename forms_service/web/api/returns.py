"""API: post a returned PDF (mailroom or integration); it is identified by its own token."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from forms_service.accounts.service import Role
from forms_service.core.errors import InvalidInput
from forms_service.intake.pdf import queries
from forms_service.pdfforms.guard import PdfTooLarge
from forms_service.storage.model import PdfReturnStatus
from forms_service.storage.scans import PageStatus
from forms_service.web.api.auth import require_token
from forms_service.web.api.problems import problems
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter

blueprint = Blueprint(
    "api_returns", __name__, url_prefix="/api/v1", description="Returned PDF forms"
)

_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The filled PDF as the customer saved it.",
                    },
                    "token": {
                        "type": "string",
                        "description": "Optional: the link token of the document it answers; "
                        "the PDF's own token must then name the same document.",
                    },
                },
            }
        }
    },
}


def _client_limit() -> str:
    return runtime().settings.ratelimit_api_returns_client


def _token_limit() -> str:
    return runtime().settings.ratelimit_api_returns_token


def _token_key() -> str:
    # Checked inside require_token: the token is known, its name is the key.
    return f"token:{g.api_actor}"


class PdfReturnSchema(Schema):
    """What became of a returned PDF (no personal data: ids, status, changed field names)."""

    status = fields.String(metadata={"enum": [s.value for s in PdfReturnStatus]})
    return_id = fields.String(allow_none=True)
    document_id = fields.String(allow_none=True)
    submission_id = fields.String(allow_none=True)
    repeated = fields.Boolean()
    changed_fields = fields.List(fields.String())


class ReturnPageSchema(Schema):
    """One page of a flattened return, as the mailroom settled it."""

    sequence = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in PageStatus]})
    exception = fields.String(allow_none=True)
    document_id = fields.String(
        allow_none=True,
        metadata={"description": "The document the page was identified as or assigned to."},
    )


class PdfReturnDetailSchema(Schema):
    """A returned PDF: what it became; a flattened one's document once its pages are read."""

    return_id = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in PdfReturnStatus]})
    document_id = fields.String(allow_none=True)
    submission_id = fields.String(allow_none=True)
    via = fields.String()
    received_at = fields.DateTime()
    batch_id = fields.String(allow_none=True)
    pages = fields.List(fields.Nested(ReturnPageSchema))


@blueprint.route("/returns/<return_id>", methods=["GET"])
@blueprint.response(200, PdfReturnDetailSchema)
@problems(blueprint, 404)
@require_token(Role.INTEGRATION, Role.MAILROOM)
def get_return(return_id: str) -> dict[str, Any]:
    """What became of a returned PDF.

    A flattened return (`awaiting_scan`) names its document once the mailroom has identified
    a page by its QR code, and its submission (status `scanned`) once its pages are read.
    Otherwise it ends when no page waits any more: `assigned_elsewhere` (an operator assigned
    its pages to other documents, named per page), or `rejected` (every page set aside).
    """
    with runtime().sessions() as session:
        view = queries.pdf_return(session, return_id)
    return {
        "return_id": view.id,
        "status": view.status.value,
        "document_id": view.document_id,
        "submission_id": view.submission_id,
        "via": view.via,
        "received_at": view.received_at,
        "batch_id": view.batch_id,
        "pages": [
            {
                "sequence": p.sequence,
                "status": p.status.value,
                "exception": p.exception,
                "document_id": p.document_id,
            }
            for p in view.pages
        ],
    }


@blueprint.route("/returns", methods=["POST"])
@blueprint.doc(requestBody=_UPLOAD)
@blueprint.response(201, PdfReturnSchema)
@blueprint.alt_response(202, schema=PdfReturnSchema, description="Stored for the mailroom")
@problems(blueprint, 400, 403, 404, 409, 410, 413, 415, 422, 429)
@require_token(Role.INTEGRATION, Role.MAILROOM)
@limiter.limit(_client_limit)
@limiter.limit(_token_limit, key_func=_token_key)
def post_return() -> ResponseReturnValue:
    """Read a filled PDF into a submission, or store a flattened one for the mailroom.

    The document is the one named by the PDF's hidden token. A flattened or printed PDF (no
    fields left) is stored with status `awaiting_scan` and read like a scanned letter.
    """
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("send the PDF as the multipart field 'file'", field="file")
    token = (request.form.get("token") or "").strip() or None
    receipt = runtime().pdf_returns.receive(
        upload.read(),
        link_token=token,
        via="api",
        actor=str(g.api_actor),
        client=client_pseudonym(),
        locale=locale(),
    )
    body: dict[str, Any] = {
        "status": receipt.status.value,
        "return_id": receipt.return_id,
        "document_id": receipt.document.id if receipt.document else None,
        "submission_id": receipt.submission.id if receipt.submission else None,
        "repeated": receipt.repeated,
        "changed_fields": [c.field for c in receipt.changes],
    }
    if receipt.status is PdfReturnStatus.AWAITING_SCAN:
        return body, 202
    return body, 200 if receipt.repeated else 201


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Over MAX_CONTENT_LENGTH: the problem shape, naming the file."""
    error = PdfTooLarge("the file is over the size limit (MAX_CONTENT_LENGTH)")
    return {
        "status": error.status,
        "code": error.code,
        "field": error.field,
        "reason": error.reason,
    }, error.status
