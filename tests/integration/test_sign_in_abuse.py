"""Issue 18, point 4 (sign-in): no account enumeration, no lock-out from elsewhere, a notice.

The probes: a locked account answered 429 where an unknown one answered 401 (so anyone could
tell real accounts), and five wrong passwords from anywhere locked a clerk out.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from forms_service.accounts.lockout import EVERY_CLIENT
from forms_service.app import create_app
from forms_service.runtime import Runtime
from forms_service.storage.model import SecurityEvent, SignInFailures
from tests.integration.reviewing import PASSWORD, add_user, csrf_of


def _browser(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    return client


def _try(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    token = csrf_of(client.get("/backoffice/login").text)
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": token, "username": username, "password": password},
    )
    return response.status_code, response.text


def _shown(page: str) -> str:
    """The page without what differs between any two renderings (the CSRF token, the name)."""
    page = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", page)
    page = re.sub(r'value="[^"]*"', "", page)
    return page


def test_a_locked_account_and_an_unknown_one_answer_alike(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    prober = _browser(app, "198.51.100.7")
    for name in ("clerk", "ghost"):
        answers = [_try(prober, name, "wrong password!") for _ in range(5)]
        assert [status for status, _ in answers] == [401] * 5, name
    clerk_status, clerk_page = _try(prober, "clerk", "wrong password!")
    ghost_status, ghost_page = _try(prober, "ghost", "wrong password!")
    assert clerk_status == ghost_status == 429
    assert "Too many failed sign-ins from here" in clerk_page
    assert _shown(clerk_page) == _shown(ghost_page)
    # The right password from the locked client is refused the same way.
    assert _try(prober, "clerk", PASSWORD)[0] == 429


def _best_of(runs: int, attempt: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        attempt()
        best = min(best, time.perf_counter() - start)
    return best


def test_unknown_and_locked_take_the_time_of_a_wrong_password(app: Flask, runtime: Runtime) -> None:
    """A locked account answered at once, without hashing: the timing told it apart."""
    add_user(runtime, "clerk", ["clerk"])
    prober = _browser(app, "198.51.100.7")
    for _ in range(5):
        _try(prober, "locked", "wrong password!")
    wrong = _best_of(5, lambda: _try(_browser(app, "192.0.2.50"), "clerk", "wrong password!"))
    unknown = _best_of(5, lambda: _try(prober, "nobody", "wrong password!"))
    locked = _best_of(5, lambda: _try(prober, "locked", "wrong password!"))
    assert _try(prober, "locked", "x" * 12)[0] == 429
    # An argon2 verification is most of each answer: a path without one is far quicker.
    assert unknown > wrong / 2, (wrong, unknown)
    assert locked > wrong / 2, (wrong, locked)


def test_nobody_locks_a_clerk_out_from_elsewhere(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    attacker = _browser(app, "198.51.100.7")
    for _ in range(6):
        _try(attacker, "clerk", "wrong password!")
    assert _try(attacker, "clerk", PASSWORD)[0] == 429
    office = _browser(app, "192.0.2.10")
    status, _ = _try(office, "clerk", PASSWORD)
    assert status == 303
    assert office.get("/backoffice/").status_code == 200
    with runtime.sessions() as session:
        kinds = list(session.execute(select(SecurityEvent.kind, SecurityEvent.client)).all())
    assert any(kind == "sign_in_locked" and client for kind, client in kinds)
    assert all("198.51.100.7" not in (client or "") for _, client in kinds)


@pytest.fixture
def backoff_app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(
        {**app_settings, "LOGIN_ACCOUNT_MAX_FAILURES": 3, "LOGIN_BACKOFF_MAX_SECONDS": 60}
    )
    yield application
    application.extensions["forms_service"].engine.dispose()


def test_failures_from_many_clients_slow_the_account_down(backoff_app: Flask) -> None:
    runtime: Runtime = backoff_app.extensions["forms_service"]
    add_user(runtime, "clerk", ["clerk"])
    for n in range(3):  # one try from each of three clients: no client is locked
        assert _try(_browser(backoff_app, f"198.51.100.{n}"), "clerk", "wrong!!!")[0] == 401
    # From then on each try waits for the last failure's back-off (1 s after the third), from
    # any client, even with the right password; an unknown name would be slowed the same.
    with runtime.sessions() as session, session.begin():
        (every,) = session.execute(
            select(SignInFailures).where(SignInFailures.client == EVERY_CLIENT)
        ).scalars()
        assert every.failures == 3  # the three clients' failures counted together
        # The last failure "just now": a slow machine's hashing does not outlast the 1 s.
        every.last_failure_at = dt.datetime.now(dt.UTC)
    office = _browser(backoff_app, "192.0.2.10")
    status, page = _try(office, "clerk", PASSWORD)
    assert status == 429 and "Too many failed sign-ins" in page
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(SignInFailures).values(
                last_failure_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
            )
        )
    assert _try(office, "clerk", PASSWORD)[0] == 303
    with runtime.sessions() as session:
        kinds = set(session.execute(select(SecurityEvent.kind)).scalars())
    assert {"sign_in_backoff", "sign_in_failures_told"} <= kinds


def test_the_owner_is_told_of_failed_attempts_at_the_next_sign_in(
    app: Flask, runtime: Runtime
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    for n in range(3):
        _try(_browser(app, f"198.51.100.{n}"), "clerk", "wrong password!")
    office = _browser(app, "192.0.2.10")
    assert _try(office, "clerk", PASSWORD)[0] == 303
    queue = office.get("/backoffice/")
    assert "3 failed sign-in attempts on your account since your last sign-in." in queue.text
    assert "since your last sign-in" not in office.get("/backoffice/").text  # told once
    again = _browser(app, "192.0.2.11")
    assert _try(again, "clerk", PASSWORD)[0] == 303
    assert "since your last sign-in" not in again.get("/backoffice/").text
    with runtime.sessions() as session:
        details = list(
            session.execute(
                select(SecurityEvent.detail).where(SecurityEvent.kind == "sign_in_failures_told")
            ).scalars()
        )
    assert len(details) == 1 and "3 failed" in details[0]


def test_the_notice_speaks_french_too(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    _try(_browser(app, "198.51.100.1"), "clerk", "wrong password!")
    office = _browser(app, "192.0.2.10")
    office.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert _try(office, "clerk", PASSWORD)[0] == 303
    assert "1 tentative de connexion" in office.get("/backoffice/").text
