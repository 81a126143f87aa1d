"""Real-reader fixtures: SQLite only (reading a PDF does not depend on the database)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: tests/integration/test_pdf_returns.py covers PostgreSQL."""
    target = tmp_path / "forms.sqlite"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"
