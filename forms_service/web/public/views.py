"""Online form views: parse the request, call the intake service, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from forms_service.core.errors import FormsError
from forms_service.definitions.model import Channel, FormDefinition
from forms_service.definitions.online_form import (
    challenge_form_class,
    form_value,
    online_form_class,
)
from forms_service.delivery.receipts import known_address, masked_address
from forms_service.intake.online.attachments import StoredAttachment
from forms_service.intake.online.drafts import DraftTooLarge, Resumed, resume
from forms_service.intake.online.model import (
    ChallengeFailed,
    ClosedLink,
    IdentityBlocked,
    OpenedForm,
    Purpose,
    TamperedShownValues,
)
from forms_service.storage.model import Document, DocumentStatus, Submission
from forms_service.storage.service import reading
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.formatting import format_time, office_zone
from forms_service.web.public.attach import posted_attachment
from forms_service.web.public.entry import broken_link_page
from forms_service.web.public.forms import PublicForm
from forms_service.web.public.receipts import next_steps, receipt_of, receipt_rows
from forms_service.web.refusals import for_customer

blueprint = Blueprint("public", __name__)
#: The page saves an answer in progress at most every 2 seconds while the customer types.
_DRAFT_LIMIT = "120 per minute"

_PASSED = "challenges_passed"
#: Where the receipt page finds the masked address its copy went to (never in the URL).
SENT_TO = "receipt_sent_to"


def _link_limit() -> str:
    return runtime().settings.ratelimit_link


def _challenge_limit() -> str:
    return runtime().settings.ratelimit_challenge


def _short_link_limit() -> str:
    return runtime().settings.ratelimit_short_link


def _short_link_global_limit() -> str:
    return runtime().settings.ratelimit_short_link_global


def _everyone() -> str:
    """One rate-limit key for all clients: the global cap on short links."""
    return "all-clients"


def identified(document_id: str) -> bool:
    """Whether this browser's session answered the identity question of a document."""
    return document_id in session.get(_PASSED, [])


def _open(token: str, purpose: Purpose) -> OpenedForm:
    return runtime().intake.open_form(
        token, purpose, client=client_pseudonym(), identified=identified
    )


@blueprint.route("/f/<token>", methods=["GET"])
@limiter.limit(_link_limit)
def form(token: str) -> ResponseReturnValue:
    """Show the challenge, the prefilled form, or the answer already received."""
    lang = locale()
    try:
        opened = _open(token, Purpose.SHOW)
    except ClosedLink:
        # Its answer was processed: the link shows the receipt (after the identity question).
        return redirect(url_for("public.done", token=token))
    document, definition = opened.document, opened.definition
    if opened.needs_identity:
        if document.challenge_blocked_at is not None:
            # Nothing to answer until an adviser unlocks it: say so before any guess.
            raise IdentityBlocked("This form is locked until an adviser unlocks it.")
        return _render_challenge(token, document, definition, lang)
    if opened.answer is not None:
        return redirect(url_for("public.done", token=token))
    assert opened.prefill is not None and opened.shown is not None  # noqa: S101 - SHOW, no answer
    values = opened.prefill.values
    form_class = online_form_class(definition, lang, PublicForm)
    data = {
        f.name: form_value(f, values.get(f.name)) for f in definition.fields_for(Channel.ONLINE)
    }
    drafts = runtime().intake.drafts
    draft = drafts.load(document.id) if drafts is not None else None
    resumed = resume(definition, values, draft) if draft is not None else None
    if resumed is not None:
        data = dict(resumed.boxes)
        changed_since = [
            {
                "label": definition.field(name).label_in(lang),
                "then": definition.field(name).customer_display(draft.shown.get(name), lang),
                "now": definition.field(name).customer_display(values.get(name), lang),
            }
            for name in resumed.changed
            if draft is not None
        ]
    web_form = form_class(data=data)
    return render_form(
        token,
        document,
        definition,
        web_form,
        opened.shown,
        lang,
        live=opened.prefill.live,
        current=values,
        resumed=resumed,
        changed_since=changed_since if resumed is not None else [],
        kept_attachment=StoredAttachment.of(draft.attachment) if resumed and draft else None,
    )


