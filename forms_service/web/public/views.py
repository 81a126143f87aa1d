"""Online form views: parse the request, call the intake service, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer

from forms_service.definitions.model import Channel, FormDefinition
from forms_service.definitions.online_form import (
    challenge_form_class,
    form_value,
    online_form_class,
)
from forms_service.errors import FormsError
from forms_service.intake.service import ChallengeFailed, changes_of
from forms_service.storage.model import Document, Submission
from forms_service.web.context import client_pseudonym, locale, runtime
from forms_service.web.extensions import limiter
from forms_service.web.public.forms import PublicForm
from forms_service.web.refusals import for_customer

blueprint = Blueprint("public", __name__)

_PASSED = "challenges_passed"


def _link_limit() -> str:
    return str(current_app.config["RATELIMIT_LINK"])


def _challenge_limit() -> str:
    return str(current_app.config["RATELIMIT_CHALLENGE"])


def _base_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="online-form-base")


def _resolve(token: str) -> Document:
    return runtime().intake.resolve(token, client=client_pseudonym())


def _challenge_passed(document: Document, definition: FormDefinition) -> bool:
    return not definition.challenge or document.id in session.get(_PASSED, [])


@blueprint.route("/f/<token>", methods=["GET"])
@limiter.limit(_link_limit)
def form(token: str) -> ResponseReturnValue:
    """Show the challenge, the prefilled form, or the answer already received."""
    lang = locale()
    intake = runtime().intake
    opened = intake.open_link(token, client=client_pseudonym())
    document = opened.document
    definition = intake.definition(document)
    intake.ensure_open(document)
    if not _challenge_passed(document, definition):
        return _render_challenge(token, document, definition, lang)
    intake.mark_opened(document)
    if opened.answer is not None:
        return redirect(url_for("public.done", token=token))
    prefill = intake.prefill(document)
    form_class = online_form_class(definition, lang, PublicForm)
    data = {
        f.name: form_value(f, prefill.values.get(f.name))
        for f in definition.fields_for(Channel.ONLINE)
    }
    web_form = form_class(data=data)
    base = _base_serializer().dumps(
        {
            "d": document.id,
            "v": {
                f.name: prefill.values.get(f.name) for f in definition.fields_for(Channel.ONLINE)
            },
            "o": dt.datetime.now(dt.UTC).isoformat(),
            "l": prefill.live,
        }
    )
    return _render_form(token, document, definition, web_form, base, lang, live=prefill.live)


@blueprint.route("/f/<token>", methods=["POST"])
@limiter.limit(_link_limit)
def submit(token: str) -> ResponseReturnValue:
    """Validate and store an answer, then show what changes."""
    lang = locale()
    intake = runtime().intake
    document = _resolve(token)
    definition = intake.definition(document)
    intake.ensure_open(document)
    if not _challenge_passed(document, definition):
        return redirect(url_for("public.form", token=token))
    try:
        base = _base_serializer().loads(request.form.get("base", ""))
    except BadSignature:
        abort(400)
    if base.get("d") != document.id:
        abort(400)
    form_class = online_form_class(definition, lang, PublicForm)
    web_form = form_class(meta={"shown": base["v"]})
    if not web_form.validate():
        live = bool(base.get("l", True))  # keep the snapshot note on the redisplayed form
        return (
            _render_form(
                token, document, definition, web_form, request.form["base"], lang, live=live
            ),
            422,
        )
    values = {f.name: getattr(web_form, f.name).data for f in definition.fields_for(Channel.ONLINE)}
    receipt = intake.submit(
        document,
        values,
        base["v"],
        locale=lang,
        opened_at=dt.datetime.fromisoformat(base["o"]),
    )
    target = url_for("public.done", token=token)
    return redirect(target + ("?again=1" if receipt.repeated else ""), code=303)


@blueprint.route("/f/<token>/pdf", methods=["GET"])
@limiter.limit(_link_limit)
def pdf(token: str) -> ResponseReturnValue:
    """The letter's fillable PDF, to fill in on screen or print, once the identity is checked."""
    built = runtime()
    document = _resolve(token)
    definition = built.intake.definition(document)
    built.intake.ensure_open(document)
    if not _challenge_passed(document, definition):
        return redirect(url_for("public.form", token=token))  # the identity question first
    copy = built.printer.customer_copy(document)
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
    intake = runtime().intake
    document = _resolve(token)
    definition = intake.definition(document)
    form_class = challenge_form_class(definition.challenge, lang, PublicForm)
    web_form = form_class()
    if not web_form.validate():
        return _render_challenge(token, document, definition, lang, web_form), 422
    try:
        intake.check_challenge(
            document,
            {q.name: getattr(web_form, q.name).data for q in definition.challenge},
            client=client_pseudonym(),
        )
    except ChallengeFailed:
        return _render_challenge(token, document, definition, lang, web_form, failed=True), 422
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
    intake = runtime().intake
    opened = intake.open_link(token, client=client_pseudonym())
    document = opened.document
    definition = intake.definition(document)
    if not _challenge_passed(document, definition):
        return redirect(url_for("public.form", token=token))
    submission = opened.answer
    if submission is None:
        return redirect(url_for("public.form", token=token))
    return _render_done(document, definition, submission, lang)


def _render_done(
    document: Document, definition: FormDefinition, submission: Submission, lang: str
) -> ResponseReturnValue:
    rows = [
        {
            "label": definition.field(c.field).label_in(lang),
            "before": definition.field(c.field).display(c.before, lang),
            "after": definition.field(c.field).display(c.after, lang),
        }
        for c in changes_of(definition, submission)
    ]
    return render_template(
        "public/done.html",
        definition=definition,
        document=document,
        submission=submission,
        rows=rows,
        repeated=request.args.get("again") == "1",
        lang=lang,
    )


def _render_form(
    token: str,
    document: Document,
    definition: FormDefinition,
    web_form: Any,
    base: str,
    lang: str,
    *,
    live: bool,
) -> str:
    fields = [
        {"definition": f, "field": getattr(web_form, f.name)}
        for f in definition.fields_for(Channel.ONLINE)
    ]
    return render_template(
        "public/form.html",
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
    failed: bool = False,
) -> str:
    form_class = challenge_form_class(definition.challenge, lang, PublicForm)
    web_form = web_form or form_class()
    return render_template(
        "public/challenge.html",
        token=token,
        definition=definition,
        document=document,
        form=web_form,
        failed=failed,
        lang=lang,
    )


def render_error(error: FormsError) -> ResponseReturnValue:
    """The customer page for a link or request that cannot be served."""
    lang = locale()
    message = for_customer(error.code)
    return (
        render_template("public/error.html", message=message, code=error.code, lang=lang),
        error.status,
    )
