"""Settings: defaults, file, FORMS_* variables; generated secrets; production refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from forms_service.config import check_time_zone, ensure_secrets, load_settings
from forms_service.errors import ConfigurationError

STRONG = "s" * 48
KEYS = ["k2:" + "b" * 40, "k1:" + "a" * 40]


def test_embedded_defaults_live_under_the_var_directory(tmp_path: Path) -> None:
    settings = load_settings(environ={"FORMS_VAR_DIR": str(tmp_path)})
    assert settings["ENV"] == "development"
    assert settings["VAR_DIR"] == str(tmp_path.resolve())
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'forms.sqlite'}"
    assert settings["FILE_STORE_DIR"] == str(tmp_path.resolve() / "files")
    assert settings["CONNECTORS"]["crm"]["url"].endswith("demo_crm.sqlite")
    assert settings["DEFAULT_LOCALE"] == "fr"
    assert settings["CHALLENGE_MAX_FAILURES"] == 5


def test_precedence_defaults_then_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "forms.toml"
    config.write_text(
        'base_url = "https://forms.example.fr"\n'
        "challenge_max_failures = 3\n"
        'database_url = "postgresql+psycopg://db/forms"\n'
    )
    environ = {
        "FORMS_VAR_DIR": str(tmp_path),
        "FORMS_CONFIG": str(config),
        "FORMS_CHALLENGE_MAX_FAILURES": "4",
        "FORMS_LINK_SIGNING_KEYS": json.dumps(KEYS),
        "FORMS_RATELIMIT_ENABLED": "false",
        "OTHER_SETTING": "ignored",
    }
    settings = load_settings(environ=environ, overrides={"DATABASE_URL": "sqlite://"})
    assert settings["BASE_URL"] == "https://forms.example.fr"  # file over default
    assert settings["CHALLENGE_MAX_FAILURES"] == 4  # environment over file, JSON-typed
    assert settings["LINK_SIGNING_KEYS"] == KEYS  # JSON lists
    assert settings["RATELIMIT_ENABLED"] is False
    assert settings["DATABASE_URL"] == "sqlite://"  # overrides win
    assert "SETTING" not in settings and "CONFIG" not in settings


def test_secrets_stay_text_even_when_they_look_like_json(tmp_path: Path) -> None:
    # Regression: a numeric FORMS_SECRET_KEY became an int that sessions cannot sign with.
    environ = {
        "FORMS_VAR_DIR": str(tmp_path),
        "FORMS_SECRET_KEY": "1" * 40,
        "FORMS_METRICS_TOKEN": "1e5",
        "FORMS_CHALLENGE_MAX_FAILURES": "3",
    }
    settings = load_settings(environ=environ)
    assert settings["SECRET_KEY"] == "1" * 40
    assert settings["METRICS_TOKEN"] == "1e5"
    assert settings["CHALLENGE_MAX_FAILURES"] == 3


def test_environment_values_that_are_not_json_stay_text(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"FORMS_VAR_DIR": str(tmp_path), "FORMS_BASE_URL": "http://127.0.0.1:8000"}
    )
    assert settings["BASE_URL"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize("content", [None, "base_url = [unclosed"])
def test_an_unreadable_config_file_is_a_clear_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "forms.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=f"cannot read FORMS_CONFIG={path}"):
        load_settings(environ={"FORMS_VAR_DIR": str(tmp_path), "FORMS_CONFIG": str(path)})


def test_secrets_are_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)})
    ensure_secrets(first)
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first["SECRET_KEY"]) >= 32
    assert first["LINK_SIGNING_KEYS"][0].startswith("k1:")
    second = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)})
    ensure_secrets(second)
    assert second["SECRET_KEY"] == first["SECRET_KEY"]
    assert second["LINK_SIGNING_KEYS"] == first["LINK_SIGNING_KEYS"]
    other = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path / "elsewhere")})
    ensure_secrets(other)
    assert other["SECRET_KEY"] != first["SECRET_KEY"]


def test_configured_secrets_are_used_and_nothing_is_generated(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={"VAR_DIR": str(tmp_path), "SECRET_KEY": STRONG, "LINK_SIGNING_KEYS": KEYS},
    )
    ensure_secrets(settings)
    assert settings["SECRET_KEY"] == STRONG
    assert not (tmp_path / "secrets.json").exists()


def test_only_the_missing_secret_is_filled(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), "SECRET_KEY": STRONG})
    ensure_secrets(settings)
    assert settings["SECRET_KEY"] == STRONG
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert settings["LINK_SIGNING_KEYS"] == stored["LINK_SIGNING_KEYS"]


def test_a_corrupt_secrets_file_says_how_to_recover(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{not json")
    settings = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="remove it to regenerate"):
        ensure_secrets(settings)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"LINK_SIGNING_KEYS": "k1:" + "a" * 40}, "must be a JSON list"),
        ({"LINK_SIGNING_KEYS": [""]}, "entry 1"),
        ({"LINK_SIGNING_KEYS": ["k1:tooshort"]}, "entry 1"),
        ({"LINK_SIGNING_KEYS": [KEYS[0], "no-colon-" + "a" * 40]}, "entry 2"),
    ],
)
def test_weak_or_malformed_secrets_are_refused(
    tmp_path: Path, overrides: dict[str, object], problem: str
) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "VAR_DIR": str(tmp_path),
            "SECRET_KEY": STRONG,
            "LINK_SIGNING_KEYS": KEYS,
            **overrides,
        },
    )
    with pytest.raises(ConfigurationError, match=problem) as caught:
        ensure_secrets(settings)
    assert "tooshort" not in str(caught.value)  # a secret is never echoed


# -- production mode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "FORMS_SECRET_KEY and FORMS_LINK_SIGNING_KEYS"),
        ({"SECRET_KEY": STRONG}, "FORMS_LINK_SIGNING_KEYS"),
        ({"LINK_SIGNING_KEYS": KEYS}, "FORMS_SECRET_KEY"),
    ],
)
def test_production_refuses_missing_secrets(
    tmp_path: Path, given: dict[str, object], missing: str
) -> None:
    settings = load_settings(
        environ={"FORMS_ENV": "production"}, overrides={"VAR_DIR": str(tmp_path), **given}
    )
    with pytest.raises(ConfigurationError, match=f"production mode needs {missing}$"):
        ensure_secrets(settings)
    assert not (tmp_path / "secrets.json").exists()  # nothing generated in production


@pytest.mark.parametrize("name", ["SECRET_KEY", "LINK_SIGNING_KEYS"])
def test_production_refuses_generated_secrets(tmp_path: Path, name: str) -> None:
    laptop = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)})
    ensure_secrets(laptop)  # a development run generated var/secrets.json
    given = {"SECRET_KEY": STRONG, "LINK_SIGNING_KEYS": KEYS, name: laptop[name]}
    settings = load_settings(
        environ={"FORMS_ENV": "production"}, overrides={"VAR_DIR": str(tmp_path), **given}
    )
    with pytest.raises(ConfigurationError, match=f"refuses the generated {name}"):
        ensure_secrets(settings)


def test_production_starts_with_configured_strong_secrets(tmp_path: Path) -> None:
    environ = {
        "FORMS_ENV": "production",
        "FORMS_SECRET_KEY": STRONG,
        "FORMS_LINK_SIGNING_KEYS": json.dumps(KEYS),
        "FORMS_VAR_DIR": str(tmp_path),
        "FORMS_BASE_URL": "https://forms.example.fr",
    }
    settings = load_settings(environ=environ)
    ensure_secrets(settings)
    assert settings["SECRET_KEY"] == STRONG
    assert settings["LINK_SIGNING_KEYS"] == KEYS


def test_production_still_checks_strength(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"FORMS_ENV": "production"},
        overrides={"VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 8, "LINK_SIGNING_KEYS": KEYS},
    )
    with pytest.raises(ConfigurationError, match="at least 32"):
        ensure_secrets(settings)


@pytest.mark.parametrize("name", ["Europe/Paris", "America/Martinique", "UTC"])
def test_a_known_back_office_time_zone_is_accepted(name: str) -> None:
    check_time_zone({"BACKOFFICE_TIMEZONE": name})


@pytest.mark.parametrize("name", ["Europe/Atlantis", "../etc/passwd", ""])
def test_an_unknown_back_office_time_zone_refuses_the_start_by_name(name: str) -> None:
    with pytest.raises(ConfigurationError, match="BACKOFFICE_TIMEZONE"):
        check_time_zone({"BACKOFFICE_TIMEZONE": name})
