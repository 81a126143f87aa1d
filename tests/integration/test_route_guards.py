"""Every route of the app's url map, guarded: CSRF on cookie-authenticated writes, roles, bearer.

The routes are read from the url map, so a new route is covered (or fails here until it is
classified in _ROLES) without anyone remembering to add a test.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from tests.integration.reviewing import add_token, add_user, csrf_of, english_client, sign_in

# Nothing here depends on the database backend.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_PUBLIC_SCREENS = ("/backoffice/login", "/backoffice/logout", "/backoffice/language")
#: Roles allowed on each back-office and mailroom endpoint (admin holds them all).
_ROLES = {
    "backoffice.queue": {"clerk", "supervisor"},
    "backoffice.campaigns": {"supervisor"},
    "backoffice.campaign": {"supervisor"},
    "backoffice.next_change_set": {"clerk", "supervisor"},
    "backoffice.change_set": {"clerk", "supervisor"},
    "backoffice.accept": {"clerk", "supervisor"},
    "backoffice.reject": {"clerk", "supervisor"},
    "backoffice.edit": {"clerk", "supervisor"},
    "backoffice.approve_all": {"clerk", "supervisor"},
    "backoffice.approve_valid": {"clerk", "supervisor"},
    "backoffice.take_answer": {"clerk", "supervisor"},
    "backoffice.keep_source": {"clerk", "supervisor"},
    "backoffice.decide": {"clerk", "supervisor"},
    "backoffice.evidence": {"clerk", "supervisor"},
    "backoffice.attachment": {"clerk", "supervisor"},
    "backoffice.returned_pdf": {"clerk", "supervisor"},
    "backoffice.customers": {"clerk", "supervisor"},
    "backoffice.find_customer": {"clerk", "supervisor"},
    "backoffice.customer": {"clerk", "supervisor"},
    "backoffice.record_consent": {"clerk", "supervisor"},
    "backoffice.users": {"admin"},
    "backoffice.local_mail": {"admin"},
    "backoffice.local_mail_message": {"admin"},
    "backoffice.local_mail_raw": {"admin"},
    "backoffice.user_sessions": {"admin"},
    "backoffice.revoke_session": {"admin"},
    "backoffice.revoke_all_sessions": {"admin"},
    "mailroom.batches": {"mailroom"},
    "mailroom.upload": {"mailroom"},
    "mailroom.batch": {"mailroom"},
    "mailroom.pdf_return": {"mailroom"},
    "mailroom.exceptions": {"mailroom"},
    "mailroom.search": {"mailroom"},
    "mailroom.assign": {"mailroom"},
    "mailroom.reject": {"mailroom"},
    "mailroom.rename": {"mailroom"},
    "mailroom.not_blank": {"mailroom"},
    "mailroom.bulk_assign": {"mailroom"},
    "mailroom.bulk_reject": {"mailroom"},
    "mailroom.bulk_requeue": {"mailroom"},
    "mailroom.page_thumbnail": {"mailroom", "clerk", "supervisor"},
    "mailroom.accuracy": {"mailroom", "clerk", "supervisor"},
    "mailroom.page_image": {"mailroom", "clerk", "supervisor"},
    "mailroom.crop": {"mailroom", "clerk", "supervisor"},
}
_ALL_ROLES = ("clerk", "supervisor", "mailroom", "integration")
#: The only endpoints a browser or proxy may keep: files of the site itself, the same for all.
_CACHEABLE = {"static", "api_docs.asset", "organisation.logo", "organisation.theme"}


def _path(rule: Rule, token: str) -> str:
    """The rule's path with every placeholder filled (a real link token for <token>)."""

    def filled(found: re.Match[str]) -> str:
        if found.group(2) == "token":
            return token
        return "1" if found.group(1) == "int" else "x" + found.group(2)

    return re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", filled, rule.rule)


def _token(runtime: Runtime) -> str:
    (issued,) = runtime.issuing.issue("contact-update", Selection(keys=("C000003",)), "guards")
    return issued.link.rsplit("/f/", 1)[1]


def _rules(app: Flask, prefixes: tuple[str, ...]) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(prefixes)]


def _signed_in(app: Flask, runtime: Runtime, roles: list[str]) -> FlaskClient:
    name = "user-" + "-".join(roles)
    add_user(runtime, name, roles)
    client = app.test_client()
    assert sign_in(client, name) == 303
    return client


def _csrf(client: FlaskClient) -> str:
    """A valid CSRF token of the client's session (reviewers are sent on from the login)."""
    page = client.get("/backoffice/login", follow_redirects=True)
    return csrf_of(page.text)


