"""Browser-test fixtures: the app over real HTTP on SQLite (Chromium: tests/conftest.py)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server


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
