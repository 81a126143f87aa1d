"""Shared fixtures: a real database per backend (SQLite file, PostgreSQL), a demo CRM, the app."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url

from forms_service.app import create_app
from forms_service.demo.service import create_demo_crm
from forms_service.runtime import Runtime
from forms_service.storage import migrate
from forms_service.storage.model import Base
from forms_service.storage.service import make_engine
from tests.e2e.browsing import CHROMIUM, LAUNCH_ARGS

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "form_definitions"
POSTGRES_URL = os.environ.get(
    "FORMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FORMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _admin_connection() -> psycopg.Connection[Any]:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        dbname=url.database,
        autocommit=True,
    )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database created for this test run, migrated, dropped at the end."""
    name = f"forms_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = _admin_connection()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL}: run the tests with `make test`, "
            f"which starts one ({exc})"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite service database, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "forms.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def crm_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo CRM (SQLite), copied for each test."""
    path = tmp_path_factory.mktemp("crm") / "crm.sqlite"
    create_demo_crm(f"sqlite:///{path}", 40)
    return path


def _truncate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The service database of one test: a fresh SQLite copy, or the emptied PostgreSQL one."""
    if request.param == "sqlite":
        target = tmp_path / "forms.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    url = request.getfixturevalue("postgres_database")
    _truncate(url)
    yield url


@pytest.fixture
def crm_url(tmp_path: Path, crm_template: Path) -> str:
    """A fresh copy of the demo CRM for one test."""
    target = tmp_path / "crm.sqlite"
    shutil.copy(crm_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, crm_url: str) -> dict[str, Any]:
    """Settings of a test app: real databases, generated secrets under tmp_path."""
    from forms_service.config import DEMO_CRM_RECORD_TYPES

    return {
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        "FILE_STORE_DIR": str(tmp_path / "var" / "files"),
        "DEFINITIONS_DIR": str(DEFINITIONS),
        "BASE_URL": "http://localhost",
        "CONNECTORS": {
            "crm": {"type": "sql", "url": crm_url, "record_types": DEMO_CRM_RECORD_TYPES}
        },
        "TESTING": True,
        "RATELIMIT_ENABLED": False,
        # What is sent goes to files under var/mail/ and var/sms/ unless a test starts a real
        # server (never to whatever listens on the default port 8025 of this machine).
        "EMAIL_PROVIDER": "file",
        "SMS_PROVIDER": "file",
    }


@pytest.fixture
def app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    """The application on real databases."""
    application = create_app(app_settings)
    yield application
    application.extensions["forms_service"].close()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    """The runtime of the test app."""
    built: Runtime = app.extensions["forms_service"]
    return built


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


_HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|base)"[^>]*value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs (CSRF token, signed base) of a rendered form."""
    found = {}
    for match in _HIDDEN.finditer(html):
        found[match.group(1)] = match.group(2)
    for match in re.finditer(r'<input[^>]*value="([^"]*)"[^>]*name="(csrf_token|base)"', html):
        found[match.group(2)] = match.group(1)
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once for every browser test of the session.

    One Playwright per session: a second sync_playwright() started while this one runs fails
    ("Sync API inside the asyncio loop"), so the e2e and the pdf.js viewer tests share it.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own with nothing in it (migrations under test run here), dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    name = f"forms_empty_{os.getpid()}_{secrets.token_hex(3)}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def rate_limited_app(settings: dict[str, Any], **limits: str) -> Iterator[Flask]:
    """An app with rate limiting on and `limits` (RATELIMIT_… settings), counters reset."""
    from forms_service.web.extensions import limiter

    app = create_app({**settings, "RATELIMIT_ENABLED": True, **limits})
    with app.app_context():
        limiter.reset()
    try:
        yield app
    finally:
        with app.app_context():
            limiter.reset()
        app.extensions["forms_service"].engine.dispose()
