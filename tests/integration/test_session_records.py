"""Issue 18, point 2: a back-office session ends at sign-out and stays in the browser it began in.

Each probe copies the real session cookie of one test client into another (another browser
or address, or the same one later) and checks what the server does with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from forms_service.accounts.service import set_password
from forms_service.app import create_app
from forms_service.runtime import Runtime
from forms_service.storage.model import SecurityEvent, User, UserSession
from tests.integration.reviewing import PASSWORD, add_user, csrf_of, sign_in

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _browser(app: Flask, agent: str = FIREFOX, address: str = "192.0.2.10") -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(
        HTTP_USER_AGENT=agent, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en"
    )
    return client


def _copy_cookie(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def _signed_in_clerk(app: Flask, runtime: Runtime) -> FlaskClient:
    add_user(runtime, "clerk", ["clerk"])
    client = _browser(app)
    assert sign_in(client, "clerk") == 303
    assert client.get("/backoffice/").status_code == 200
    return client


def _records(runtime: Runtime) -> list[UserSession]:
    with runtime.sessions() as session:
        rows = list(session.execute(select(UserSession).order_by(UserSession.id)).scalars())
        session.expunge_all()
    return rows


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app: Flask, runtime: Runtime) -> None:
    """The probe: the copy kept working after sign-out (the cookie was the whole session)."""
    clerk = _signed_in_clerk(app, runtime)
    thief = _browser(app)  # the same browser and address: only the record can tell
    _copy_cookie(clerk, thief)
    assert thief.get("/backoffice/").status_code == 200
    page = clerk.get("/backoffice/")
    assert clerk.post("/backoffice/logout", data={"csrf_token": csrf_of(page.text)}).status_code
    assert thief.get("/backoffice/").status_code == 302
    assert thief.get("/mailroom/").status_code in (302, 403)
    (record,) = _records(runtime)
    assert record.revoked_at is not None and record.revoked_reason == "signed_out"


def test_a_cookie_used_from_another_browser_ends_the_session(app: Flask, runtime: Runtime) -> None:
    clerk = _signed_in_clerk(app, runtime)
    thief = _browser(app, agent=CHROME, address="198.51.100.7")
    _copy_cookie(clerk, thief)
    assert thief.get("/backoffice/").status_code == 302
    # The cookie was copied: the session is ended for its owner too, and recorded.
    assert clerk.get("/backoffice/").status_code == 302
    (record,) = _records(runtime)
    assert record.revoked_reason == "other_browser"
    with runtime.sessions() as session:
        kinds = session.execute(select(SecurityEvent.kind, SecurityEvent.detail)).all()
    assert ("session_moved", "other_browser") in kinds


def test_another_address_keeps_the_session_unless_bound_by_setting(
    app: Flask, app_settings: dict[str, Any], runtime: Runtime
) -> None:
    """Mobile networks change addresses: by default only the browser is bound."""
    clerk = _signed_in_clerk(app, runtime)
    moved = _browser(app, address="203.0.113.99")
    _copy_cookie(clerk, moved)
    assert moved.get("/backoffice/").status_code == 200
    bound = create_app({**app_settings, "BACKOFFICE_SESSION_BIND_ADDRESS": True})
    try:
        same_place = _browser(bound)
        _copy_cookie(clerk, same_place)
        assert same_place.get("/backoffice/").status_code == 200
        elsewhere = _browser(bound, address="203.0.113.99")
        _copy_cookie(clerk, elsewhere)
        assert elsewhere.get("/backoffice/").status_code == 302
    finally:
        bound.extensions["forms_service"].engine.dispose()
    assert _records(runtime)[0].revoked_reason == "other_address"


def test_a_password_change_ends_every_session(app: Flask, runtime: Runtime) -> None:
    clerk = _signed_in_clerk(app, runtime)
    laptop = _browser(app, agent=CHROME)
    assert sign_in(laptop, "clerk") == 303
    with runtime.sessions() as session, session.begin():
        ended = set_password(session, "clerk", "a brand new password", now=dt.datetime.now(dt.UTC))
    assert ended == 2
    assert clerk.get("/backoffice/").status_code == 302
    assert laptop.get("/backoffice/").status_code == 302
    assert {r.revoked_reason for r in _records(runtime)} == {"password_changed"}
    assert sign_in(laptop, "clerk", PASSWORD) == 401
    assert sign_in(laptop, "clerk", "a brand new password") == 303


@pytest.mark.parametrize(
    ("column", "age"),
    [("created_at", dt.timedelta(hours=12, minutes=1)), ("last_seen_at", dt.timedelta(hours=8))],
)
def test_absolute_and_idle_timeouts_are_the_servers(
    app: Flask, runtime: Runtime, column: str, age: dt.timedelta
) -> None:
    """Renewing the cookie on every request no longer renews the session for ever."""
    clerk = _signed_in_clerk(app, runtime)
    with runtime.sessions() as session, session.begin():
        session.execute(update(UserSession).values({column: dt.datetime.now(dt.UTC) - age}))
    assert clerk.get("/backoffice/").status_code == 302
    assert _records(runtime)[0].revoked_reason == ("expired" if column == "created_at" else "idle")


def test_each_request_renews_the_last_seen_time_not_the_start(app: Flask, runtime: Runtime) -> None:
    clerk = _signed_in_clerk(app, runtime)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    with runtime.sessions() as session, session.begin():
        session.execute(update(UserSession).values(last_seen_at=before, created_at=before))
    assert clerk.get("/backoffice/").status_code == 200
    (record,) = _records(runtime)
    assert record.created_at == before
    assert record.last_seen_at > before + dt.timedelta(minutes=29)


@pytest.fixture
def admin(app: Flask, runtime: Runtime) -> Iterator[FlaskClient]:
    add_user(runtime, "root", ["admin"])
    client = _browser(app, agent=CHROME, address="192.0.2.1")
    assert sign_in(client, "root") == 303
    yield client


def test_an_administrator_lists_and_revokes_a_users_sessions(
    app: Flask, runtime: Runtime, admin: FlaskClient
) -> None:
    clerk = _signed_in_clerk(app, runtime)
    second = _browser(app, agent=CHROME)
    assert sign_in(second, "clerk") == 303
    assert 'href="/backoffice/users"' in admin.get("/backoffice/").text
    assert 'href="/backoffice/users"' not in clerk.get("/backoffice/").text
    users = admin.get("/backoffice/users")
    assert users.status_code == 200
    assert re.search(r'data-user="clerk">.*?data-open="2"', users.text, re.S)
    with runtime.sessions() as session:
        clerk_id = session.execute(select(User.id).where(User.username == "clerk")).scalar_one()
    first_row = next(r.id for r in _records(runtime) if r.user_id == clerk_id)  # Firefox's
    listing = admin.get(f"/backoffice/users/{clerk_id}/sessions")
    assert listing.status_code == 200
    assert listing.text.count("data-session=") == 2
    assert "fss_" not in listing.text  # no session id is ever shown
    token = csrf_of(listing.text)
    revoke = f"/backoffice/users/{clerk_id}/sessions/{first_row}/revoke"
    assert admin.post(revoke, data={}).status_code == 400  # CSRF
    assert clerk.get("/backoffice/").status_code == 200
    assert admin.post(revoke, data={"csrf_token": token}).status_code == 303
    assert clerk.get("/backoffice/").status_code == 302
    assert second.get("/backoffice/").status_code == 200
    assert admin.post(revoke, data={"csrf_token": token}).status_code == 404  # already ended
    everything = f"/backoffice/users/{clerk_id}/sessions/revoke-all"
    assert admin.post(everything, data={"csrf_token": token}).status_code == 303
    assert second.get("/backoffice/").status_code == 302
    assert admin.get("/backoffice/").status_code == 200  # the admin's own session is left


def test_only_administrators_see_or_revoke_sessions(app: Flask, runtime: Runtime) -> None:
    clerk = _signed_in_clerk(app, runtime)
    (record,) = _records(runtime)
    token = csrf_of(clerk.get("/backoffice/").text)
    assert clerk.get("/backoffice/users").status_code == 403
    assert clerk.get(f"/backoffice/users/{record.user_id}/sessions").status_code == 403
    revoke = f"/backoffice/users/{record.user_id}/sessions/{record.id}/revoke"
    assert clerk.post(revoke, data={"csrf_token": token}).status_code == 403
    assert _records(runtime)[0].revoked_at is None
    anonymous = _browser(app)
    assert anonymous.get("/backoffice/users").status_code == 302
