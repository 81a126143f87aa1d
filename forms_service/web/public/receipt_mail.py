"""The receipt's copy by e-mail: parse the request, find the address, send (delivery/receipts.py)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from forms_service.connectors.interfaces import SourceUnavailable
from forms_service.definitions.fieldtypes import FieldValueError, email_address
from forms_service.delivery.interfaces import PermanentFailure, TemporaryFailure
from forms_service.delivery.receipts import (
    ReceiptCopy,
    known_address,
    masked_address,
    send_receipt_copy,
    sender_of,
)
from forms_service.intake.online.model import Purpose
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.formatting import format_datetime, office_zone
from forms_service.web.public.forms import PublicForm
from forms_service.web.public.receipts import next_steps, receipt_rows
from forms_service.web.public.views import SENT_TO, identified

blueprint = Blueprint("public_receipt_mail", __name__)


def _mail_limit() -> str:
    # Each copy is an e-mail sent: the upload budget, tighter than the pages'.
    return runtime().settings.ratelimit_upload


@blueprint.route("/f/<token>/receipt/email", methods=["POST"])
@limiter.limit(_mail_limit)
def email_copy(token: str) -> ResponseReturnValue:
    """Send the receipt to the customer's address (or the one typed); back to the receipt."""
    services = runtime()
    opened = services.intake.open_form(
        token, Purpose.CONFIRM, client=client_pseudonym(), identified=identified
    )
    answer = opened.answer
    if opened.needs_identity or answer is None:
        return redirect(url_for("public.done", token=token))
    if not PublicForm().validate():
        return redirect(url_for("public.done", token=token, mail="failed"), code=303)
    document, definition = opened.document, opened.definition
    lang = locale()
    typed = (request.form.get("email") or "").strip()
    address: str | None = None
    if typed:
        try:
            address = email_address(typed)
        except FieldValueError:
            return redirect(url_for("public.done", token=token, mail="invalid"), code=303)
    if address is None:
        address = known_address(definition, answer.values, document.snapshot)
    if address is None and definition.contact is not None:
        try:  # the address the source holds (a form that does not ask it)
            source = services.connectors[definition.source.connector].read(
                definition.source.record_type, document.record_key
            )
        except SourceUnavailable:
            source = None
        address = known_address(definition, answer.values, document.snapshot, source)
    if address is None:
        return redirect(url_for("public.done", token=token, mail="unknown"), code=303)
    organisation = services.organisation
    rows = receipt_rows(definition, answer, lang)
    steps = next_steps(answer, lang)
    received = format_datetime(answer.received_at, lang, office_zone())
    pages = {
        kind: render_template(
            f"public/receipt_email.{kind}",
            definition=definition,
            document=document,
            rows=rows,
            next_steps=steps,
            received=received,
            lang=lang,
        )
        for kind in ("txt", "html")
    }
    copy = ReceiptCopy(
        subject=gettext(
            "Receipt of your answer – %(form)s – %(reference)s",
            form=definition.title_in(lang),
            reference=document.reference,
        ),
        text=pages["txt"],
        html=pages["html"],
        locale=lang,
    )
    try:
        send_receipt_copy(
            services.delivery.email,
            submission_id=answer.id,
            to=address,
            copy=copy,
            sender=sender_of(definition, organisation.name_in(lang), organisation.email or ""),
        )
    except (TemporaryFailure, PermanentFailure):
        return redirect(url_for("public.done", token=token, mail="failed"), code=303)
    session[SENT_TO] = masked_address(address)
    return redirect(url_for("public.done", token=token, mail="sent"), code=303)
