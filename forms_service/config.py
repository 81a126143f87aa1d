"""Settings in one typed place: defaults, then an optional TOML file, then FORMS_* variables.

Every setting is a field of `Settings`: its default, type, meaning and check are declared
there; the README's configuration tables are rendered from those fields (make settings-table).
A layer replaces whole values (a FORMS_CONNECTORS replaces the file's connectors): the layers
are merged here and validated once, where pydantic-settings would deep-merge them.

Secrets that are not configured are generated on first run and kept in the var directory,
which is fine on a laptop and refused in production.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import re
import secrets
import tomllib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from forms_service.core.errors import ConfigurationError

DEMO_CRM_RECORD_TYPES: dict[str, Any] = {
    "customer": {
        "table": "customers",
        "key": "customer_no",
        "columns": {
            c: c
            for c in [
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
            ]
        },
    }
}

PREFIX = "FORMS_"
#: Variables of the FORMS_ prefix that are not settings: the file, and the test suite's own.
_NOT_SETTINGS = ("FORMS_CONFIG", "FORMS_TEST_")


def _setting(
    default: Any = ...,
    meaning: str = "",
    *,
    shown: str | None = None,
    production: str | None = None,
    secret: bool = False,
    **checks: Any,
) -> Any:
    """A field of `Settings`: `shown` is the default as documented, `production` its advice."""
    extra: dict[str, Any] = {k: v for k, v in (("shown", shown), ("production", production)) if v}
    return Field(default, description=meaning, repr=not secret, json_schema_extra=extra, **checks)


#: Flask-Limiter's global limits: web/extensions.py refuses them, since only views are checked.
_UNSUPPORTED = "not supported (only limits on views are checked): a value refuses the start"


class Settings(BaseModel):
    """The service's settings, built once per process (`load_settings`) and never changed.

    Attribute `x` is the setting `X`, the variable `FORMS_X` and the key `x` of the file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- the service ------------------------------------------------------------------------
    env: Literal["development", "production"] = _setting(
        "development",
        "`production` refuses to start with missing or generated secrets or unsafe settings",
        production="`production`",
    )
    var_dir: Path = _setting(
        Path("var"), "where the embedded default keeps its files", shown="`./var`"
    )
    database_url: str = _setting(
        meaning="the service database (any SQLAlchemy URL; PostgreSQL: `postgresql+psycopg://…`)",
        shown="`sqlite:///var/forms.sqlite`",
        production="`postgresql+psycopg://…` (connections are checked before use: a restarted "
        "database is reconnected by itself, requests meanwhile get a 503)",
    )
    file_store_dir: Path = _setting(meaning="uploaded and generated files", shown="`var/files`")
    definitions_dir: Path = _setting(Path("form_definitions"), "the form definitions")
    base_url: str = _setting(
        "http://127.0.0.1:5000",
        "the public address used in links (https in production)",
        production="the public `https://` origin",
    )
    secret_key: str = _setting(
        "",
        "sessions and CSRF (32+ characters)",
        shown="generated into `var/secrets.json`",
        production="generated once, kept secret "
        '(`python -c "import secrets; print(secrets.token_urlsafe(48))"`)',
        secret=True,
    )
    link_signing_keys: list[str] = _setting(
        [],
        'JSON list `["k2:secret…", "k1:secret…"]`: the first signs, all verify (key rotation)',
        shown="generated",
        production="generated once, kept secret, as a JSON list of `id:secret`",
        secret=True,
    )
    connectors: dict[str, dict[str, Any]] = _setting(
        meaning='JSON: `{"crm": {"type": "sql", "url": "…", "record_types": {"customer": '
        '{"table": "customers", "key": "customer_no", "columns": {"postcode": "zip_code", …}}}}}`',
        shown="the demo CRM",
        production="the source systems",
    )
    default_locale: Literal["fr", "en"] = _setting("fr", "`fr` or `en`")
    max_content_length: int = _setting(
        20 * 1024 * 1024, "customers' upload limit in bytes (the mailroom has its own)", ge=1
    )
    # -- customers' links -------------------------------------------------------------------
    challenge_max_failures: int = _setting(
        5, "wrong identity answers before a document is locked", ge=1
    )
    challenge_lock_minutes: int = _setting(30, "how long a document's first lock lasts", ge=1)
    challenge_long_lock_hours: int = _setting(
        6, "how long its next locks last (before the last one)", ge=1
    )
    challenge_max_locks: int = _setting(
        3, "the lock that lasts until an adviser unlocks the document (`unlock-identity`)", ge=1
    )
    identity_answer_key: str = _setting(
        "",
        "keys the digests of identity answers (HMAC-SHA256; 32+ characters): kept outside "
        "the database, so that a copy of it does not reveal birth dates",
        shown="generated into `var/secrets.json`",
        production="generated once, kept secret, never changed (documents issued with a key "
        "verify only with it)",
        secret=True,
    )
    # -- change sets and the outbox ---------------------------------------------------------
    auto_apply_min_confidence: float = _setting(
        0.9, "an evidence at least this confident may skip the clerk (auto fields)", ge=0, le=1
    )
    review_working_days: int = _setting(
        5,
        "working days within which a clerk checks an answer (what the customer's receipt says)",
        ge=1,
        le=60,
    )
    outbox_deliver_immediately: bool = _setting(
        True, "deliver a write-back right after approval (else only `outbox run` delivers)"
    )
    outbox_max_attempts: int = _setting(8, "delivery attempts before dead-lettering", ge=1)
    outbox_first_delay_seconds: float = _setting(
        30, "wait after the first failed delivery, doubled each attempt", ge=0
    )
    # -- jobs -------------------------------------------------------------------------------
    jobs_broker_url: str = _setting(
        "filesystem://",
        "the job broker (`filesystem://`: files under `var/jobs/`; `redis://…`, `amqp://…`)",
        production="`redis://…` (the job worker: `forms-service worker`)",
    )
    jobs_result_backend: str = _setting(
        meaning="Celery's result backend (results are not used)",
        shown="`db+sqlite:///var/jobs/results.sqlite`",
    )
    jobs_queue: str = _setting("forms_service", "the queue the jobs are sent to")
    jobs_eager: bool = _setting(False, "run jobs in the caller (tests, single process)")
    jobs_time_limit_seconds: float = _setting(
        300, "a job running longer has its pool process replaced", gt=0
    )
    jobs_poll_seconds: float = _setting(0.1, "polling interval of the `filesystem://` broker", gt=0)
    jobs_visibility_timeout_seconds: float = _setting(
        600, "Redis: a job not acknowledged (its worker died) comes back after this long", gt=0
    )
    jobs_restore_interval_seconds: float = _setting(
        10, "Redis: how often unacknowledged jobs are looked for", gt=0
    )
    jobs_redis_prefix: str = _setting("", "Redis: key prefix, so that several services share one")
    sweep_interval_seconds: float = _setting(
        60,
        "the workers' recovery sweep of scan pages and PDF returns whose job was lost (0: off)",
        production="`60`: the workers' recovery sweep of pages whose job was lost "
        "(docs/mailroom.md)",
        ge=0,
    )
    sweep_after_seconds: float = _setting(
        600,
        "what has waited this long is sent again by the sweep",
        production="`600`: pages waiting this long are sent again",
        ge=0,
    )
    # -- the mailroom and PDF returns -------------------------------------------------------
    ocr_engine: Literal["tesserocr", "pytesseract"] = _setting(
        "tesserocr", "`tesserocr` (the model stays loaded) or `pytesseract` (a process per box)"
    )
    mailroom_max_batch_bytes: int = _setting(
        500 * 1024 * 1024,
        "largest scan batch (all its files) the mailroom takes, in bytes: screen, API, CLI",
        ge=1,
    )
    scan_read_dpi: float = _setting(300, "resolution scanned pages are read at", gt=0)
    scan_review_threshold: float = _setting(
        0.99, "a scanned answer less confident than this goes to a clerk", ge=0, le=1
    )
    scan_blank_template: bool = _setting(
        True, "compare each scanned page with the blank form (ignores printed ink)"
    )
    pdf_max_pages: int = _setting(100, "a returned PDF with more pages is refused unread", ge=1)
    pdf_max_depth: int = _setting(64, "nesting of a returned PDF's objects", ge=1)
    pdf_max_fields: int = _setting(5000, "form fields and widgets of a returned PDF", ge=1)
    pdf_max_inflated_bytes: int = _setting(
        512 * 1024 * 1024, "what a returned PDF's compressed streams may expand to", ge=1
    )
    pdf_max_objects: int = _setting(
        100_000, "objects a returned PDF may declare (counted before it is read)", ge=1
    )
    pdf_max_objects_per_mb: int = _setting(
        40_000, "objects per MB of a returned PDF (a flood of empty ones is refused)", ge=1
    )
    pdf_max_padding_bytes: int = _setting(
        2 * 1024 * 1024, "bytes of a returned PDF outside its objects' data (comments)", ge=1
    )
    pdf_read_seconds: int = _setting(
        10, "CPU seconds the child reading a returned PDF may take (wall: 5 s more)", ge=1
    )
    pdf_read_memory_bytes: int = _setting(
        512 * 1024 * 1024, "memory the child reading a returned PDF may take", ge=1
    )
    # -- the back office --------------------------------------------------------------------
    backoffice_timezone: str = _setting(
        "Europe/Paris", 'the back office\'s "today" starts at midnight here; times shown here'
    )
    backoffice_idle_minutes: float = _setting(
        480, "a signed-in session idle this long is signed out", gt=0
    )
    backoffice_session_hours: float = _setting(
        12, "a signed-in session ends this long after sign-in, however active", gt=0
    )
    backoffice_session_bind_address: bool = _setting(
        False,
        "also end a session used from another address than its sign-in's (sessions are "
        "always bound to the browser; addresses change on mobile networks)",
    )
    login_max_failures: int = _setting(
        5, "wrong passwords from one client before it is locked out of that account", ge=1
    )
    login_lock_minutes: int = _setting(
        15, "how long a client stays locked out of that account", ge=1
    )
    login_account_max_failures: int = _setting(
        20, "wrong passwords from all clients before each try of the account waits", ge=1
    )
    login_backoff_max_seconds: int = _setting(
        300, "the longest wait between two tries of such an account (1 s, doubling)", ge=1
    )
    # -- rate limits (Flask-Limiter) --------------------------------------------------------
    ratelimit_enabled: bool = _setting(True, "rate limits on (tests turn them off)")
    ratelimit_storage_uri: str = _setting(
        "memory://",
        "rate-limit storage (`redis://…` with several processes)",
        production="`redis://…`, so that every web process counts together",
    )
    ratelimit_key_prefix: str = _setting("", "rate-limit storage key prefix")
    ratelimit_in_memory_fallback_enabled: bool = _setting(
        True, "storage down: count in each process's memory meanwhile rather than fail pages"
    )
    ratelimit_link: str = _setting("60 per minute", "per client, on link pages")
    ratelimit_challenge: str = _setting("10 per minute", "per client, on identity answers")
    ratelimit_upload: str = _setting("10 per minute", "per client, on PDF uploads")
    ratelimit_api_returns_token: str = _setting(
        "60 per minute", "per API token, on posted PDF returns"
    )
    ratelimit_api_returns_client: str = _setting(
        "60 per minute", "per client, on posted PDF returns (whatever the token)"
    )
    ratelimit_login: str = _setting("20 per minute", "per client, on back-office sign-ins")
    ratelimit_default: str = _setting("", _UNSUPPORTED)
    ratelimit_application: str = _setting("", _UNSUPPORTED)
    ratelimit_meta: str = _setting("", _UNSUPPORTED)
    ratelimit_in_memory_fallback: str = _setting("", _UNSUPPORTED)
    # -- Flask ------------------------------------------------------------------------------
    debug: bool = _setting(False, "Flask's debug mode (refused in production)")
    testing: bool = _setting(False, "Flask's testing mode")
    session_cookie_httponly: bool = _setting(True, "the session cookie is not readable by scripts")
    session_cookie_samesite: Literal["Strict", "Lax", "None"] = _setting(
        "Lax", "the session cookie's SameSite"
    )
    wtf_csrf_time_limit: int = _setting(8 * 3600, "seconds a form's CSRF token stays valid", ge=1)
    # -- processes, proxies, observability --------------------------------------------------
    processes: int = _setting(
        1,
        "web processes sharing the database (SQLite serves only one)",
        production="the number of web processes (gunicorn workers)",
        ge=1,
    )
    web_threads: int = _setting(
        4,
        "threads per gunicorn worker (`forms_service/web/gunicorn_conf.py`)",
        production="threads per gunicorn worker (default 4)",
        ge=1,
    )
    trusted_proxies: int = _setting(
        0,
        "TLS-terminating proxies in front whose `X-Forwarded-*` headers are trusted",
        production="`1` behind one TLS-terminating proxy: its `X-Forwarded-Proto/Host/For` are "
        "trusted (https scheme, HSTS, CSRF referrer check, rate limits per real client); leave "
        "`0` when clients reach gunicorn directly",
        ge=0,
    )
    metrics_token: str = _setting(
        "",
        "`/metrics` for a bearer of this token (empty: loopback only)",
        shown="none",
        production="optional: `/metrics` for a bearer of this token (else loopback only)",
        secret=True,
    )
    log_json: bool = _setting(False, "logs as JSON lines (always in production)")
    log_level: str = _setting("INFO", "`DEBUG`, `INFO`, `WARNING` or `ERROR`")
    # -- short links (issue 13: SMS and QR codes) ----------------------------------------
    short_link_base_url: str = _setting(
        "",
        "the origin of short links `…/r/<code>` in SMS and QR codes (empty: `BASE_URL`); a "
        "shorter host saves SMS characters",
        shown="`BASE_URL`",
        production="`BASE_URL`, or a short `https://` host routed to the service",
    )
    ratelimit_short_link: str = _setting("30 per minute", "per client, on short links `/r/…`")
    ratelimit_short_link_global: str = _setting(
        "6000 per minute",
        "all clients together, on short links `/r/…` and access codes typed at `/r` "
        "(enumeration cap)",
    )
    ratelimit_access_code: str = _setting(
        "10 per minute", "per client, on access codes typed at `/r` (issue 15)"
    )

    # -- delivery: sending, fallback, reminders (docs/delivery.md) ---------------------------
    delivery_max_attempts: int = _setting(
        6, "sends of a message tried on temporary failures before it is dead-lettered", ge=1
    )
    delivery_first_retry_seconds: float = _setting(
        60, "wait after a message's first temporary failure, doubled each attempt", ge=0
    )
    delivery_max_retry_seconds: float = _setting(
        3600, "the longest wait between two attempts of a message", ge=0
    )
    delivery_sending_timeout_seconds: float = _setting(
        600, "a send left unfinished this long (its worker died) is marked `unknown`", gt=0
    )
    delivery_requeue_after_seconds: float = _setting(
        600, "the sweep hands a message still queued this long to a job again", ge=0
    )
    delivery_batch_size: int = _setting(
        200, "messages a send job claims, reads and hands over on one provider session", ge=1
    )
    delivery_record_every: int = _setting(
        25,
        "messages of a send job taken and recorded in one transaction (a worker killed "
        "mid-job leaves at most twice this many `unknown`)",
        ge=1,
    )
    delivery_email_rate: float = _setting(
        20, "e-mails per second all workers together send (0: no limit)", ge=0
    )
    delivery_sms_rate: float = _setting(
        5, "SMS per second all workers together send (the gateway's limit; 0: none)", ge=0
    )
    delivery_sweep_interval_seconds: float = _setting(
        60, "the workers' delivery sweep: retries, stalled sends, reminders (0: off)", ge=0
    )
    delivery_hook_secret: str = _setting(
        "",
        "bearer secret of `/hooks/bounces` and key of the signed Kannel DLR URL "
        "(empty: the hooks refuse everything)",
        shown="none",
        production="a long random secret shared with the MTA pipe and Kannel's dlr-url",
        secret=True,
    )
    ratelimit_hooks: str = _setting("120 per minute", "per client, on provider webhooks")

    # -- outbound transport: SMTP, DKIM, Kannel (delivery/providers/) ----------------------
    email_provider: Literal["smtp", "file"] = _setting(
        "smtp",
        "`smtp`: the relay below (`make run` starts a local one writing var/mail/); "
        "`file`: .eml files under var/mail/ without a server",
    )
    smtp_host: str = _setting("127.0.0.1", "the SMTP relay e-mails are handed to")
    smtp_port: int = _setting(
        8025, "the relay's port (`make run`'s local server listens here)", ge=1, le=65535
    )
    smtp_security: Literal["none", "starttls", "tls"] = _setting(
        "none",
        "`starttls` (port 587), `tls` (implicit TLS, port 465) or `none` (local relay only)",
        production="`starttls` or `tls` unless the relay is on the same host",
    )
    smtp_ca_file: Path | None = _setting(
        None, "CA certificates to verify the relay with (else the system's)", shown="none"
    )
    smtp_username: str = _setting("", "the relay's login (empty: no AUTH)", shown="none")
    smtp_password: str = _setting("", "the relay's password", shown="none", secret=True)
    smtp_timeout: float = _setting(30.0, "seconds an SMTP connection or reply may take", gt=0)
    email_from: str = _setting(
        "forms@localhost",
        "the From address when a message's sender names none",
        production="an address of a domain with SPF/DKIM for this service",
    )
    email_bounce_address: str = _setting(
        "bounces@localhost",
        "bounces come back here: the envelope sender is `local+<message id>@domain` (VERP)",
        production="a mailbox whose mail is piped to the bounce webhook",
    )
    email_unsubscribe_mailbox: str = _setting(
        "",
        "the `mailto:` of List-Unsubscribe beside the https link (empty: the link only)",
        shown="none",
    )
    consent_unsubscribe_write_back: bool = _setting(
        True,
        "an unsubscribe or a clerk's consent change also writes the source's opt-in column "
        "(commercial consents), besides the consent ledger",
    )
    dkim_selector: str = _setting("", "DKIM selector (empty: no DKIM signature)", shown="none")
    dkim_domain: str = _setting("", "DKIM signing domain (d=)", shown="the From domain")
    dkim_private_key_path: Path | None = _setting(
        None, "PEM RSA private key of the DKIM selector", shown="none"
    )
    sms_provider: Literal["kannel", "file"] = _setting(
        "file",
        "`kannel`: the sendsms interface below; `file`: text files under var/sms/",
        production="`kannel`",
    )
    sms_default_region: str = _setting(
        "FR", "the country of phone numbers written without +country code"
    )
    kannel_sendsms_url: str = _setting(
        "http://127.0.0.1:13013/cgi-bin/sendsms", "Kannel smsbox's sendsms interface"
    )
    kannel_username: str = _setting("forms", "the sendsms-user's username")
    kannel_password: str = _setting("", "the sendsms-user's password", shown="none", secret=True)
    kannel_smsc: str = _setting("", "the smsc-id to route through (empty: Kannel chooses)")
    kannel_timeout: float = _setting(10.0, "seconds a sendsms request may take", gt=0)
    kannel_dlr_url: str = _setting(
        "",
        "where Kannel calls back with delivery reports",
        shown="`BASE_URL/hooks/kannel/dlr`",
    )
    kannel_dlr_secret: str = _setting(
        "",
        "signs the delivery-report URLs given to Kannel (32+ characters)",
        shown="derived from SECRET_KEY",
        production="generated once, kept secret (needed with `SMS_PROVIDER=kannel`)",
        secret=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        """Defaults under the var directory, unless given."""
        if not isinstance(data, dict):
            return data
        var_dir = Path(data.get("var_dir") or "var").resolve()
        derived = {
            "var_dir": var_dir,
            "database_url": f"sqlite:///{var_dir / 'forms.sqlite'}",
            "file_store_dir": var_dir / "files",
            "jobs_result_backend": f"db+sqlite:///{var_dir / 'jobs' / 'results.sqlite'}",
            "connectors": {
                "crm": {
                    "type": "sql",
                    "url": f"sqlite:///{var_dir / 'demo_crm.sqlite'}",
                    "record_types": DEMO_CRM_RECORD_TYPES,
                }
            },
        }
        return {**derived, **data}

    @field_validator("var_dir", "file_store_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("short_link_base_url")
    @classmethod
    def _short_origin(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("SHORT_LINK_BASE_URL must be an http:// or https:// address")
        return value.rstrip("/")

    @field_validator("base_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("BASE_URL must be an http:// or https:// address")
        return value

    @field_validator("secret_key", "identity_answer_key")
    @classmethod
    def _strong_secret(cls, value: str, info: ValidationInfo) -> str:
        if value and len(value) < 32:
            raise ValueError(f"{str(info.field_name).upper()} must be at least 32 characters")
        return value

    @field_validator("link_signing_keys", mode="before")
    @classmethod
    def _signing_keys(cls, keys: Any) -> Any:
        if isinstance(keys, str):
            raise ValueError('LINK_SIGNING_KEYS must be a JSON list: ["k2:secret", "k1:…"]')
        if not isinstance(keys, list):
            raise ValueError("LINK_SIGNING_KEYS must list at least one 'id:secret' key")
        for position, key in enumerate(keys, start=1):
            # issuing.tokens.SigningKey.parse reads the same (a test keeps them together); not
            # imported, so that every layer may read the settings. Never repeats the secret.
            key_id, _, secret = str(key).partition(":")
            if not re.fullmatch(r"[A-Za-z0-9]{1,16}", key_id) or len(secret) < 32:
                raise ValueError(
                    f"LINK_SIGNING_KEYS entry {position}: a link signing key reads 'id:secret', "
                    "secret of 32+ characters"
                )
        return [str(key) for key in keys]

    @field_validator("backoffice_timezone")
    @classmethod
    def _time_zone(cls, name: str) -> str:
        """Refuse a zone the time-zone database does not know (at start, not on a page)."""
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"BACKOFFICE_TIMEZONE={name!r} is not a time zone (example: Europe/Paris)"
            ) from None
        return name

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, level: Any) -> Any:
        name = str(level).upper()
        if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"LOG_LEVEL={level!r} is not DEBUG, INFO, WARNING or ERROR")
        return name

    @classmethod
    def of(cls, given: Settings | Mapping[str, Any]) -> Settings:
        """`given` itself, or the defaults with the mapping `given` (setting names) over them."""
        return given if isinstance(given, Settings) else load_settings({}, given)

    def keys(self) -> list[str]:
        """The setting names (upper case): with `settings[NAME]`, `{**settings, NAME: value}`."""
        return [name.upper() for name in type(self).model_fields]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in type(self).model_fields

    def __getitem__(self, name: str) -> Any:
        if name.lower() not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name.lower())

    def flask_config(self) -> dict[str, Any]:
        """Every setting by its upper-case name (paths as text), for Flask and its extensions."""
        return {
            name.upper(): str(value) if isinstance(value, Path) else value
            for name, value in self.model_dump().items()
        }


