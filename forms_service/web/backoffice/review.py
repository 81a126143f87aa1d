"""Review screens: the queue and one change set, with accept, reject, edit and approve all."""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from werkzeug.datastructures import MultiDict

from forms_service.accounts.service import Role
from forms_service.audit.service import AuditEntry, events_of, redact
from forms_service.changes.model import ChangeSetView, FieldRowView, QueueFilter, Reviewer
from forms_service.changes.queries import queue_filter
from forms_service.changes.review import Decision
from forms_service.changes.service import ChangeService
from forms_service.changes.station import editors_of
from forms_service.core.errors import FormsError, InvalidInput
from forms_service.core.i18n import field_message
from forms_service.definitions.attachment import TYPES
from forms_service.delivery.history import HistoryEntry, document_history
from forms_service.intake.online.attachments import StoredAttachment
from forms_service.intake.queries import AnswerOrigin, origin_of
from forms_service.storage.model import AnswerChannel, ChangeSetStatus, FieldChangeStatus
from forms_service.storage.service import reading
from forms_service.web.backoffice.auth import REVIEWERS, role_required, signed_in
from forms_service.web.backoffice.forms import (
    DecisionForm,
    EditForm,
    QueueFilterForm,
    TakeAnswerForm,
)
from forms_service.web.backoffice.locale import office_locale, office_zone
from forms_service.web.backoffice.views import blueprint, reason_of
from forms_service.web.context import runtime

_PAGE = 50


def _changes() -> ChangeService:
    return runtime().changes


@dataclass(frozen=True)
class RowActions:
    """What the signed-in user may do with one row, and why not."""

    can_decide: bool
    can_edit: bool
    note: str = ""


def _row_actions(row: FieldRowView, username: str) -> RowActions:
    if not row.waiting:
        return RowActions(False, False)
    if row.status is FieldChangeStatus.AWAITING_SECOND and row.first_reviewer == username:
        return RowActions(False, True, gettext("waiting for a second, different reviewer"))
    return RowActions(True, True)


def _verdict(row: FieldRowView) -> str | None:
    if row.verdict in (None, "valid"):
        return row.verdict
    return field_message(str(row.verdict), office_locale())


