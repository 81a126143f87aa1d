"""Mailroom screens for a batch's workload: pages with thumbnails, set-aside pages, history.

A batch's pages a screen at a time, what the mailroom set aside (with "not blank"), who did
what, its name; the exception queue's bulk actions.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext

from forms_service.accounts.service import Role
from forms_service.core.errors import FormsError
from forms_service.intake.mailroom import actions, worklists
from forms_service.intake.mailroom.bulk import BulkOutcome
from forms_service.web.backoffice.auth import role_required
from forms_service.web.context import runtime
from forms_service.web.mailroom.forms import ActionForm, BulkForm, RenameForm
from forms_service.web.mailroom.views import _actor, _render_exceptions, blueprint
from forms_service.web.refusals import said

#: Lines of a batch's history per screen.
HISTORY_SIZE = 50
#: Set-aside pages per screen of a batch.
ASIDE_SIZE = 50


def _offset(name: str) -> int:
    return max(0, request.args.get(name, 0, type=int) or 0)


@blueprint.get("/batches/<batch_id>")
@role_required(Role.MAILROOM)
def batch(batch_id: str) -> ResponseReturnValue:
    """One batch: its pages a screen at a time, those set aside, who did what.

    The page refreshes itself while jobs run.
    """
    offset, aside, history = _offset("offset"), _offset("aside"), _offset("history")
    with runtime().sessions() as session:
        view = worklists.summary(session, batch_id)
        pages, total = worklists.pages(session, batch_id, limit=worklists.PAGE_SIZE, offset=offset)
        set_aside, aside_total = worklists.pages(
            session, batch_id, set_aside=True, limit=ASIDE_SIZE, offset=aside
        )
        lines, lines_total = actions.of_batch(session, batch_id, limit=HISTORY_SIZE, offset=history)
        codes = worklists.exception_codes(session, batch_id)
    return render_template(
        "mailroom/batch.html",
        batch=view,
        pages=pages,
        total=total,
        offset=offset,
        page_size=worklists.PAGE_SIZE,
        set_aside=set_aside,
        aside_total=aside_total,
        aside=aside,
        aside_size=ASIDE_SIZE,
        lines=lines,
        lines_total=lines_total,
        history=history,
        history_size=HISTORY_SIZE,
        codes=codes,
        rename=RenameForm(formdata=None, name=view.name or ""),
        action=ActionForm(formdata=None),
    )


@blueprint.post("/batches/<batch_id>/name")
@role_required(Role.MAILROOM)
def rename(batch_id: str) -> ResponseReturnValue:
    """Name (or rename) a batch."""
    form = RenameForm()
    if not form.validate_on_submit():
        flash(gettext("Give the batch a name (at most 120 characters)."))
        return redirect(url_for("mailroom.batch", batch_id=batch_id), code=303)
    try:
        name = runtime().mailroom.rename_batch(batch_id, form.name.data or "", actor=_actor())
    except FormsError as exc:
        if exc.status == 404:
            abort(404)
        flash(said(exc))
        return redirect(url_for("mailroom.batch", batch_id=batch_id), code=303)
    flash(gettext("Batch renamed “%(name)s”.", name=name))
    return redirect(url_for("mailroom.batch", batch_id=batch_id), code=303)


@blueprint.post("/pages/<page_id>/not-blank")
@role_required(Role.MAILROOM)
def not_blank(page_id: str) -> ResponseReturnValue:
    """An operator says a page set aside as blank is not: it is read again."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    rt = runtime()
    with rt.sessions() as session:
        batch_id = worklists.batch_of(session, page_id)
    try:
        rt.mailroom.not_blank(page_id, actor=_actor())
    except FormsError as exc:
        flash(said(exc))
    else:
        flash(gettext("The page is read again as a page with something on it."))
    return redirect(url_for("mailroom.batch", batch_id=batch_id), code=303)


def _back(form: BulkForm) -> ResponseReturnValue:
    filters = {
        name: value
        for name, value in (("batch", form.batch.data), ("exception", form.exception.data))
        if value
    }
    return redirect(url_for("mailroom.exceptions", **filters), code=303)


def _said(outcome: BulkOutcome, done: str) -> None:
    """Flash what a bulk action did, then each page it left and why."""
    flash(done)
    for skipped in outcome.skipped:
        why = (
            gettext(skipped.message) % dict(skipped.params)
            if skipped.params
            else gettext(skipped.message)
        )
        flash(gettext("Page %(n)s left as it was: %(why)s", n=skipped.sequence or "?", why=why))


def _bulk_form() -> BulkForm | None:
    form = BulkForm()
    return form if form.validate_on_submit() else None


@blueprint.post("/pages/bulk/assign")
@role_required(Role.MAILROOM)
def bulk_assign() -> ResponseReturnValue:
    """Assign the ticked pages to the document whose search hit's button was pressed."""
    form = _bulk_form()
    if form is None or not form.document.data:
        return _render_exceptions(
            error=gettext("Find the document, then assign to it."), status=422
        )
    try:
        outcome = runtime().mailroom.assign_pages(
            form.selected(), form.document.data, actor=_actor()
        )
    except FormsError as exc:
        return _render_exceptions(error=said(exc), status=exc.status, selected=form.selected())
    count = len(outcome.done)
    _said(
        outcome,
        ngettext(
            "%(num)s page assigned to document %(reference)s: it is read again with it.",
            "%(num)s pages assigned to document %(reference)s: they are read again with it.",
            count,
            reference=form.document.data,
        ),
    )
    return _back(form)


@blueprint.post("/pages/bulk/reject")
@role_required(Role.MAILROOM)
def bulk_reject() -> ResponseReturnValue:
    """Reject the ticked pages with one reason."""
    form = _bulk_form()
    if form is None:
        return _render_exceptions(error=gettext("Say why the pages are rejected."), status=422)
    try:
        outcome = runtime().mailroom.reject_pages(
            form.selected(), form.reason.data or "", actor=_actor()
        )
    except FormsError as exc:
        return _render_exceptions(error=said(exc), status=exc.status, selected=form.selected())
    count = len(outcome.done)
    _said(outcome, ngettext("%(num)s page rejected.", "%(num)s pages rejected.", count))
    return _back(form)


@blueprint.post("/pages/bulk/requeue")
@role_required(Role.MAILROOM)
def bulk_requeue() -> ResponseReturnValue:
    """Have the ticked pages read again from their scans."""
    form = _bulk_form()
    if form is None:
        abort(400)
    try:
        outcome = runtime().mailroom.requeue_pages(form.selected(), actor=_actor())
    except FormsError as exc:
        return _render_exceptions(error=said(exc), status=exc.status, selected=form.selected())
    count = len(outcome.done)
    _said(
        outcome,
        ngettext(
            "%(num)s page sent to be read again.", "%(num)s pages sent to be read again.", count
        ),
    )
    return _back(form)


@blueprint.get("/pages/<page_id>/thumbnail")
@role_required(Role.MAILROOM, Role.CLERK, Role.SUPERVISOR)
def page_thumbnail(page_id: str) -> ResponseReturnValue:
    """A page's thumbnail, kept in the file store (made once, never per request)."""
    rt = runtime()
    content = worklists.thumbnail(rt.sessions, rt.files, page_id)
    # A scan shows a customer's letter: never kept by a cache (the app's rule makes it no-store).
    return Response(content, mimetype="image/png")