@blueprint.route("/r/<code>", methods=["GET"])
@limiter.limit(_short_link_global_limit, key_func=_everyone, scope="short-links-all")
@limiter.limit(_short_link_limit)
def short_link(code: str) -> ResponseReturnValue:
    """A short link (SMS, QR code): on to the document's signed link, or the long link's page.

    An unknown code, an expired or a withdrawn link raise the long link's own errors, shown
    with its pages and statuses (404, 410); the code itself is never logged.
    """
    services = runtime()
    try:
        with reading(services.sessions) as session:
            target = services.short_links.target(session, code, services.clock())
    except FormsError as refused:
        services.intake.security_event(f"short_link_{refused.code}", client=client_pseudonym())
        raise
    token = services.signer.sign(target.document_id, target.expires_at)
    response = redirect(url_for("public.form", token=token), code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.route("/f/<token>", methods=["POST"])
@limiter.limit(_link_limit)
def submit(token: str) -> ResponseReturnValue:
    """Validate and store an answer, then show what changes."""
    lang = locale()
    opened = _open(token, Purpose.ANSWER)
    document, definition = opened.document, opened.definition
    if opened.needs_identity:
        return redirect(url_for("public.form", token=token))
    try:
        shown = runtime().intake.shown_values(document, request.form.get("base", ""))
    except TamperedShownValues:
        abort(400)
    form_class = online_form_class(definition, lang, PublicForm)
    web_form = form_class(meta={"shown": shown.values})
    drafts = runtime().intake.drafts
    # Only a form with an attachment reads its draft here: the file kept since a resume.
    keeps_files = drafts is not None and definition.attachment is not None
    draft = drafts.load(document.id) if keeps_files and drafts is not None else None
    attached = posted_attachment(definition, draft.attachment if draft else None)
    if not web_form.validate() or attached.error is not None:
        # Works without script; a file taken stays with the draft (a browser sends it once).
        _keep_draft(document, definition, web_form, shown.values, attached.stored)
        page = render_form(
            token,
            document,
            definition,
            web_form,
            request.form["base"],
            lang,
            live=shown.live,
            current=shown.values,
            attachment_error=attached.error,
            kept_attachment=attached.stored
            or (StoredAttachment.of(draft.attachment) if draft else None),
        )
        return page, 422
    values = {f.name: getattr(web_form, f.name).data for f in definition.fields_for(Channel.ONLINE)}
    evidence = (
        {definition.attachment.beside: attached.stored.evidence()}
        if attached.stored is not None and definition.attachment is not None
        else {}
    )
    receipt = runtime().intake.submit(
        document,
        values,
        shown.values,
        locale=lang,
        opened_at=shown.opened_at,
        evidence=evidence,
    )
    target = url_for("public.done", token=token)
    return redirect(target + ("?again=1" if receipt.repeated else ""), code=303)


@blueprint.route("/f/<token>/draft", methods=["POST"])
@limiter.limit(_DRAFT_LIMIT)
def draft(token: str) -> ResponseReturnValue:
    """Keep the answer in progress (the page's script posts it as the customer types)."""
    opened = _open(token, Purpose.ANSWER)
    document, definition = opened.document, opened.definition
    if opened.needs_identity:
        abort(403)
    try:
        shown = runtime().intake.shown_values(document, request.form.get("base", ""))
    except TamperedShownValues:
        abort(400)
    web_form = online_form_class(definition, locale(), PublicForm)(meta={"shown": shown.values})
    # A file attached since the last save comes with this one (the page sends it once).
    attached = posted_attachment(definition, None)
    saved_at = _keep_draft(document, definition, web_form, shown.values, attached.stored)
    if saved_at is None:
        abort(413)
    when = format_time(saved_at, locale(), office_zone())
    return {"saved_at": saved_at.isoformat(), "status": gettext("Saved at %(time)s", time=when)}


def _keep_draft(
    document: Document,
    definition: FormDefinition,
    web_form: Any,
    shown: Mapping[str, Any],
    attachment: StoredAttachment | None = None,
) -> dt.datetime | None:
    drafts = runtime().intake.drafts
    if drafts is None:
        return None
    boxes = {f.name: getattr(web_form, f.name).data for f in definition.fields_for(Channel.ONLINE)}
    kept = attachment.evidence() if attachment is not None else None
    try:
        return drafts.save(document, boxes, shown, kept)
    except DraftTooLarge:
        return None


@blueprint.route("/f/<token>/pdf", methods=["GET"])
@limiter.limit(_link_limit)
def pdf(token: str) -> ResponseReturnValue:
    """The letter's fillable PDF, to fill in on screen or print, once the identity is checked."""
    opened = _open(token, Purpose.ANSWER)
    if opened.needs_identity:
        return redirect(url_for("public.form", token=token))  # the identity question first
    copy = runtime().printer.customer_copy(opened.document)
    return Response(
        copy.content,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{copy.filename}"',
            "Cache-Control": "no-store",
        },
    )