def _render_change_set(
    view: ChangeSetView,
    *,
    status: int = 200,
    message: str = "",
    code: str = "",
    error: bool = False,
    errors: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    username = signed_in().username
    actions = {row.field: _row_actions(row, username) for row in view.rows}
    rows = tuple(_with_verdict(row) for row in view.rows)
    origin = _origin(view)
    shown = replace(view, rows=rows)
    if not message and request.args.get("done"):
        message, code = _done(request.args["done"])
    history = _history(view)
    station = _changes().station(view, locale=office_locale(), editors=editors_of(history))
    return (
        render_template(
            "backoffice/change_set.html",
            view=shown,
            row_actions=actions,
            decidable=any(a.can_decide for a in actions.values()),
            message=message,
            code=code,
            error=error,
            errors=dict(errors or {}),
            station=station,
            history=history,
            document_events=_document_events(view),
            labels=_labels(view),
            origin=origin,
            mailroom_links=_may_open_mailroom(),
        ),
        status,
    )


def _labels(view: ChangeSetView) -> dict[str, str]:
    """Every field's label in the screen's language (a check names fields not changed too)."""
    definition = runtime().definitions.get(view.form_id)
    fields = definition.fields if definition is not None else ()
    return {f.name: f.label_in(office_locale()) for f in fields} | {
        row.field: row.label for row in view.rows
    }


def _origin(view: ChangeSetView) -> AnswerOrigin:
    with reading(runtime().sessions) as session:
        return origin_of(session, view.submission_id)


def _may_open_mailroom() -> bool:
    """Whether the mailroom's pages (a PDF return, a batch) open for the signed-in user."""
    return "mailroom" in current_app.blueprints and signed_in().has_any(Role.MAILROOM)


def _history(view: ChangeSetView) -> list[AuditEntry]:
    """The document's audit events, newest first, personal values as the user may see them."""
    with reading(runtime().sessions) as session:
        events = events_of(session, document_id=view.document_id, limit=100)
        return redact(events, {role.value for role in signed_in().roles})


def _document_events(view: ChangeSetView) -> list[HistoryEntry]:
    """The document's delivery and answer history (storage/events.py), oldest first."""
    with reading(runtime().sessions) as session:
        return document_history(session, view.document_id)


def _with_verdict(row: FieldRowView) -> FieldRowView:
    return replace(row, verdict=_verdict(row))


#: The message after each action (`?done=`).
_DONE = {
    "accepted": lazy_gettext("Accepted."),
    "rejected": lazy_gettext("Rejected."),
    "edited": lazy_gettext("Saved: the new value was checked and waits for a decision."),
    "approved": lazy_gettext("Approved."),
    "settled": lazy_gettext("Conflict settled."),
    "decided": lazy_gettext("Decisions recorded."),
    "end": lazy_gettext("No other change set is waiting."),
}


def _done(done: str) -> tuple[str, str]:
    """The message after an action (`?done=`), in the screen's language, and its code."""
    return (str(_DONE[done]), done) if done in _DONE else ("", "")


def _after_action(view: ChangeSetView, done: str) -> ResponseReturnValue:
    """Back to the same change set while something waits for this user, else the next one."""
    username = signed_in().username
    if any(_row_actions(row, username).can_decide for row in view.rows):
        return redirect(url_for("backoffice.change_set", change_set_id=view.id, done=done), 303)
    following = _changes().next_in_queue(after=view.id, filters=_followed_filter())
    if following is None or following == view.id:
        return redirect(url_for("backoffice.queue", done=done), 303)
    return redirect(url_for("backoffice.change_set", change_set_id=following, done=done), 303)


def _act(
    change_set_id: str, done: str, action: Callable[[ChangeService, int], ChangeSetView]
) -> ResponseReturnValue:
    """Run one review action at the version the clerk saw; show any refusal on the page."""
    form = DecisionForm()
    if not form.validate():
        return _refused(
            change_set_id, InvalidInput(gettext("The form is incomplete."), field="version")
        )
    try:
        view = action(_changes(), int(form.version.data or 0))
    except FormsError as error:
        return _refused(change_set_id, error)
    return _after_action(view, done)


def _refused(
    change_set_id: str, error: FormsError, errors: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    view = _changes().change_set(change_set_id, locale=office_locale())
    return _render_change_set(
        view,
        status=error.status,
        message=reason_of(error),
        code=error.code,
        error=True,
        errors=errors,
    )


@blueprint.get("/")
@role_required(*REVIEWERS)
def queue() -> ResponseReturnValue:
    """The queue of change sets waiting for a clerk, conflicts first, with counts."""
    filters = QueueFilterForm(request.args)
    valid = filters.validate()
    offset = request.args.get("offset", "0")
    start = int(offset) if offset.isdigit() and int(offset) < 1_000_000 else 0
    wanted = _queue_filter(filters if valid else QueueFilterForm(MultiDict()), start)
    # "Next" (the `n` key, and after each decision) follows the filters last shown here.
    session[_FOLLOWED] = {k: v for k, v in request.args.items() if k in _FILTERS and valid}
    page = _changes().queue(wanted, locale=office_locale(), with_counts=False)
    board = _changes().dashboard(office_zone(), person=_reviewer())
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in filters.data and v}
    prev_url = (
        url_for("backoffice.queue", **{**args, "offset": max(0, start - _PAGE)})
        if start > 0
        else None
    )
    next_url = (
        url_for("backoffice.queue", **{**args, "offset": start + _PAGE})
        if start + _PAGE < page.total
        else None
    )
    definitions = runtime().definitions
    return render_template(
        "backoffice/queue.html",
        page=page,
        board=board,
        waiting_for=_age(board.oldest_waiting_at),
        filters=filters,
        forms=[(f, definitions[f].title_in(office_locale())) for f in definitions],
        channels=[c.value for c in AnswerChannel],
        statuses=[s.value for s in ChangeSetStatus],
        prev_url=prev_url,
        next_url=next_url,
        message=_done(request.args.get("done", ""))[0],
    )


def _age(since: dt.datetime | None) -> dt.timedelta | None:
    """How long the oldest change set has waited (None: nothing waits)."""
    if since is None:
        return None
    return max(dt.timedelta(0), runtime().changes.clock() - since)


#: The session key of the queue's filters "Next" follows, and the filters it keeps.
_FOLLOWED = "review_queue_filters"
_FILTERS = ("form", "channel", "status", "older_than_days", "mine")


def _queue_filter(form: QueueFilterForm, offset: int, *, mine: bool | None = None) -> QueueFilter:
    return queue_filter(
        form_id=form.form.data,
        channel=form.channel.data,
        status=form.status.data,
        older_than_days=form.older_than_days.data,
        actionable_by=_reviewer() if (form.mine.data if mine is None else mine) else None,
        limit=_PAGE,
        offset=offset,
    )


def _followed_filter() -> QueueFilter:
    """The queue filters last shown, with only what this clerk may act on: what "Next" walks."""
    form = QueueFilterForm(MultiDict(session.get(_FOLLOWED) or {}))
    if not form.validate():
        form = QueueFilterForm(MultiDict())
    return _queue_filter(form, 0, mine=True)


@blueprint.get("/next")
@role_required(*REVIEWERS)
def next_change_set() -> ResponseReturnValue:
    """The next change set waiting in the queue after `after` (the `n` key)."""
    after = request.args.get("after") or None
    following = _changes().next_in_queue(after=after, filters=_followed_filter())
    if following is None:
        return redirect(url_for("backoffice.queue", done="end"), 303)
    return redirect(url_for("backoffice.change_set", change_set_id=following), 303)


@blueprint.get("/change-sets/<change_set_id>")
@role_required(*REVIEWERS)
def change_set(change_set_id: str) -> ResponseReturnValue:
    """One change set: a row per changed field with its evidence and verdict."""
    return _render_change_set(_changes().change_set(change_set_id, locale=office_locale()))


def _reviewer() -> Reviewer:
    """The signed-in user as the person deciding (the four-eyes rule compares persons)."""
    user = signed_in()
    return Reviewer(user.username, user.user_id)


@blueprint.post("/change-sets/<change_set_id>/fields/<field>/accept")
@role_required(*REVIEWERS)
def accept(change_set_id: str, field: str) -> ResponseReturnValue:
    """Accept one field's change as proposed."""
    actor = _reviewer()
    return _act(
        change_set_id,
        "accepted",
        lambda service, version: service.accept(change_set_id, field, actor=actor, version=version),
    )


@blueprint.post("/change-sets/<change_set_id>/fields/<field>/reject")
@role_required(*REVIEWERS)
def reject(change_set_id: str, field: str) -> ResponseReturnValue:
    """Reject one field's change: the source keeps its value."""
    actor = _reviewer()
    return _act(
        change_set_id,
        "rejected",
        lambda service, version: service.reject(change_set_id, field, actor=actor, version=version),
    )


@blueprint.post("/change-sets/<change_set_id>/fields/<field>/edit")
@role_required(*REVIEWERS)
def edit(change_set_id: str, field: str) -> ResponseReturnValue:
    """Replace the proposed value; the field type checks it again before it is saved."""
    form = EditForm()
    if not form.validate():
        reason = (
            gettext("This value is too long.")
            if form.value.errors
            else gettext("The form is incomplete.")
        )
        return _refused(change_set_id, InvalidInput(reason, field=field), {field: reason})
    try:
        view = _changes().edit(
            change_set_id,
            field,
            form.value.data or None,
            actor=_reviewer(),
            version=int(form.version.data or 0),
            accept=bool(form.and_accept.data),
            locale=office_locale(),
        )
    except InvalidInput as error:
        return _refused(change_set_id, error, {error.field or field: error.reason})
    except FormsError as error:
        return _refused(change_set_id, error)
    if form.and_accept.data:
        return _after_action(view, "accepted")
    return redirect(url_for("backoffice.change_set", change_set_id=view.id, done="edited"), 303)


@blueprint.post("/change-sets/<change_set_id>/approve")
@role_required(*REVIEWERS)
def approve_all(change_set_id: str) -> ResponseReturnValue:
    """Accept every field still waiting for this user."""
    actor = _reviewer()
    return _act(
        change_set_id,
        "approved",
        lambda service, version: service.approve_all(change_set_id, actor=actor, version=version),
    )


@blueprint.post("/change-sets/<change_set_id>/approve-valid")
@role_required(*REVIEWERS)
def approve_valid(change_set_id: str) -> ResponseReturnValue:
    """Accept the lines still waiting that are valid and pass every check (the `A` key)."""
    actor = _reviewer()
    return _act(
        change_set_id,
        "approved",
        lambda service, version: service.approve_valid(
            change_set_id, actor=actor, version=version, locale=office_locale()
        ),
    )


@blueprint.post("/change-sets/<change_set_id>/fields/<field>/take-answer")
@role_required(*REVIEWERS)
def take_answer(change_set_id: str, field: str) -> ResponseReturnValue:
    """Settle a conflict for the answer; the reason is required (the domain checks it)."""
    form = TakeAnswerForm()
    if not form.validate():
        reason = gettext("The form is incomplete.")
        return _refused(
            change_set_id, InvalidInput(reason, field="reason"), {f"reason:{field}": reason}
        )
    try:
        view = _changes().take_answer(
            change_set_id,
            field,
            reason=form.reason.data or "",
            actor=_reviewer(),
            version=int(form.version.data or 0),
        )
    except FormsError as error:
        return _refused(change_set_id, error, {f"reason:{field}": reason_of(error)})
    return _after_action(view, "settled")


@blueprint.post("/change-sets/<change_set_id>/fields/<field>/keep-source")
@role_required(*REVIEWERS)
def keep_source(change_set_id: str, field: str) -> ResponseReturnValue:
    """Settle a conflict for the source: it keeps the value it holds now."""
    actor = _reviewer()
    return _act(
        change_set_id,
        "settled",
        lambda service, version: service.keep_source(
            change_set_id, field, actor=actor, version=version
        ),
    )


@blueprint.post("/change-sets/<change_set_id>/decide")
@role_required(*REVIEWERS)
def decide(change_set_id: str) -> ResponseReturnValue:
    """Several decisions at once (the keyboard flow): `accept` and `reject` list fields."""
    accepted = request.form.getlist("accept")
    rejected = request.form.getlist("reject")
    if not accepted and not rejected:
        return _refused(
            change_set_id, InvalidInput(gettext("No decision was sent."), field="accept")
        )
    if set(accepted) & set(rejected):
        return _refused(
            change_set_id, InvalidInput(gettext("A field cannot be both accepted and rejected."))
        )
    actor = _reviewer()
    decisions = {field: Decision.ACCEPT for field in accepted} | {
        field: Decision.REJECT for field in rejected
    }

    def run(service: ChangeService, version: int) -> ChangeSetView:
        return service.decide(change_set_id, decisions, actor=actor, version=version)

    return _act(change_set_id, "decided", run)


@blueprint.get("/change-sets/<change_set_id>/fields/<field>/evidence")
@role_required(*REVIEWERS)
def evidence(change_set_id: str, field: str) -> ResponseReturnValue:
    """The scanned crop of one answer, when the channel stored one."""
    view = _changes().change_set(change_set_id, locale=office_locale())
    try:
        row = view.row(field)
    except KeyError:
        abort(404)
    key = row.evidence.get("crop")
    files = runtime().files
    if not isinstance(key, str) or not files.exists(key):
        abort(404)
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if not kind.startswith("image/"):
        abort(404)
    return files.get(key), 200, {"Content-Type": kind, "Cache-Control": "private, no-store"}


@blueprint.get("/change-sets/<change_set_id>/fields/<field>/attachment")
@role_required(*REVIEWERS)
def attachment(change_set_id: str, field: str) -> ResponseReturnValue:
    """The document the customer attached beside a field (a RIB), as a download."""
    view = _changes().change_set(change_set_id, locale=office_locale())
    try:
        row = view.row(field)
    except KeyError:
        abort(404)
    stored = StoredAttachment.of(row.evidence)
    files = runtime().files
    if stored is None or not files.exists(stored.key):
        abort(404)
    suffix = TYPES[stored.media_type]
    return (
        files.get(stored.key),
        200,
        {
            "Content-Type": stored.media_type,
            # Downloaded, never rendered inside the back office's origin.
            "Content-Disposition": f'attachment; filename="{field}-{view.reference}{suffix}"',
            "Cache-Control": "private, no-store",
        },
    )


@blueprint.get("/change-sets/<change_set_id>/returned-pdf")
@role_required(*REVIEWERS)
def returned_pdf(change_set_id: str) -> ResponseReturnValue:
    """The PDF the customer returned, when the change set came from one (a download)."""
    view = _changes().change_set(change_set_id, locale=office_locale())
    key = _origin(view).pdf_file_key
    files = runtime().files
    if key is None or not files.exists(key):
        abort(404)
    return (
        files.get(key),
        200,
        {
            "Content-Type": "application/pdf",
            # Downloaded, never rendered inside the back office's origin.
            "Content-Disposition": f'attachment; filename="return-{view.reference}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
