"""Mailroom screens: batches and per-page progress, upload, exception queue with assign/reject."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from forms_service.accounts.service import Role
from forms_service.core.errors import FormsError
from forms_service.intake.mailroom import queries, worklists
from forms_service.intake.mailroom.corrections import accuracy_summary, record_corrections
from forms_service.web.backoffice.auth import role_required, signed_in
from forms_service.web.backoffice.locale import template_context
from forms_service.web.backoffice.views import install_error_pages, reason_of
from forms_service.web.batches import spooled, too_large
from forms_service.web.context import locale, runtime
from forms_service.web.mailroom.forms import AssignForm, RejectForm, SearchForm, UploadForm
from forms_service.web.refusals import said

blueprint = Blueprint("mailroom", __name__, url_prefix="/mailroom")
# Every template of these screens speaks the user's language (t, named, lang).
blueprint.context_processor(template_context)
# Refusals, HTTP errors and CSRF failures in the office's words, in the mailroom's layout.
install_error_pages(blueprint, "mailroom/error.html")


@blueprint.errorhandler(RequestEntityTooLarge)
def batch_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A batch over MAILROOM_MAX_BATCH_BYTES: the mailroom's page, with its size and the limit."""
    return render_template(
        "mailroom/error.html",
        title=gettext("Batch too large"),
        code="batch_too_large",
        reason=said(too_large()),
    ), 413


PAGE_SIZE = 50


def _actor() -> str:
    return f"user:{signed_in().username}"


@blueprint.get("/")
@role_required(Role.MAILROOM)
def batches() -> ResponseReturnValue:
    """The latest batches with their progress, and the upload form."""
    with runtime().sessions() as session:
        found = queries.batches(session, limit=PAGE_SIZE)
        _, waiting = queries.exceptions(session, limit=1)
    return render_template(
        "mailroom/batches.html", batches=found, waiting=waiting, form=UploadForm()
    )


@blueprint.post("/batches")
@role_required(Role.MAILROOM)
def upload() -> ResponseReturnValue:
    """Store an uploaded batch and queue its pages; errors come back on the same screen."""
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400)
    files = [f for f in request.files.getlist(form.files.name) if f and f.filename]
    try:
        with spooled(files) as uploads:
            received = runtime().mailroom.receive(
                uploads, source="upload", actor=_actor(), name=form.name.data or None
            )
    except FormsError as exc:
        with runtime().sessions() as session:
            found = queries.batches(session, limit=PAGE_SIZE)
            _, waiting = queries.exceptions(session, limit=1)
        where = f" ({exc.field})" if exc.field else ""
        return render_template(
            "mailroom/batches.html",
            batches=found,
            waiting=waiting,
            form=form,
            error=f"{reason_of(exc)}{where}",
        ), exc.status
    return redirect(url_for("mailroom.batch", batch_id=received.id), code=303)


@blueprint.get("/returns/<return_id>")
@role_required(Role.MAILROOM)
def pdf_return(return_id: str) -> ResponseReturnValue:
    """A flattened PDF return the mailroom reads: its status, and what its pages became."""
    with runtime().sessions() as session:
        summary, view = queries.pdf_return(session, return_id)
    return render_template("mailroom/return.html", pdf_return=summary, batch=view)


@blueprint.get("/exceptions")
@role_required(Role.MAILROOM)
def exceptions() -> ResponseReturnValue:
    """Pages waiting for an operator, oldest first (of one batch, or with one code)."""
    return _render_exceptions()


def _filters() -> dict[str, str]:
    """The queue's filters, from the query string or the form that was sent."""
    found = {name: (request.values.get(name) or "").strip()[:32] for name in ("batch", "exception")}
    return {name: value for name, value in found.items() if value}


def _render_exceptions(
    *, hits: list[queries.DocumentHit] | None = None, search: SearchForm | None = None,
    error: str | None = None, status: int = 200, selected: Sequence[str] = (),
) -> ResponseReturnValue:  # fmt: skip
    offset = max(0, request.args.get("offset", 0, type=int) or 0)
    filters = _filters()
    with runtime().sessions() as session:
        pages, total = queries.exceptions(
            session,
            limit=PAGE_SIZE,
            offset=offset,
            batch_id=filters.get("batch"),
            exception=filters.get("exception"),
        )
        codes = worklists.exception_codes(session, filters.get("batch"))
        batch = worklists.summary(session, filters["batch"]) if "batch" in filters else None
    return render_template(
        "mailroom/exceptions.html",
        pages=pages,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        filters=filters,
        codes=codes,
        batch=batch,
        selected=set(selected),
        assign=AssignForm(formdata=None),
        reject=RejectForm(formdata=None),
        search=search or SearchForm(formdata=None),
        hits=hits,
        error=error,
    ), status


