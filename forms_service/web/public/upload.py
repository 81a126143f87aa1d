"""The customer's upload of a filled PDF on the link's page: parse, call the PDF channel, render.

A form that asks an identity question before showing personal data asks it on this page too,
in the same form as the file, so that a link alone cannot change someone's details.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge

from forms_service.core.errors import FormsError
from forms_service.core.i18n import field_message
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.online_form import challenge_form_class
from forms_service.intake.online.model import ChallengeFailed, Purpose
from forms_service.intake.pdf.service import (
    AnswersRefused,
    NotThisForm,
    OtherDocument,
    PdfReturnReceipt,
    UnidentifiedPdf,
)
from forms_service.pdfforms.guard import PdfRejected, PdfTooLarge
from forms_service.storage.model import Document, PdfReturnStatus
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.public.forms import PublicForm
from forms_service.web.public.views import _PASSED, identified, render_error
from forms_service.web.refusals import for_customer

blueprint = Blueprint("public_upload", __name__)

#: Refusals shown on the upload page itself, so the customer can pick another file.
_FILE_REFUSALS = (PdfRejected, OtherDocument, UnidentifiedPdf, NotThisForm, AnswersRefused)


def _link_limit() -> str:
    return runtime().settings.ratelimit_link


def _upload_limit() -> str:
    # Reading a PDF costs far more than showing a page: its own, tighter budget.
    return runtime().settings.ratelimit_upload


def _max_megabytes() -> int:
    return max(1, runtime().settings.max_content_length // (1024 * 1024))


def _upload_form(definition: FormDefinition, lang: str, *, challenge: bool) -> Any:
    base = challenge_form_class(definition.challenge, lang, PublicForm) if challenge else PublicForm
    file_field = FileField(
        gettext("Your filled PDF"),
        validators=[FileRequired(message=field_message("required", lang))],
    )
    return type("UploadForm", (base,), {"file": file_field})


@blueprint.route("/f/<token>/upload", methods=["GET", "POST"])
@limiter.limit(_link_limit)
@limiter.limit(_upload_limit, methods=["POST"])
def upload(token: str) -> ResponseReturnValue:
    """Show the upload form; take a filled PDF and say what it changes."""
    lang = locale()
    client = client_pseudonym()
    opened = runtime().intake.open_form(token, Purpose.ANSWER, client=client, identified=identified)
    document, definition = opened.document, opened.definition
    challenge = opened.needs_identity
    web_form = _upload_form(definition, lang, challenge=challenge)()
    if request.method == "GET":
        return _page(token, document, definition, web_form, lang, challenge=challenge)
    if not web_form.validate():
        return _page(token, document, definition, web_form, lang, challenge=challenge), 422
    if challenge:
        answers = {q.name: web_form[q.name].data for q in definition.challenge}
        try:
            runtime().intake.check_challenge(document, answers, client=client)
        except ChallengeFailed:
            page = _page(token, document, definition, web_form, lang, challenge=True, failed=True)
            return page, 422
        session[_PASSED] = [*session.get(_PASSED, [])[-19:], document.id]
    content = web_form.file.data.read()
    try:
        receipt = runtime().pdf_returns.receive(
            content, link_token=token, via="upload", actor="customer", client=client, locale=lang
        )
    except _FILE_REFUSALS as refusal:
        page = _page(token, document, definition, web_form, lang, challenge=False, error=refusal)
        return page, refusal.status
    return _done(document, definition, receipt, lang), (
        202 if receipt.status is PdfReturnStatus.AWAITING_SCAN else 200
    )


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Over MAX_CONTENT_LENGTH: a clear page, and nothing read or stored."""
    return render_error(PdfTooLarge(f"The file is larger than {_max_megabytes()} MB."))


def _page(
    token: str,
    document: Document,
    definition: FormDefinition,
    web_form: Any,
    lang: str,
    *,
    challenge: bool,
    failed: bool = False,
    error: FormsError | None = None,
) -> str:
    message = None
    if error is not None:
        message = for_customer(error.code, otherwise=error)
    return render_template(
        "public/upload.html",
        token=token,
        document=document,
        definition=definition,
        form=web_form,
        challenge=challenge,
        failed=failed,
        error=message,
        error_code=error.code if error else None,
        max_megabytes=_max_megabytes(),
        lang=lang,
        lock_rule=runtime().intake.challenge,
    )


def _done(
    document: Document, definition: FormDefinition, receipt: PdfReturnReceipt, lang: str
) -> str:
    rows = [
        {
            "label": definition.field(c.field).label_in(lang),
            "after": definition.field(c.field).display(c.after, lang),
        }
        for c in receipt.changes
    ]
    return render_template(
        "public/upload_done.html",
        document=document,
        definition=definition,
        receipt=receipt,
        awaiting_scan=receipt.status is PdfReturnStatus.AWAITING_SCAN,
        rows=rows,
        lang=lang,
    )