@blueprint.route("/f/<token>/challenge", methods=["POST"])
@limiter.limit(_challenge_limit)
def challenge(token: str) -> ResponseReturnValue:
    """Check the identity answers before any personal data is shown."""
    lang = locale()
    opened = _open(token, Purpose.IDENTIFY)
    document, definition = opened.document, opened.definition
    form_class = challenge_form_class(definition.challenge, lang, PublicForm)
    web_form = form_class()
    if not web_form.validate():
        return _render_challenge(token, document, definition, lang, web_form), 422
    try:
        runtime().intake.check_challenge(
            document,
            {q.name: getattr(web_form, q.name).data for q in definition.challenge},
            client=client_pseudonym(),
        )
    except ChallengeFailed as failure:
        page = _render_challenge(token, document, definition, lang, web_form, failure=failure)
        return page, 422
    # A new identity level: drop the old session content to defeat session fixation.
    lang_kept = session.get("lang")
    passed = [*session.get(_PASSED, [])[-19:], document.id]
    session.clear()
    session[_PASSED] = passed
    if lang_kept:
        session["lang"] = lang_kept
    return redirect(url_for("public.form", token=token), code=303)


@blueprint.route("/f/<token>/done", methods=["GET"])
@limiter.limit(_link_limit)
def done(token: str) -> ResponseReturnValue:
    """The confirmation: exactly what the answer changes."""
    lang = locale()
    opened = _open(token, Purpose.CONFIRM)
    if opened.needs_identity:
        return _render_challenge(token, opened.document, opened.definition, lang)
    if opened.answer is None:
        if opened.document.status is DocumentStatus.CLOSED:
            raise ClosedLink("this document is closed")
        return redirect(url_for("public.form", token=token))
    return _render_done(opened.document, opened.definition, opened.answer, lang)


@blueprint.route("/f/<token>/receipt.pdf", methods=["GET"])
@limiter.limit(_link_limit)
def receipt_pdf(token: str) -> ResponseReturnValue:
    """The receipt as a PDF to keep: the same words as the confirmation page."""
    lang = locale()
    opened = _open(token, Purpose.CONFIRM)
    if opened.needs_identity or opened.answer is None:
        return redirect(url_for("public.form", token=token))
    pdf = receipt_of(opened.document, opened.definition, opened.answer, lang)
    response = Response(pdf, mimetype="application/pdf")
    name = f"receipt-{opened.document.reference}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _render_done(
    document: Document, definition: FormDefinition, submission: Submission, lang: str
) -> ResponseReturnValue:
    return render_template(
        "public/done.html",
        definition=definition,
        document=document,
        submission=submission,
        rows=receipt_rows(definition, submission, lang),
        next_steps=next_steps(submission, lang),
        token=request.view_args["token"] if request.view_args else "",
        repeated=request.args.get("again") == "1",
        amended=request.args.get("amended") == "1",
        late=request.args.get("late") == "1",
        amendable=runtime().intake.amendable(submission),
        mail=request.args.get("mail"),
        mailed_to=session.pop(SENT_TO, None),
        known_email=_masked_known(definition, document, submission),
        lang=lang,
    )


