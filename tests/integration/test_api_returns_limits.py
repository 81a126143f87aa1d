"""POST /api/v1/returns is rate limited per token and per client, in the shared Redis."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from typing import Any

import redis

from forms_service.accounts.service import create_api_token
from forms_service.app import create_app
from forms_service.runtime import Runtime
from forms_service.web.extensions import limiter
from tests.conftest import REDIS_URL


def _token(runtime: Runtime, name: str) -> str:
    with runtime.sessions() as session, session.begin():
        return create_api_token(session, name, ["integration"], now=dt.datetime.now(dt.UTC))


def test_posted_returns_are_limited_per_token_and_per_client(
    app_settings: dict[str, Any],
) -> None:
    # The limiter is one object per process: this test's keys are its own by a random client
    # address and random token names (see test_abuse.py).
    tag = secrets.token_hex(4)
    here = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    there = here + "0"
    settings = {
        **app_settings,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_API_RETURNS_TOKEN": "2 per minute",
        "RATELIMIT_API_RETURNS_CLIENT": "2 per minute",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": "forms-test",
    }
    app = create_app(settings)
    built: Runtime = app.extensions["forms_service"]
    tokens = {name: _token(built, f"robot-{tag}-{name}") for name in ("a", "b", "c")}
    client = app.test_client()

    def post(token: str, address: str) -> int:
        response = client.post(
            "/api/v1/returns",
            data={"file": (io.BytesIO(b"not a pdf"), "return.pdf", "application/pdf")},
            headers={"Authorization": f"Bearer {tokens[token]}"},
            content_type="multipart/form-data",
            environ_base={"REMOTE_ADDR": address},
        )
        if response.status_code == 429:
            assert response.get_json()["status"] == 429
        return response.status_code

    store = redis.Redis.from_url(REDIS_URL)
    try:
        assert [post("a", here), post("a", here)] == [415, 415]  # read, refused: counted
        assert post("a", here) == 429
        assert post("b", here) == 429  # per client, whatever the token
        assert post("a", there) == 429  # per token, wherever it is used from
        assert post("c", there) == 415  # another token from another client is its own
    finally:
        keys = [
            *store.scan_iter(match=f"*{here}*"),
            *store.scan_iter(match=f"*robot-{tag}*"),
        ]
        if keys:
            store.delete(*keys)
        store.close()
        built.engine.dispose()
        with app.app_context():
            limiter.reset()
