"""Abuse resistance over HTTP: security headers, the trusted proxy, HTTPS CSRF, upload rate limits.

Size and type limits of uploads are in test_pdf_returns.py; session fixation in test_backoffice.py.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from limits.errors import ConfigurationError

from forms_service.app import create_app
from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.web.context import client_pseudonym
from forms_service.web.extensions import limiter
from tests.conftest import REDIS_URL, hidden_fields
from tests.integration.reviewing import PASSWORD, add_user

# One backend is enough: nothing here depends on the database.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _link(runtime: Runtime, form_id: str = "consent-preferences", key: str = "C000002") -> str:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "abuse")
    return "/f/" + issued.link.rsplit("/f/", 1)[1]


@pytest.fixture
def behind_proxy(app_settings: dict[str, Any]) -> Iterator[Flask]:
    """The service as deployed: https origin, one TLS-terminating proxy in front."""
    application = create_app(
        {**app_settings, "BASE_URL": "https://forms.example", "TRUSTED_PROXIES": 1}
    )
    yield application
    application.extensions["forms_service"].engine.dispose()


_PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "forms.example"}


def test_every_kind_of_page_carries_the_security_headers(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    for path in (_link(runtime), "/backoffice/login", "/api/openapi.json", "/f/not-a-token"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        directives = dict(
            [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
        )
        assert directives["script-src"] == "'self'", path  # no inline script, no eval
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS
    assert client.get(_link(runtime)).headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    for path in (_link(runtime), _link(runtime, "contact-update"), "/backoffice/login"):
        page = client.get(path).text
        assert "<script>" not in page and " on" + "click=" not in page
        assert '<meta name="referrer" content="same-origin">' in page


def test_hsts_and_secure_cookie_behind_the_trusted_proxy(behind_proxy: Flask) -> None:
    runtime: Runtime = behind_proxy.extensions["forms_service"]
    client = behind_proxy.test_client()
    response = client.get(_link(runtime), headers=_PROXIED)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    (session_cookie,) = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(
    app: Flask, runtime: Runtime
) -> None:
    # TRUSTED_PROXIES unset: a client cannot pretend to be on https or elsewhere.
    response = app.test_client().get(
        _link(runtime), headers={**_PROXIED, "X-Forwarded-For": "1.2.3.4"}
    )
    assert "Strict-Transport-Security" not in response.headers


def test_https_form_posts_pass_with_the_referer_the_page_policy_lets_through(
    behind_proxy: Flask,
) -> None:
    # Regression: "Referrer-Policy: no-referrer" made browsers drop the Referer that
    # Flask-WTF requires on HTTPS, so every form POST in production was refused.
    runtime: Runtime = behind_proxy.extensions["forms_service"]
    add_user(runtime, "clerk", ["clerk"])
    client = behind_proxy.test_client()
    page = client.get("/backoffice/login", headers=_PROXIED)
    assert page.headers["Referrer-Policy"] == "same-origin"
    data = {"csrf_token": hidden_fields(page.text)["csrf_token"], "username": "clerk"}
    without = client.post(
        "/backoffice/login", data={**data, "password": PASSWORD}, headers=_PROXIED
    )
    assert without.status_code == 400  # no Referer on HTTPS: refused with the clear page
    assert "The page has expired" in without.text or "Rechargez" in without.text
    elsewhere = {**_PROXIED, "Referer": "https://evil.example/backoffice/login"}
    assert (
        client.post("/backoffice/login", data={**data, "password": PASSWORD}, headers=elsewhere)
    ).status_code == 400
    same_origin = {**_PROXIED, "Referer": "https://forms.example/backoffice/login"}
    signed = client.post(
        "/backoffice/login", data={**data, "password": PASSWORD}, headers=same_origin
    )
    assert signed.status_code == 303
    assert "Secure" in signed.headers["Set-Cookie"]


_SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Strict-Transport-Security",
)


def test_every_kind_of_response_carries_each_security_header_once(behind_proxy: Flask) -> None:
    """Pages, redirects, errors, files, JSON: each header once, and a view's own value kept."""

    def own_headers() -> tuple[str, int, dict[str, str]]:
        return "framed", 200, {"x-frame-options": "SAMEORIGIN", "Referrer-Policy": "no-referrer"}

    behind_proxy.add_url_rule("/test-own-headers", view_func=own_headers)
    runtime: Runtime = behind_proxy.extensions["forms_service"]
    link = _link(runtime)
    client = behind_proxy.test_client()
    statuses = set()
    for method, path in (
        ("GET", link),
        ("GET", f"{link}/done"),  # no answer yet: a redirect to the form
        ("GET", f"{link}/pdf"),  # a file with its own Cache-Control
        ("POST", link),  # no CSRF token: the error page
        ("GET", "/f/not-a-token"),
        ("GET", "/no-such-page"),
        ("GET", "/static/site.css"),
        ("GET", "/healthz"),
        ("GET", "/api/openapi.json"),
        ("GET", "/backoffice/login"),
        ("GET", "/test-own-headers"),
    ):
        response = client.open(path, method=method, headers=_PROXIED)
        response.close()  # the static file is streamed
        statuses.add(response.status_code)
        for name in _SECURITY_HEADERS:
            assert len(response.headers.getlist(name)) == 1, (path, name, response.headers)
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        if path.startswith("/f/"):
            assert response.headers.getlist("Cache-Control") == ["no-store"], path
    assert {200, 302, 400, 404} <= statuses
    own = client.get("/test-own-headers", headers=_PROXIED)
    assert own.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert own.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in own.headers["Content-Security-Policy"]


