"""Browser-test fixtures: the app over real HTTP on SQLite (Chromium: tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.e2e.browsing import serving


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The browser runs against SQLite only: the HTTP tests cover PostgreSQL."""
    target = tmp_path / "forms.sqlite"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The test app served over real HTTP on a free loopback port."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url
