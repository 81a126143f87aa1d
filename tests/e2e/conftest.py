"""Browser-test fixtures: the app over real HTTP on SQLite, and one Chromium per session."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from tests.e2e.browsing import CHROMIUM, LAUNCH_ARGS


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The browser runs against SQLite only: the HTTP tests cover PostgreSQL."""
    target = tmp_path / "forms.sqlite"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The test app served over real HTTP on a free loopback port."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)
    http.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once for every browser test."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()
