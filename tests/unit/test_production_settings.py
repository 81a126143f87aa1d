"""Production mode refuses unsafe settings, each problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms_service.config import Settings, check_production, ensure_secrets, load_settings
from forms_service.core.errors import ConfigurationError

SAFE = {
    "ENV": "production",
    "SECRET_KEY": "s" * 48,
    "LINK_SIGNING_KEYS": ["k9:" + "x" * 40],
    "DATABASE_URL": "postgresql+psycopg://forms@db/forms",
    "BASE_URL": "https://forms.example.org",
}


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), **SAFE, **changes})


def test_safe_production_settings_start(tmp_path: Path) -> None:
    ensure_secrets(_settings(tmp_path))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"DEBUG": True}, "debug mode"),
        ({"BASE_URL": "http://forms.example.org"}, "https://"),
        ({"DATABASE_URL": "sqlite:///x.sqlite", "PROCESSES": 4}, "SQLite cannot serve 4"),
    ],
)
def test_unsafe_production_settings_are_refused(
    tmp_path: Path, changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        check_production(_settings(tmp_path, **changes))


def test_generated_secrets_are_refused_in_production(tmp_path: Path) -> None:
    # Writes var/secrets.json.
    development = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    production = _settings(
        tmp_path,
        SECRET_KEY=development.secret_key,
        LINK_SIGNING_KEYS=development.link_signing_keys,
    )
    with pytest.raises(ConfigurationError, match="generated SECRET_KEY"):
        ensure_secrets(production)