def test_limits_are_checked_on_their_views_only_and_global_limits_refused(
    app_settings: dict[str, Any],
) -> None:
    settings = {**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LINK": "2 per minute"}
    app = create_app(settings)
    runtime: Runtime = app.extensions["forms_service"]
    try:
        with app.app_context():
            limiter.reset()
        # Flask-Limiter's pass before every request is gone; the views' own checks stay.
        assert limiter._check_request_limit not in app.before_request_funcs[None]
        link = _link(runtime)
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.77.0.1"
        statuses = [client.get(link).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = client.get(link)
        assert refused.status_code == 429 and refused.headers["X-Frame-Options"] == "DENY"
        assert client.get("/healthz").status_code == 200  # nothing limits what has no limit
        for name in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"):
            with pytest.raises(ConfigurationError, match="only limits on views"):
                create_app({**settings, name: "1 per minute"})
            # A refused app leaves its limits on the process-wide limiter: take them back.
            limiter.limit_manager.set_default_limits([])
            limiter.limit_manager.set_application_limits([])
    finally:
        with app.app_context():
            limiter.reset()
        runtime.engine.dispose()


def test_a_post_without_csrf_token_gets_a_clear_page(app: Flask, runtime: Runtime) -> None:
    link = _link(runtime)
    response = app.test_client().post(link, data={"consent_email": "y"})
    assert response.status_code == 400
    assert "La page a expiré. Rechargez-la et recommencez." in response.text.replace("&#39;", "'")


def test_uploads_are_rate_limited_in_redis_shared_by_every_process(
    app_settings: dict[str, Any],
) -> None:
    # The limiter is one object per process: its key prefix is the first app's, so this
    # test's keys are told apart by a client address of their own.
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    client_env = {"REMOTE_ADDR": address}
    settings = {
        **app_settings,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LINK": "3 per minute",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": "forms-test",
    }
    first, second = create_app(settings), create_app(settings)  # two web processes
    with first.test_request_context(environ_base=client_env):
        pseudonym = client_pseudonym()
    store = redis.Redis.from_url(REDIS_URL)
    try:
        link = _link(first.extensions["forms_service"])
        one, two = first.test_client(), second.test_client()
        statuses = [
            one.get(f"{link}/upload", environ_base=client_env).status_code,
            two.get(f"{link}/upload", environ_base=client_env).status_code,
            one.get(f"{link}/upload", environ_base=client_env).status_code,
            two.post(
                f"{link}/upload", data={"csrf_token": "x"}, environ_base=client_env
            ).status_code,
            one.get(f"{link}/upload", environ_base=client_env).status_code,
        ]
        # Three pages, then 429 whichever process the client reaches: the counter lives in
        # Redis. (A POST refused for its CSRF token is refused before it is counted.)
        assert statuses == [200, 200, 200, 400, 429]
        # Keyed by the client's pseudonym: Redis holds no client address (issue 18).
        assert any(store.scan_iter(match=f"*{pseudonym}*"))
        assert not any(store.scan_iter(match=f"*{address}*"))
        other = {"REMOTE_ADDR": address + "0"}
        assert (
            second.test_client().get(f"{link}/upload", environ_base=other)
        ).status_code == 200  # per client, not global
    finally:
        keys = list(store.scan_iter(match=f"*{pseudonym}*"))
        if keys:
            store.delete(*keys)
        store.close()
        for application in (first, second):
            application.extensions["forms_service"].engine.dispose()
        with first.app_context():
            limiter.reset()


def test_rate_limit_log_lines_carry_the_client_pseudonym_not_the_address(
    app_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Probe: Flask-Limiter's "ratelimit … exceeded" line carried the raw client address."""
    settings = {**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LINK": "1 per minute"}
    app = create_app(settings)
    runtime: Runtime = app.extensions["forms_service"]
    address = "10.77.0.42"
    try:
        with app.app_context():
            limiter.reset()
        link = _link(runtime)
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        with caplog.at_level(logging.INFO):
            statuses = [client.get(link).status_code for _ in range(2)]
        assert statuses == [200, 429]
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            pseudonym = client_pseudonym()
        lines = [record.getMessage() for record in caplog.records]
        exceeded = [line for line in lines if "exceeded" in line]
        assert exceeded, lines
        assert all(address not in line for line in lines), lines
        assert pseudonym in exceeded[0]
    finally:
        with app.app_context():
            limiter.reset()
        runtime.engine.dispose()