# -- loading ------------------------------------------------------------------------------


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the FORMS_CONFIG file, FORMS_* variables and `overrides` (names).

    Raises:
        ConfigurationError: an unreadable file, an unknown setting (a typo) or a wrong value,
            each named.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    unknown: list[str] = []
    config_file = environ.get("FORMS_CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                loaded = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read FORMS_CONFIG={config_file}: {exc}") from exc
        where = f" in FORMS_CONFIG={config_file}"
        values.update(_named(loaded.items(), unknown, lambda key: f"{key}{where}"))
    variables = [
        (name.removeprefix(PREFIX), value)
        for name, value in environ.items()
        # An empty variable is unset (compose's `${X:-}`), as it always was for the secrets.
        if name.startswith(PREFIX) and not name.startswith(_NOT_SETTINGS) and value != ""
    ]
    for key, value in _named(variables, unknown, lambda key: PREFIX + key.upper()).items():
        values[key] = value if _is_text(key) else _json_or_text(value)
    values.update(_named((overrides or {}).items(), unknown, str))
    if unknown:
        raise ConfigurationError("; ".join(unknown))
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError("; ".join(_problems(exc))) from None


def _named(
    items: Iterable[tuple[str, Any]], unknown: list[str], label: Callable[[str], str]
) -> dict[str, Any]:
    """`items` by field name; names that are no setting go to `unknown`, with a suggestion."""
    fields = Settings.model_fields
    named = {}
    for key, value in items:
        name = key.lower()
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f" (did you mean {label(close[0])}?)" if close else ""
            unknown.append(f"unknown setting {label(key)}{hint}")
        else:
            named[name] = value
    return named


