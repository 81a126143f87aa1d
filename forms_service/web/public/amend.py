"""Correct an answer before it is processed: the form again, with the answer sent (amend.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from flask.typing import ResponseReturnValue

from forms_service.definitions.model import Channel, FormDefinition
from forms_service.definitions.online_form import form_value, online_form_class
from forms_service.intake.online.amend import AnswerProcessed
from forms_service.intake.online.attachments import StoredAttachment
from forms_service.intake.online.model import Purpose, TamperedShownValues
from forms_service.storage.model import Submission
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.public.attach import posted_attachment
from forms_service.web.public.forms import PublicForm
from forms_service.web.public.views import identified, render_form

blueprint = Blueprint("public_amend", __name__)


def _link_limit() -> str:
    return runtime().settings.ratelimit_link


def _boxes(definition: FormDefinition, answer: Submission) -> dict[str, Any]:
    """What each box holds: the answer sent (a masked value the customer changed, in full)."""
    boxes = {}
    for field in definition.fields_for(Channel.ONLINE):
        value = answer.values.get(field.name)
        changed = not field.same(answer.base.get(field.name), value)
        boxes[field.name] = value if field.type.masked and changed else form_value(field, value)
    return boxes


@blueprint.route("/f/<token>/amend", methods=["GET"])
@limiter.limit(_link_limit)
def amend_form(token: str) -> ResponseReturnValue:
    """The form with the answer sent, while it can still be corrected; else the receipt."""
    intake = runtime().intake
    opened = intake.open_form(
        token, Purpose.CONFIRM, client=client_pseudonym(), identified=identified
    )
    answer = opened.answer
    if opened.needs_identity or answer is None or not intake.amendable(answer):
        return redirect(url_for("public.done", token=token))
    page = intake.prefilled(opened.document, opened.definition, answer)
    assert page.prefill is not None and page.shown is not None  # noqa: S101 - prefilled
    lang = locale()
    form_class = online_form_class(opened.definition, lang, PublicForm)
    web_form = form_class(data=_boxes(opened.definition, answer))
    return render_form(
        token,
        opened.document,
        opened.definition,
        web_form,
        page.shown,
        lang,
        live=page.prefill.live,
        current=page.prefill.values,
        amending=answer,
        kept_attachment=_kept(opened.definition, answer),
    )


def _kept(definition: FormDefinition, answer: Submission | None) -> StoredAttachment | None:
    """The file the answer being corrected came with (kept unless another is chosen)."""
    if definition.attachment is None or answer is None:
        return None
    return StoredAttachment.of(answer.evidence.get(definition.attachment.beside))


@blueprint.route("/f/<token>/amend", methods=["POST"])
@limiter.limit(_link_limit)
def amend(token: str) -> ResponseReturnValue:
    """Store the corrected answer instead of the pending one; on to the receipt (303)."""
    intake = runtime().intake
    opened = intake.open_form(
        token, Purpose.ANSWER, client=client_pseudonym(), identified=identified
    )
    document, definition = opened.document, opened.definition
    if opened.needs_identity:
        return redirect(url_for("public.form", token=token))
    try:
        shown = intake.shown_values(document, request.form.get("base", ""))
    except TamperedShownValues:
        abort(400)
    lang = locale()
    web_form = online_form_class(definition, lang, PublicForm)(meta={"shown": shown.values})
    pending = intake.pending_submission(document)
    kept = _kept(definition, pending)
    attached = posted_attachment(definition, kept.evidence() if kept else None)
    if not web_form.validate() or attached.error is not None:
        page = render_form(
            token,
            document,
            definition,
            web_form,
            request.form["base"],
            lang,
            live=shown.live,
            current=shown.values,
            amending=pending,
            attachment_error=attached.error,
            kept_attachment=attached.stored or kept,
        )
        return page, 422
    values = {f.name: getattr(web_form, f.name).data for f in definition.fields_for(Channel.ONLINE)}
    try:
        intake.amend(
            document,
            values,
            shown.values,
            locale=lang,
            opened_at=shown.opened_at,
            evidence=(
                {definition.attachment.beside: attached.stored.evidence()}
                if attached.stored is not None and definition.attachment is not None
                else {}
            ),
        )
    except AnswerProcessed:
        return redirect(url_for("public.done", token=token, late=1), code=303)
    return redirect(url_for("public.done", token=token, amended=1), code=303)
