"""Settings: defaults, file, FORMS_* variables; generated secrets; production refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from forms_service.config import ensure_secrets, load_settings
from forms_service.core.errors import ConfigurationError

STRONG = "qn-F2vOogB4aUc3xMqz1L_xs4k7huQHcGgnlWEww"
KEYS = [
    "k2:TmuILPYyHDTvJ50ZghJL-mMvuQj2hY6Hb-p_HrCH",
    "k1:LpJIzfgkaoKjsx0DC4FiBnh29QS60TSKsSNF00Fc",
]
ANSWER_KEY = "Vh2sK9_pWq4zXc7Lr0NbYt3FmGj8Ea1Ud6iOoSkPlQwe"


def test_embedded_defaults_live_under_the_var_directory(tmp_path: Path) -> None:
    settings = load_settings(environ={"FORMS_VAR_DIR": str(tmp_path)})
    assert settings.env == "development"
    assert settings.var_dir == tmp_path.resolve()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'forms.sqlite'}"
    assert settings.file_store_dir == tmp_path.resolve() / "files"
    assert settings.connectors["crm"]["url"].endswith("demo_crm.sqlite")
    assert settings.default_locale == "fr"
    assert settings.challenge_max_failures == 5


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
    assert settings.base_url == "https://forms.example.fr"  # file over default
    assert settings.challenge_max_failures == 4  # environment over file, JSON-typed
    assert settings.link_signing_keys == KEYS  # JSON lists
    assert settings.ratelimit_enabled is False
    assert settings.database_url == "sqlite://"  # overrides win
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
    assert settings.secret_key == "1" * 40
    assert settings.metrics_token == "1e5"
    assert settings.challenge_max_failures == 3


def test_environment_values_that_are_not_json_stay_text(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"FORMS_VAR_DIR": str(tmp_path), "FORMS_BASE_URL": "http://127.0.0.1:8000"}
    )
    assert settings.base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("content", [None, "base_url = [unclosed"])
def test_an_unreadable_config_file_is_a_clear_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "forms.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=f"cannot read FORMS_CONFIG={path}"):
        load_settings(environ={"FORMS_VAR_DIR": str(tmp_path), "FORMS_CONFIG": str(path)})


def test_secrets_are_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert first.link_signing_keys[0].startswith("k1:")
    second = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    assert second.secret_key == first.secret_key
    assert second.link_signing_keys == first.link_signing_keys
    other = ensure_secrets(
        load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path / "elsewhere")})
    )
    assert other.secret_key != first.secret_key


def test_configured_secrets_are_used_and_nothing_is_generated(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "VAR_DIR": str(tmp_path),
            "SECRET_KEY": STRONG,
            "LINK_SIGNING_KEYS": KEYS,
            "IDENTITY_ANSWER_KEY": ANSWER_KEY,
        },
    )
    settings = ensure_secrets(settings)
    assert settings.secret_key == STRONG
    assert not (tmp_path / "secrets.json").exists()


def test_a_secrets_file_of_an_older_version_gets_the_new_secret_added(tmp_path: Path) -> None:
    """var/secrets.json made before IDENTITY_ANSWER_KEY: the key is added, the others kept."""
    old = {"SECRET_KEY": STRONG, "LINK_SIGNING_KEYS": KEYS}
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(old))
    path.chmod(0o600)
    settings = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    assert (settings.secret_key, settings.link_signing_keys) == (STRONG, KEYS)
    stored = json.loads(path.read_text())
    assert stored["IDENTITY_ANSWER_KEY"] == settings.identity_answer_key
    assert len(settings.identity_answer_key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    assert again.identity_answer_key == settings.identity_answer_key


def test_only_the_missing_secret_is_filled(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), "SECRET_KEY": STRONG})
    settings = ensure_secrets(settings)
    assert settings.secret_key == STRONG
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert settings.link_signing_keys == stored["LINK_SIGNING_KEYS"]


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
    given = {"VAR_DIR": str(tmp_path), "SECRET_KEY": STRONG, "LINK_SIGNING_KEYS": KEYS}
    with pytest.raises(ConfigurationError, match=problem) as caught:  # refused on loading
        ensure_secrets(load_settings(environ={}, overrides={**given, **overrides}))
    assert "tooshort" not in str(caught.value)  # a secret is never echoed


# -- production mode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "FORMS_SECRET_KEY and FORMS_LINK_SIGNING_KEYS and FORMS_IDENTITY_ANSWER_KEY"),
        ({"SECRET_KEY": STRONG, "IDENTITY_ANSWER_KEY": ANSWER_KEY}, "FORMS_LINK_SIGNING_KEYS"),
        ({"LINK_SIGNING_KEYS": KEYS, "IDENTITY_ANSWER_KEY": ANSWER_KEY}, "FORMS_SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "LINK_SIGNING_KEYS": KEYS}, "FORMS_IDENTITY_ANSWER_KEY"),
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


@pytest.mark.parametrize("name", ["SECRET_KEY", "LINK_SIGNING_KEYS", "IDENTITY_ANSWER_KEY"])
def test_production_refuses_generated_secrets(tmp_path: Path, name: str) -> None:
    # A development run generated var/secrets.json.
    laptop = ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path)}))
    given = {
        "SECRET_KEY": STRONG,
        "LINK_SIGNING_KEYS": KEYS,
        "IDENTITY_ANSWER_KEY": ANSWER_KEY,
        name: laptop[name],
    }
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
        "FORMS_IDENTITY_ANSWER_KEY": ANSWER_KEY,
        "FORMS_VAR_DIR": str(tmp_path),
        "FORMS_BASE_URL": "https://forms.example.fr",
    }
    settings = ensure_secrets(load_settings(environ=environ))
    assert settings.secret_key == STRONG
    assert settings.link_signing_keys == KEYS


def test_production_still_checks_strength(tmp_path: Path) -> None:
    given = {
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 8,
        "LINK_SIGNING_KEYS": KEYS,
        "IDENTITY_ANSWER_KEY": ANSWER_KEY,
    }
    with pytest.raises(ConfigurationError, match="at least 32"):
        ensure_secrets(load_settings(environ={"FORMS_ENV": "production"}, overrides=given))


@pytest.mark.parametrize("name", ["Europe/Paris", "America/Martinique", "UTC"])
def test_a_known_back_office_time_zone_is_accepted(name: str) -> None:
    assert load_settings({}, {"BACKOFFICE_TIMEZONE": name}).backoffice_timezone == name


@pytest.mark.parametrize("name", ["Europe/Atlantis", "../etc/passwd", ""])
def test_an_unknown_back_office_time_zone_refuses_the_start_by_name(name: str) -> None:
    with pytest.raises(ConfigurationError, match="BACKOFFICE_TIMEZONE"):
        load_settings({}, {"BACKOFFICE_TIMEZONE": name})


# -- one typed object ---------------------------------------------------------------------


def test_settings_are_typed_attributes_and_cannot_change(tmp_path: Path) -> None:
    environ = {"FORMS_VAR_DIR": str(tmp_path), "FORMS_SWEEP_AFTER_SECONDS": "30"}
    settings = load_settings(environ=environ)
    assert settings.sweep_after_seconds == 30.0 and settings.jobs_eager is False
    assert settings["SWEEP_AFTER_SECONDS"] == 30.0  # the Flask-style name reads the same
    with pytest.raises(ValidationError):
        settings.jobs_eager = True
    assert settings.flask_config()["VAR_DIR"] == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("FORMS_DATABSE_URL", "did you mean FORMS_DATABASE_URL?"),
        ("FORMS_RATELIMIT_LINKS", "did you mean FORMS_RATELIMIT_LINK?"),
        ("FORMS_NOTHING_LIKE_IT", ""),
    ],
)
def test_an_unknown_variable_refuses_the_start_by_name(
    tmp_path: Path, name: str, suggestion: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"unknown setting {name}") as caught:
        load_settings(environ={"FORMS_VAR_DIR": str(tmp_path), name: "x"})
    assert suggestion in str(caught.value)


def test_unknown_file_keys_and_overrides_are_refused_too(tmp_path: Path) -> None:
    config = tmp_path / "forms.toml"
    config.write_text('base_ulr = "https://forms.example.fr"\n')
    with pytest.raises(ConfigurationError, match=f"base_ulr in FORMS_CONFIG={config}"):
        load_settings(environ={"FORMS_CONFIG": str(config)})
    with pytest.raises(ConfigurationError, match="unknown setting JOBS_EAGRE"):
        load_settings(environ={}, overrides={"JOBS_EAGRE": True})


def test_the_test_suites_own_variables_and_empty_ones_are_not_settings(tmp_path: Path) -> None:
    environ = {
        "FORMS_VAR_DIR": str(tmp_path),
        "FORMS_TEST_POSTGRES_URL": "postgresql://elsewhere",
        "FORMS_JOBS_BROKER_URL": "",
    }
    assert load_settings(environ=environ).jobs_broker_url == "filesystem://"


def test_a_wrong_value_is_named_without_echoing_it(tmp_path: Path) -> None:
    environ = {"FORMS_VAR_DIR": str(tmp_path), "FORMS_CHALLENGE_MAX_FAILURES": "lots"}
    with pytest.raises(ConfigurationError, match="CHALLENGE_MAX_FAILURES") as caught:
        load_settings(environ=environ)
    assert "lots" not in str(caught.value)
    cases: list[tuple[dict[str, object], str]] = [
        ({"ENV": "prod"}, "ENV"),
        ({"DEFAULT_LOCALE": "de"}, "DEFAULT_LOCALE"),
        ({"SWEEP_INTERVAL_SECONDS": -1}, "SWEEP_INTERVAL_SECONDS"),
        ({"BASE_URL": "forms.example.fr"}, "BASE_URL must be an http"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ]
    for overrides, problem in cases:
        with pytest.raises(ConfigurationError, match=problem):
            load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), **overrides})


def test_a_layer_replaces_a_whole_value_and_file_keys_may_be_upper_case(tmp_path: Path) -> None:
    config = tmp_path / "forms.toml"
    config.write_text(
        'CONNECTORS = {crm = {type = "sql", url = "sqlite:///file.sqlite", extra = 1}}\n'
    )
    crm = {"crm": {"type": "rest", "url": "https://crm.example"}}
    environ = {"FORMS_CONFIG": str(config), "FORMS_CONNECTORS": json.dumps(crm)}
    assert load_settings(environ=environ).connectors == crm  # not merged with the file's


def test_the_defaults_are_those_of_the_parts_they_configure() -> None:
    from forms_service.accounts.lockout import LockoutPolicy
    from forms_service.intake.mailroom.reading import ReadingSettings
    from forms_service.jobs.sweeps import SweepSettings
    from forms_service.pdfforms.guard import PdfLimits

    settings = load_settings(environ={})
    limits = PdfLimits()
    assert (limits.max_bytes, limits.max_pages, limits.max_depth) == (
        settings.max_content_length,
        settings.pdf_max_pages,
        settings.pdf_max_depth,
    )
    assert (limits.max_fields, limits.max_inflated_bytes) == (
        settings.pdf_max_fields,
        settings.pdf_max_inflated_bytes,
    )
    reading = ReadingSettings()
    assert (reading.dpi, reading.threshold) == (
        settings.scan_read_dpi,
        settings.scan_review_threshold,
    )
    assert SweepSettings() == SweepSettings.from_settings(settings)
    assert LockoutPolicy() == LockoutPolicy(
        settings.login_max_failures, settings.login_lock_minutes
    )


@pytest.mark.parametrize(
    "key", ["k1:" + "a" * 32, "k1:" + "a" * 31, ":" + "a" * 40, "k-1:" + "a" * 40, "a" * 40, ""]
)
def test_signing_keys_are_read_as_the_link_signer_reads_them(key: str) -> None:
    from forms_service.issuing.tokens import SigningKey

    try:
        SigningKey.parse(key)
    except ValueError:
        with pytest.raises(ConfigurationError, match="LINK_SIGNING_KEYS entry 1"):
            load_settings(environ={}, overrides={"LINK_SIGNING_KEYS": [key]})
    else:
        assert load_settings(environ={}, overrides={"LINK_SIGNING_KEYS": [key]})


def test_secrets_stay_out_of_the_settings_repr(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={"VAR_DIR": str(tmp_path), "SECRET_KEY": STRONG, "METRICS_TOKEN": "t" * 20},
    )
    assert STRONG not in repr(settings) and "t" * 20 not in repr(settings)
    assert "base_url=" in repr(settings)