def _is_text(name: str) -> bool:
    """Text settings keep a variable as written: a numeric SECRET_KEY stays text."""
    annotation = Settings.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return all(isinstance(choice, str) for choice in get_args(annotation))
    return annotation in (str, Path)


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _problems(error: ValidationError) -> list[str]:
    """One line per wrong setting, never echoing its value (it may be a secret)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        cause = (item.get("ctx") or {}).get("error")
        problems.append(str(cause) if isinstance(cause, ValueError) else f"{name}: {item['msg']}")
    return problems


# -- secrets and production ---------------------------------------------------------------

_SECRET_NAMES = ("secret_key", "link_signing_keys", "identity_answer_key")


def _generated(name: str) -> Any:
    """A new value of the secret setting `name` (its name in lower case)."""
    if name == "link_signing_keys":
        return [f"k1:{secrets.token_urlsafe(48)}"]
    return secrets.token_urlsafe(48)


def ensure_secrets(settings: Settings) -> Settings:
    """`settings` with missing secrets from var/secrets.json, creating it on first run.

    In production (ENV=production) a missing or generated secret is refused, and so are
    unsafe settings (`check_production`).
    """
    missing = [name for name in _SECRET_NAMES if not getattr(settings, name)]
    if settings.env == "production":
        if missing:
            raise ConfigurationError(
                "production mode needs " + " and ".join(f"FORMS_{m.upper()}" for m in missing)
            )
        generated = _read_generated(settings.var_dir)
        for name in _SECRET_NAMES:
            if generated and getattr(settings, name) == generated.get(name.upper()):
                raise ConfigurationError(
                    f"production mode refuses the generated {name.upper()}: "
                    f"set FORMS_{name.upper()}"
                )
        check_production(settings)
        return settings
    if not missing:
        return settings
    path = settings.var_dir / "secrets.json"
    stored = _read_generated(settings.var_dir)
    if stored is None:
        stored = {name.upper(): _generated(name) for name in _SECRET_NAMES}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    elif any(name.upper() not in stored for name in missing):
        # A file of an older version lacks a secret added since: added, the others kept.
        stored = {**{n.upper(): _generated(n) for n in missing}, **stored}
        fresh = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
        os.replace(fresh, path)
    try:
        return Settings.model_validate(
            {**settings.model_dump(), **{name: stored[name.upper()] for name in missing}}
        )
    except (KeyError, ValidationError) as exc:
        raise ConfigurationError(
            f"{path} holds no usable secrets: remove it to regenerate"
        ) from exc


def _read_generated(var_dir: Path) -> dict[str, Any] | None:
    path = var_dir / "secrets.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: remove it to regenerate") from exc
    return data if isinstance(data, dict) else None


def check_production(settings: Settings) -> None:
    """Refuse settings that are unsafe in production, naming each problem.

    Raises:
        ConfigurationError: debug mode, SQLite with several processes, no https origin, a
            guessable secret or one secret used for two keys.
    """
    problems = []
    if settings.debug or os.environ.get("FLASK_DEBUG") in ("1", "true"):
        problems.append("debug mode is on (unset FLASK_DEBUG / FORMS_DEBUG)")
    if settings.database_url.startswith("sqlite") and settings.processes > 1:
        problems.append(
            f"SQLite cannot serve {settings.processes} processes: "
            "set FORMS_DATABASE_URL to PostgreSQL"
        )
    if not settings.base_url.startswith("https://"):
        problems.append("FORMS_BASE_URL must be an https:// origin")
    if settings.short_link_base_url and not settings.short_link_base_url.startswith("https://"):
        problems.append("FORMS_SHORT_LINK_BASE_URL must be an https:// origin")
    if settings.sms_provider == "kannel":
        problems.extend(
            f"FORMS_KANNEL_{name} must be set with SMS_PROVIDER=kannel"
            for name, value in (
                ("PASSWORD", settings.kannel_password),
                ("DLR_SECRET", settings.kannel_dlr_secret),
            )
            if not value
        )
    problems.extend(_secret_problems(settings))
    if problems:
        raise ConfigurationError("production mode refuses to start: " + "; ".join(problems))


#: A secret estimated below this many bits is refused in production: a random token of 22
#: URL-safe or 32 hexadecimal characters has more.
_MIN_SECRET_BITS = 128
#: Fewer distinct characters than this is no random secret of 32 characters or more.
_MIN_DISTINCT = 6
#: The character classes a secret's alphabet is estimated from (anything else: punctuation).
_CLASSES = ((str.isdigit, 10), (str.islower, 26), (str.isupper, 26))
_OTHER_CLASS = 33


def _secret_problems(settings: Settings) -> list[str]:
    """Guessable secrets, and one secret used for two keys; never showing a secret."""
    named = [
        ("SECRET_KEY", settings.secret_key),
        ("IDENTITY_ANSWER_KEY", settings.identity_answer_key),
    ]
    named += [
        (f"LINK_SIGNING_KEYS entry {position}", key.partition(":")[2])
        for position, key in enumerate(settings.link_signing_keys, start=1)
    ]
    named.append(("KANNEL_DLR_SECRET", settings.kannel_dlr_secret))
    problems = [
        f"{name} is not random enough (about {bits:.0f} bits, {_MIN_SECRET_BITS} needed): "
        'generate it (`python -c "import secrets; print(secrets.token_urlsafe(48))"`)'
        for name, secret in named
        if secret and (bits := _estimated_bits(secret)) < _MIN_SECRET_BITS
    ]
    if settings.metrics_token:
        named.append(("METRICS_TOKEN", settings.metrics_token))
    first_use: dict[str, str] = {}
    for name, secret in named:
        if not secret:
            continue
        if secret in first_use:
            problems.append(
                f"{first_use[secret]} and {name} are the same secret: give each its own"
            )
        else:
            first_use[secret] = name
    return problems


def _estimated_bits(secret: str) -> float:
    """A generous estimate of a secret's entropy, in bits, that catches the usual mistakes.

    A repeated character or word counts only its first period, a run of evenly stepping
    characters (`abcdef`, `13579`) two characters; the alphabet is that of the character classes present (digits, lower and upper
    case letters, anything else); very few distinct characters count nothing.
    """
    if len(set(secret)) < _MIN_DISTINCT:
        return 0.0
    steps = [ord(after) - ord(before) for before, after in itertools.pairwise(secret)]
    length = min(_period(list(secret)), _period(steps) + 1, _without_runs(steps) + 1)
    alphabet = sum(size for test, size in _CLASSES if any(test(c) for c in secret))
    if any(not (c.isascii() and c.isalnum()) for c in secret):
        alphabet += _OTHER_CLASS
    return length * math.log2(alphabet)


def _without_runs(steps: list[int]) -> int:
    """How many `steps` remain when each run of 3+ equal steps (4+ characters) counts one."""
    remaining, start = len(steps), 0
    for end in range(1, len(steps) + 1):
        if end == len(steps) or steps[end] != steps[start]:
            if end - start >= 3:
                remaining -= end - start - 1
            start = end
    return remaining


def _period(items: list[Any]) -> int:
    """The length of the shortest prefix of `items` whose repetition gives all of them."""
    for period in range(1, len(items)):
        if all(items[i] == items[i - period] for i in range(period, len(items))):
            return period
    return len(items)
