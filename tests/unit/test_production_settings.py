"""Production mode refuses unsafe settings, each problem named."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from forms_service.config import Settings, check_production, ensure_secrets, load_settings
from forms_service.core.errors import ConfigurationError

SAFE = {
    "ENV": "production",
    "SECRET_KEY": "HsFMlvFWWSNH8s4CEW4ngcE0mnLFEOx6x7G5HU_78uf4oL8R",
    "LINK_SIGNING_KEYS": ["k9:LpJIzfgkaoKjsx0DC4FiBnh29QS60TSKsSNF00Fc"],
    "IDENTITY_ANSWER_KEY": "t3Xq9vB0_rKwZp1yLm4N8sHdJf6GcAeU2oYiTl5QxVbR",
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
        ({"SHORT_LINK_BASE_URL": "http://hz.example"}, "FORMS_SHORT_LINK_BASE_URL must be"),
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


@pytest.mark.parametrize("spelling", ["Production", "PRODUCTION", " production", "prod", "live"])
def test_an_unknown_spelling_of_the_mode_refuses_the_start(tmp_path: Path, spelling: str) -> None:
    """Probe: FORMS_ENV=Production must not run development mode (generated secrets, no checks)."""
    environ = {"FORMS_ENV": spelling, "FORMS_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="ENV: Input should be 'development' or"):
        load_settings(environ=environ)
    assert not (tmp_path / "secrets.json").exists()


_GUESSABLE = [
    "s" * 48,  # one character
    "ab" * 24,  # a repeated pattern
    "correct-horse-" * 4,  # a repeated word
    "abcdefghijklmnopqrstuvwxyzABCDEF",  # a run
    "0123456789abcdef0123456789abcdef",  # a repeated run
    "10010110100101101001011001101001100101",  # two characters
    "12345678901234567890123456789012",  # 32 digits: 106 bits at most
]


@pytest.mark.parametrize("secret", _GUESSABLE)
@pytest.mark.parametrize("name", ["SECRET_KEY", "LINK_SIGNING_KEYS"])
def test_guessable_secrets_are_refused_in_production(
    tmp_path: Path, name: str, secret: str
) -> None:
    """Probe: SECRET_KEY='s' * 48 passed the 32-character check and signed sessions."""
    given = (
        {"SECRET_KEY": secret} if name == "SECRET_KEY" else {"LINK_SIGNING_KEYS": ["k1:" + secret]}
    )
    settings = _settings(tmp_path, **given)
    with pytest.raises(ConfigurationError, match="not random enough") as caught:
        check_production(settings)
    shown = str(caught.value)
    assert (name if name == "SECRET_KEY" else "LINK_SIGNING_KEYS entry 1") in shown
    assert secret not in shown and secret[:12] not in shown  # never echoed
    # On a laptop they are allowed: the test suites and the demo use such keys.
    ensure_secrets(load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), **given}))


def test_random_secrets_of_every_usual_shape_are_accepted(tmp_path: Path) -> None:
    for _ in range(200):
        for secret in (secrets.token_hex(16), secrets.token_urlsafe(24), secrets.token_urlsafe(48)):
            check_production(
                _settings(tmp_path, SECRET_KEY=secret, LINK_SIGNING_KEYS=[f"k1:{secret[::-1]}"])
            )


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        (
            {"LINK_SIGNING_KEYS": ["k2:" + str(SAFE["SECRET_KEY"])]},
            "SECRET_KEY and LINK_SIGNING_KEYS entry 1",
        ),
        (
            {"LINK_SIGNING_KEYS": ["k2:TmuILPYyHDTvJ50ZghJL-mMvuQj2hY6Hb-p_HrCH"] * 2},
            "LINK_SIGNING_KEYS entry 1 and LINK_SIGNING_KEYS entry 2",
        ),
        ({"METRICS_TOKEN": str(SAFE["SECRET_KEY"])}, "SECRET_KEY and METRICS_TOKEN"),
    ],
)
def test_one_secret_used_for_two_keys_is_refused_in_production(
    tmp_path: Path, changes: dict[str, object], names: str
) -> None:
    """Probe: the session key reused as the link signing key passed every check."""
    with pytest.raises(ConfigurationError, match=f"{names} are the same secret") as caught:
        check_production(_settings(tmp_path, **changes))
    assert str(SAFE["SECRET_KEY"]) not in str(caught.value)


def test_production_needs_its_own_strong_identity_answer_key(tmp_path: Path) -> None:
    """Issue 18: identity answers are keyed with a secret outside the database."""
    with pytest.raises(ConfigurationError, match="FORMS_IDENTITY_ANSWER_KEY"):
        ensure_secrets(_settings(tmp_path, IDENTITY_ANSWER_KEY=""))
    with pytest.raises(ConfigurationError, match="IDENTITY_ANSWER_KEY is not random enough"):
        check_production(_settings(tmp_path, IDENTITY_ANSWER_KEY="birthdate" * 4))
    with pytest.raises(ConfigurationError, match="SECRET_KEY and IDENTITY_ANSWER_KEY are the same"):
        check_production(_settings(tmp_path, IDENTITY_ANSWER_KEY=SAFE["SECRET_KEY"]))
