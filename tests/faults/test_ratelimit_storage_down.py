"""Redis (the rate-limit storage) goes down and comes back: pages keep working and limited."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from forms_service.app import create_app
from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.web.extensions import limiter
from tests.prod_stack import free_port

pytestmark = [
    pytest.mark.faults,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


class PrivateRedis:
    """A redis-server of our own on 127.0.0.1:port, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "yes",
                "--dir", str(self.directory), "--pidfile", str(self.directory / "redis.pid"),
                "--logfile", str(self.directory / "redis.log"),
            ],
            check=True,
            timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "private redis did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        # Shutting down closes the connection (or the server was already down).
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=self.port).shutdown(nosave=True)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    directory = Path(tempfile.mkdtemp(prefix="forms-faults-redis-"))
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_pages_stay_up_and_limited_while_redis_is_down(
    app_settings: dict[str, Any], private_redis: PrivateRedis
) -> None:
    prefix = f"forms-test-{secrets.token_hex(4)}"
    app = create_app(
        {
            **app_settings,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_LINK": "3 per minute",
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{private_redis.port}/0",
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    built: Runtime = app.extensions["forms_service"]
    try:
        (issued,) = built.issuing.issue("consent-preferences", Selection(keys=("C000004",)), "r")
        link = "/f/" + issued.link.rsplit("/f/", 1)[1]
        # The limiter is one object per process: a client address of this test's own.
        address = f"10.8.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        store = redis.Redis(port=private_redis.port)
        assert client.get(link).status_code == 200
        assert store.dbsize() > 0  # counted in Redis (a private server: any key is ours)

        private_redis.stop()
        during = [client.get(link).status_code for _ in range(5)]
        # Never a server error: the counts go on in memory, and the limit still holds.
        assert 500 not in during and during[0] == 200 and during[-1] == 429, during

        private_redis.start()
        recovered = False
        deadline = time.monotonic() + 60  # the limiter looks at its storage again, backing off
        while not recovered and time.monotonic() < deadline:
            other = f"10.9.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
            status = app.test_client().get(link, environ_base={"REMOTE_ADDR": other}).status_code
            assert status == 200
            recovered = redis.Redis(port=private_redis.port).dbsize() > 0
            time.sleep(0.5)
        assert recovered, "the limiter never went back to Redis"
    finally:
        built.engine.dispose()
        with app.app_context():
            limiter.reset()