def _masked_known(definition: FormDefinition, document: Document, answer: Submission) -> str:
    """The customer's address, masked, when the answer or the snapshot gives it ("" else)."""
    known = known_address(definition, answer.values, document.snapshot)
    return masked_address(known) if known else ""


def render_form(
    token: str,
    document: Document,
    definition: FormDefinition,
    web_form: Any,
    base: str,
    lang: str,
    *,
    live: bool,
    current: Mapping[str, str | None],
    resumed: Resumed | None = None,
    changed_since: list[dict[str, str]] | None = None,
    amending: Submission | None = None,
    attachment_error: str | None = None,
    kept_attachment: StoredAttachment | None = None,
) -> str:
    """The form page (`amending`: the answer it corrects, posted to `/amend`, no draft)."""
    fields = [
        {
            "definition": f,
            "field": getattr(web_form, f.name),
            # What a masked field's box keeps when left empty, masked (bank details).
            "masked": f.customer_display(current.get(f.name), lang) if f.type.masked else "",
        }
        for f in definition.fields_for(Channel.ONLINE)
    ]
    mandate = definition.sepa_mandate
    return render_template(
        "public/form.html",
        mandate=mandate,
        mandate_reference=mandate.reference(document.reference) if mandate else "",
        mandate_place=(current.get("city") or "") if mandate else "",
        today=runtime().clock().astimezone(office_zone()).date(),
        resumed=resumed,
        changed_since=changed_since or [],
        drafts=runtime().intake.drafts is not None and amending is None,
        amending=amending,
        attachment=definition.attachment,
        attachment_error=attachment_error,
        kept_attachment=kept_attachment,
        token=token,
        definition=definition,
        document=document,
        form=web_form,
        fields=fields,
        base=base,
        live=live,
        lang=lang,
    )


def _render_challenge(
    token: str,
    document: Document,
    definition: FormDefinition,
    lang: str,
    web_form: Any = None,
    *,
    failure: ChallengeFailed | None = None,
) -> str:
    form_class = challenge_form_class(definition.challenge, lang, PublicForm)
    web_form = web_form or form_class()
    rule = runtime().intake.challenge
    if failure is not None and failure.tries_left is not None:
        tries_left: int | None = failure.tries_left
    else:
        # Opened after wrong answers of another visit: they count too.
        failures = document.challenge_failures or 0
        tries_left = rule.tries_left(failures) if failures else None
    locked_for = failure.locked_for if failure is not None else None
    return render_template(
        "public/challenge.html",
        token=token,
        definition=definition,
        document=document,
        form=web_form,
        failed=failure is not None,
        tries_left=tries_left,
        locked_minutes=int(locked_for.total_seconds() // 60) if locked_for else None,
        lang=lang,
        lock_rule=rule,
    )


def render_error(error: FormsError) -> ResponseReturnValue:
    """The customer page for a link or request that cannot be served."""
    token = (request.view_args or {}).get("token")
    if error.code == "tampered_link" and isinstance(token, str):
        # A cut or lower-cased link: say what happened, and offer the access code instead.
        return broken_link_page(token), error.status
    lang = locale()
    message = for_customer(error.code)
    return (
        render_template("public/error.html", message=message, code=error.code, lang=lang),
        error.status,
    )
