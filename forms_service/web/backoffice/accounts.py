"""Administrators' screens: the users, each one's open sessions, and revoking them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext

from forms_service.accounts import sessions as records
from forms_service.accounts.service import Role
from forms_service.web.backoffice.auth import role_required, session_policy
from forms_service.web.backoffice.forms import RevokeForm
from forms_service.web.backoffice.views import blueprint
from forms_service.web.context import runtime


@blueprint.get("/users")
@role_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    """Every account with how many sessions it has open."""
    built = runtime()
    with built.sessions() as db:
        listed = records.accounts(db, now=built.clock(), policy=session_policy(built.settings))
    return render_template("backoffice/users.html", users=listed)


@blueprint.get("/users/<int:user_id>/sessions")
@role_required(Role.ADMIN)
def user_sessions(user_id: int) -> ResponseReturnValue:
    """One user's open sessions (when, from which client and browser digest), to revoke."""
    built = runtime()
    with built.sessions() as db:
        user = records.account(db, user_id)
        username = user.username
        listed = records.active_sessions(
            db, user_id, now=built.clock(), policy=session_policy(built.settings)
        )
    return render_template(
        "backoffice/user_sessions.html",
        user_id=user_id,
        username=username,
        sessions=listed,
        form=RevokeForm(),
    )


@blueprint.post("/users/<int:user_id>/sessions/<int:session_row>/revoke")
@role_required(Role.ADMIN)
def revoke_session(user_id: int, session_row: int) -> ResponseReturnValue:
    """End one session: its cookie is refused from the next request on."""
    if not RevokeForm().validate():
        abort(400)
    built = runtime()
    with built.sessions() as db, db.begin():
        records.account(db, user_id)
        records.revoke_session(db, user_id, session_row, now=built.clock())
    flash(gettext("The session is ended."))
    return redirect(url_for("backoffice.user_sessions", user_id=user_id), code=303)


@blueprint.post("/users/<int:user_id>/sessions/revoke-all")
@role_required(Role.ADMIN)
def revoke_all_sessions(user_id: int) -> ResponseReturnValue:
    """End every session of the user (a lost laptop, a departure)."""
    if not RevokeForm().validate():
        abort(400)
    built = runtime()
    with built.sessions() as db, db.begin():
        records.account(db, user_id)
        ended = records.revoke_all(db, user_id, now=built.clock())
    flash(ngettext("%(num)d session ended.", "%(num)d sessions ended.", ended))
    return redirect(url_for("backoffice.user_sessions", user_id=user_id), code=303)