def test_every_cookie_authenticated_write_refuses_a_missing_or_wrong_csrf_token(
    app: Flask, runtime: Runtime
) -> None:
    token = _token(runtime)
    admin = _signed_in(app, runtime, ["admin"])
    customer = app.test_client()
    assert customer.get(f"/f/{token}").status_code == 200  # a session like a customer's
    writes = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        # Providers' webhooks take no cookie: each is authenticated by its own secret
        # (test_delivery_commands.py: forged or unauthenticated calls get 403). The
        # one-click unsubscribe (RFC 8058) takes no cookie either: its signed link is the
        # proof (tests/integration/consent/test_unsubscribe.py).
        if not rule.rule.startswith(("/api/", "/hooks/", "/u/"))
        for method in sorted((rule.methods or set()) & _WRITES)
    ]
    assert len(writes) >= 14  # public, back office and mailroom writes were all found
    for rule, method in writes:
        client = customer if rule.rule.startswith("/f/") else admin
        path = _path(rule, token)
        for data in ({}, {"csrf_token": "forged"}):
            response = client.open(path, method=method, data=data)
            assert response.status_code == 400, (method, path, data, response.status_code)
            assert "Rechargez" in response.text or "expired" in response.text, path
    # The token of another session is refused too: CSRF tokens are bound to their session.
    other = app.test_client()
    stolen = _csrf(other)
    refused = admin.post("/backoffice/logout", data={"csrf_token": stolen})
    assert refused.status_code == 400


def test_every_api_write_needs_a_bearer_token_not_a_session_cookie(
    app: Flask, runtime: Runtime
) -> None:
    admin = _signed_in(app, runtime, ["admin"])
    writes = [
        (rule, method)
        for rule in _rules(app, ("/api/",))
        for method in sorted((rule.methods or set()) & _WRITES)
    ]
    assert len(writes) >= 8
    reads = [r for r in _rules(app, ("/api/v1/",)) if "GET" in (r.methods or set())]
    for rule, method in [*writes, *((r, "GET") for r in reads)]:
        path = _path(rule, "x")
        # CSRF is off on the API because nothing there trusts a cookie: a signed-in
        # browser's request without a bearer token is unauthenticated.
        response = admin.open(path, method=method, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json is not None and response.json["code"] == "unauthorized"


def test_every_back_office_and_mailroom_route_refuses_the_anonymous_and_the_wrong_role(
    app: Flask, runtime: Runtime
) -> None:
    guarded = [
        r for r in _rules(app, ("/backoffice/", "/mailroom/")) if r.rule not in _PUBLIC_SCREENS
    ]
    assert {r.endpoint for r in guarded} == set(_ROLES), "classify every new route in _ROLES"
    anonymous = app.test_client()
    clients = {role: _signed_in(app, runtime, [role]) for role in _ALL_ROLES}
    for rule in guarded:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = _path(rule, "x")
            data = {"csrf_token": _csrf(anonymous)}
            response = anonymous.open(path, method=method, data=data)
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["Location"].startswith("/backoffice/login"), path
            for role, client in clients.items():
                if role in _ROLES[rule.endpoint]:
                    continue
                data = {"csrf_token": _csrf(client)}
                response = client.open(path, method=method, data=data)
                assert response.status_code == 403, (role, method, path, response.status_code)


def test_no_route_but_the_site_s_own_files_may_be_stored_by_a_cache(
    app: Flask, runtime: Runtime
) -> None:
    """Regression: back-office pages, mailroom search, API JSON had no Cache-Control, and
    scan images were cached an hour: every answer but the static files is `no-store`."""
    token = _token(runtime)
    customer = app.test_client()
    assert customer.get(f"/f/{token}").status_code == 200
    admin = _signed_in(app, runtime, ["admin"])
    bearer = {"Authorization": "Bearer " + add_token(runtime, "all", _ALL_ROLES)}
    rules = list(app.url_map.iter_rules())
    assert {r.endpoint for r in rules} >= _CACHEABLE
    checked = 0
    for rule in rules:
        if rule.endpoint in _CACHEABLE:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = _path(rule, token)
            if rule.rule.startswith("/api/"):
                response = customer.open(path, method=method, headers=bearer, json={})
            elif rule.rule.startswith("/f/"):
                response = customer.open(path, method=method, data={})
            else:
                response = admin.open(path, method=method, data={"csrf_token": _csrf(admin)})
            response.close()
            assert "no-store" in response.headers.get("Cache-Control", ""), (
                method,
                path,
                response.status_code,
                response.headers.get("Cache-Control"),
            )
            checked += 1
    assert checked >= 50  # the walk reached the routes of every audience
    static = admin.get("/static/site.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_csrf_failure_in_the_office_shows_its_own_error_page_in_its_language(
    app: Flask, runtime: Runtime
) -> None:
    """Probe: a stale back-office or mailroom form showed the customers' 'This link does not
    work' page, which sends a clerk to the reference printed on a letter."""
    add_user(runtime, "mira", ["admin"])
    french = app.test_client()  # the back office's default language
    english = english_client(app)
    for client in (french, english):
        assert sign_in(client, "mira") == 303
    cases = [
        (french, "/backoffice/logout", "forms_service · back-office", "La page a expiré"),
        (french, "/mailroom/batches", "forms_service · courrier", "La page a expiré"),
        (english, "/backoffice/logout", "forms_service · back office", "The page has expired"),
        (english, "/mailroom/batches", "forms_service · mailroom", "The page has expired"),
    ]
    for client, path, brand, expired in cases:
        response = client.post(path, data={"csrf_token": "forged"})
        assert response.status_code == 400, path
        page = response.text
        assert 'data-code="csrf"' in page and expired in page, (path, page)
        assert brand in page, (path, brand)
        assert "Ce lien ne fonctionne pas" not in page and "This link does not work" not in page
