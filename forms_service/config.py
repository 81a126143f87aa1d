"""Settings: defaults, then an optional TOML file, then FORMS_* environment variables.

Secrets that are not configured are generated on first run and kept in the var directory,
which is fine on a laptop and refused in production.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
import zoneinfo
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from forms_service.errors import ConfigurationError
from forms_service.issuing.tokens import SigningKey

DEMO_CRM_RECORD_TYPES: dict[str, Any] = {
    "customer": {
        "table": "customers",
        "key": "customer_no",
        "columns": {
            c: c
            for c in (
                "customer_no",
                "title",
                "first_name",
                "last_name",
                "address_line",
                "address_extra",
                "postcode",
                "city",
                "email",
                "phone",
                "iban",
                "bic",
                "account_holder",
                "birth_date",
                "consent_email",
                "consent_sms",
                "consent_post",
                "consent_partners",
                "sepa_mandate",
                "preferred_channel",
                "interests",
            )
        },
    }
}


def defaults(var_dir: Path) -> dict[str, Any]:
    """Settings that hold when nothing else is configured (the embedded default)."""
    return {
        "ENV": "development",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'forms.sqlite'}",
        "FILE_STORE_DIR": str(var_dir / "files"),
        "DEFINITIONS_DIR": "form_definitions",
        "BASE_URL": "http://127.0.0.1:5000",
        "DEFAULT_LOCALE": "fr",
        "CONNECTORS": {
            "crm": {
                "type": "sql",
                "url": f"sqlite:///{var_dir / 'demo_crm.sqlite'}",
                "record_types": DEMO_CRM_RECORD_TYPES,
            }
        },
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        # The back office's "today" (dashboard) starts at midnight here; times are shown here.
        "BACKOFFICE_TIMEZONE": "Europe/Paris",
        "CHALLENGE_MAX_FAILURES": 5,
        "CHALLENGE_LOCK_MINUTES": 30,
        # Change sets: an evidence at least this confident may skip the clerk (auto fields).
        "AUTO_APPLY_MIN_CONFIDENCE": 0.9,
        # Outbox: deliver right after approval (embedded default), retry with back-off.
        "OUTBOX_DELIVER_IMMEDIATELY": True,
        "OUTBOX_MAX_ATTEMPTS": 8,
        "OUTBOX_FIRST_DELAY_SECONDS": 30,
        # Every worker's recovery sweep (jobs/sweeps.py): every minute, it sends again scan
        # pages and PDF returns left waiting 10 minutes (a lost job message); 0: off.
        "SWEEP_INTERVAL_SECONDS": 60,
        "SWEEP_AFTER_SECONDS": 600,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Redis down: count in each process's memory meanwhile, rather than fail every page.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_LINK": "60 per minute",
        "RATELIMIT_CHALLENGE": "10 per minute",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
    }


_SECRET_NAMES = ("SECRET_KEY", "LINK_SIGNING_KEYS")


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge defaults, the FORMS_CONFIG file, FORMS_* variables and `overrides`."""
    environ = os.environ if environ is None else environ
    var_dir = Path(
        (overrides or {}).get("VAR_DIR") or environ.get("FORMS_VAR_DIR") or "var"
    ).resolve()
    settings = defaults(var_dir)
    config_file = environ.get("FORMS_CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                settings.update({k.upper(): v for k, v in tomllib.load(handle).items()})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read FORMS_CONFIG={config_file}: {exc}") from exc
    for name, value in environ.items():
        if name.startswith("FORMS_") and name != "FORMS_CONFIG":
            key = name.removeprefix("FORMS_")
            # Secrets are text even when they look like JSON (a numeric SECRET_KEY is a str).
            settings[key] = value if key.endswith(_TEXT_SUFFIXES) else _parse_env(value)
    settings.update(overrides or {})
    return settings


_TEXT_SUFFIXES = ("SECRET_KEY", "_TOKEN", "_PASSWORD", "_SECRET")


def _parse_env(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def check_time_zone(settings: Mapping[str, Any]) -> None:
    """Refuse a BACKOFFICE_TIMEZONE the time-zone database does not know (at start, not on a page)."""
    name = str(settings.get("BACKOFFICE_TIMEZONE", "Europe/Paris"))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"BACKOFFICE_TIMEZONE={name!r} is not a time zone (example: Europe/Paris)"
        ) from None


def ensure_secrets(settings: MutableMapping[str, Any]) -> None:
    """Fill missing secrets from var/secrets.json, creating it on first run.

    In production (ENV=production) a missing or generated secret is refused.
    """
    production = settings.get("ENV") == "production"
    missing = [name for name in _SECRET_NAMES if not settings.get(name)]
    if production:
        if missing:
            raise ConfigurationError(
                "production mode needs " + " and ".join(f"FORMS_{m}" for m in missing)
            )
        generated = _read_generated(Path(settings["VAR_DIR"]))
        for name in _SECRET_NAMES:
            if generated and settings[name] == generated.get(name):
                raise ConfigurationError(
                    f"production mode refuses the generated {name}: set FORMS_{name}"
                )
        _check_strength(settings)
        check_production(settings)
        return
    if not missing:
        _check_strength(settings)
        return
    path = Path(settings["VAR_DIR"]) / "secrets.json"
    stored = _read_generated(Path(settings["VAR_DIR"]))
    if stored is None:
        stored = {
            "SECRET_KEY": secrets.token_urlsafe(48),
            "LINK_SIGNING_KEYS": [f"k1:{secrets.token_urlsafe(48)}"],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    for name in missing:
        settings[name] = stored[name]
    _check_strength(settings)


def _read_generated(var_dir: Path) -> dict[str, Any] | None:
    path = var_dir / "secrets.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: remove it to regenerate") from exc
    return data if isinstance(data, dict) else None


def _check_strength(settings: Mapping[str, Any]) -> None:
    if len(str(settings["SECRET_KEY"])) < 32:
        raise ConfigurationError("SECRET_KEY must be at least 32 characters")
    keys = settings["LINK_SIGNING_KEYS"]
    if isinstance(keys, str):
        raise ConfigurationError('LINK_SIGNING_KEYS must be a JSON list: ["k2:secret", "k1:…"]')
    if not isinstance(keys, list) or not keys:
        raise ConfigurationError("LINK_SIGNING_KEYS must list at least one 'id:secret' key")
    for position, key in enumerate(keys, start=1):
        try:
            SigningKey.parse(str(key))
        except ValueError as exc:  # the message never repeats the secret
            raise ConfigurationError(f"LINK_SIGNING_KEYS entry {position}: {exc}") from None


def check_production(settings: Mapping[str, Any]) -> None:
    """Refuse settings that are unsafe in production, naming each problem.

    Raises:
        ConfigurationError: debug mode, SQLite with several processes, or no https origin.
    """
    problems = []
    if settings.get("DEBUG") or os.environ.get("FLASK_DEBUG") in ("1", "true"):
        problems.append("debug mode is on (unset FLASK_DEBUG / FORMS_DEBUG)")
    processes = int(settings.get("PROCESSES", 1) or 1)
    if str(settings.get("DATABASE_URL", "")).startswith("sqlite") and processes > 1:
        problems.append(
            f"SQLite cannot serve {processes} processes: set FORMS_DATABASE_URL to PostgreSQL"
        )
    if not str(settings.get("BASE_URL", "")).startswith("https://"):
        problems.append("FORMS_BASE_URL must be an https:// origin")
    if problems:
        raise ConfigurationError("production mode refuses to start: " + "; ".join(problems))