@blueprint.post("/search")
@role_required(Role.MAILROOM)
def search() -> ResponseReturnValue:
    """Find documents to assign pages to (by POST, so that no name lands in a URL or log)."""
    form = SearchForm()
    # The pages ticked before searching stay ticked, to be assigned to a hit in one click.
    selected = request.form.getlist("pages")[:PAGE_SIZE]
    if not form.validate_on_submit():
        return _render_exceptions(
            search=form,
            error=gettext("Type a reference, number or name."),
            status=422,
            selected=selected,
        )
    rt = runtime()
    with rt.sessions() as session:
        hits = queries.search_documents(
            session, form.query.data or "", rt.definitions, rt.connectors, locale()
        )
    return _render_exceptions(hits=hits, search=form, selected=selected)


@blueprint.post("/pages/<page_id>/assign")
@role_required(Role.MAILROOM)
def assign(page_id: str) -> ResponseReturnValue:
    """Assign a page to a document (and form page); it is read again with that identity."""
    form = AssignForm()
    if not form.validate_on_submit():
        return _render_exceptions(error=gettext("Give the document's reference."), status=422)
    try:
        runtime().mailroom.assign(
            page_id,
            form.document.data or "",
            form_page=form.form_page.data,
            actor=_actor(),
            alignment=form.alignment.data or "squares",
            turn=_turn(form.turn.data),
        )
    except FormsError as exc:
        where = f" ({exc.field})" if exc.field else ""
        return _render_exceptions(error=f"{reason_of(exc)}{where}", status=exc.status)
    flash(gettext("Page assigned: it is read again with that document."))
    return redirect(url_for("mailroom.exceptions"), code=303)


def _turn(text: str | None) -> int | None:
    """The turn typed or chosen, None when not given (-1, refused by the service, if garbled)."""
    if not text:
        return None
    return int(text) if text.isdigit() else -1


@blueprint.post("/pages/<page_id>/reject")
@role_required(Role.MAILROOM)
def reject(page_id: str) -> ResponseReturnValue:
    """Set a page aside for good, saying why (it is kept)."""
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_exceptions(error=gettext("Say why the page is rejected."), status=422)
    try:
        runtime().mailroom.reject(page_id, form.reason.data or "", actor=_actor())
    except FormsError as exc:
        where = f" ({exc.field})" if exc.field else ""
        return _render_exceptions(error=f"{reason_of(exc)}{where}", status=exc.status)
    flash(gettext("Page rejected."))
    return redirect(url_for("mailroom.exceptions"), code=303)


@blueprint.get("/accuracy")
@role_required(Role.MAILROOM, Role.CLERK, Role.SUPERVISOR)
def accuracy() -> ResponseReturnValue:
    """OCR accuracy measured by clerks' corrections, per field type and engine."""
    rt = runtime()
    with rt.sessions() as session, session.begin():
        record_corrections(session, rt.definitions, now=rt.mailroom.clock())
    with rt.sessions() as session:
        lines = accuracy_summary(session)
    return render_template("mailroom/accuracy.html", lines=lines)


@blueprint.get("/pages/<page_id>/image")
@role_required(Role.MAILROOM, Role.CLERK, Role.SUPERVISOR)
def page_image(page_id: str) -> ResponseReturnValue:
    """The decoded page image, for the operator deciding where it belongs."""
    with runtime().sessions() as session:
        key = queries.image_key(session, page_id)
    return _png(runtime().files.get(key))


@blueprint.get("/crops/<key>")
@role_required(Role.MAILROOM, Role.CLERK, Role.SUPERVISOR)
def crop(key: str) -> ResponseReturnValue:
    """A crop or page image of a scanned page, by its file store key (nothing else is served)."""
    if not key.endswith(".png"):
        abort(404)
    with runtime().sessions() as session:
        if not queries.crop_belongs_to_scan(session, key):
            abort(404)
    try:
        return _png(runtime().files.get(key))
    except KeyError:
        abort(404)


def _png(content: bytes) -> Response:
    # A scan shows a customer's letter: never kept by a cache (the app's rule makes it no-store).
    return Response(content, mimetype="image/png")
