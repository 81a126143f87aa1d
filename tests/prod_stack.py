"""The `make prod-local` stack for tests and benchmarks: start it, talk to it as its proxy, stop it.

The stack serves plain HTTP on 127.0.0.1 as it would behind a TLS-terminating proxy. This
client plays that proxy's part: it sends X-Forwarded-Proto/Host/For, and it forwards the
session cookie the service marks Secure (a browser sends it to the proxy over https).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import redis
import requests
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod-local.sh"
PUBLIC_HOST = "forms.localhost"
PUBLIC_ORIGIN = f"https://{PUBLIC_HOST}"
_HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|base|version)"[^>]*value="([^"]*)"')


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def hidden(page: str) -> dict[str, str]:
    """The CSRF token, signed base and version of a rendered form."""
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def contact_answer(
    fields: Mapping[str, str], record: Mapping[str, Any], **changes: str
) -> dict[str, str]:
    """What a browser posts for the contact-update form: the values shown, with `changes`.

    Args:
        fields: the hidden fields of the rendered form (CSRF token, signed base).
        record: the customer's CRM row (what the form shows).
        changes: the fields the customer changed, by name.
    """
    return {
        "csrf_token": fields["csrf_token"],
        "base": fields["base"],
        "address_line": record["address_line"],
        "address_extra": record["address_extra"] or "",
        "postcode": record["postcode"],
        "city": record["city"],
        "email": record["email"],
        "phone": record["phone"],
        **changes,
    }


def moving_to_nantes(fields: Mapping[str, str], record: Mapping[str, Any]) -> dict[str, str]:
    """A contact-update answer that moves the customer to Nantes, keeping the rest as shown.

    Args:
        fields: the hidden fields of the rendered form (CSRF token, signed base).
        record: the customer's CRM row.
    """
    return contact_answer(
        fields, record, address_line="3 place du Marché", postcode="44000", city="Nantes"
    )


@dataclass
class Stack:
    """A running prod-local stack."""

    process: subprocess.Popen[bytes]
    state: Path
    port: int
    admin_url: str
    database: str
    redis_url: str
    prefix: str
    log: Path
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where gunicorn listens (the proxy's upstream)."""
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> dict[str, str]:
        """The demo accounts and API token the stack created."""
        found: dict[str, str] = json.loads((self.state / "demo-credentials.json").read_text())
        return found

    def client(self, client_address: str = "198.51.100.7") -> Client:
        """An HTTP client coming through the proxy from `client_address`."""
        return Client(self, client_address)

    def crm(self) -> psycopg.Connection[Any]:
        """A connection to the demo CRM database (autocommit)."""
        return psycopg.connect(_dsn(self.admin_url, f"{self.database}_crm"), autocommit=True)

    def service_db(self) -> psycopg.Connection[Any]:
        """A connection to the service database (autocommit)."""
        return psycopg.connect(_dsn(self.admin_url, self.database), autocommit=True)

    def gunicorn_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes now."""
        master = int((self.state / "gunicorn.pid").read_text())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]

    def job_worker(self) -> int:
        """The pid of the job worker's main process (a new one after a restart)."""
        return int((self.state / "worker.pid").read_text())

    def job_worker_children(self) -> list[int]:
        """The pids of the job worker's pool processes now."""
        main = self.job_worker()
        return [int(pid) for pid in Path(f"/proc/{main}/task/{main}/children").read_text().split()]


def _dsn(admin_url: str, database: str) -> str:
    url = make_url(admin_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


@contextmanager
def prod_local(
    tmp: Path,
    *,
    admin_url: str,
    redis_url: str,
    workers: int = 2,
    customers: int = 60,
    extra_env: Mapping[str, str] | None = None,
    ready_timeout: float = 150,
) -> Iterator[Stack]:
    """Start scripts/prod-local.sh in its own state directory and databases; stop it after.

    `extra_env` adds PROD_LOCAL_* and FORMS_* settings (the FORMS_* of this process are not
    passed on).
    """
    token = secrets.token_hex(4)
    state = tmp / "prod-local"
    port = free_port()
    database = f"forms_pl_{token}"
    prefix = f"forms-pl-{token}:"
    # The stack's settings are the script's and `extra_env`'s, not the caller's FORMS_*.
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("FORMS_")}
    env = {
        **inherited,
        "PROD_LOCAL_VAR": str(state),
        "PROD_LOCAL_PORT": str(port),
        "PROD_LOCAL_WORKERS": str(workers),
        "PROD_LOCAL_POSTGRES": _dsn(admin_url, make_url(admin_url).database or "postgres"),
        "PROD_LOCAL_DB": database,
        "PROD_LOCAL_REDIS": redis_url,
        "PROD_LOCAL_PREFIX": prefix,
        "PROD_LOCAL_BASE_URL": PUBLIC_ORIGIN,
        "PROD_LOCAL_CUSTOMERS": str(customers),
        **(extra_env or {}),
    }
    log = tmp / "prod-local.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(SCRIPT)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(
        process, state, port, env["PROD_LOCAL_POSTGRES"], database, redis_url, prefix, log
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while not (state / "ready").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prod-local did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield stack
    finally:
        stop(stack)
        _drop(stack)


def stop(stack: Stack, timeout: float = 40) -> None:
    """SIGTERM the script (it stops its processes), then SIGKILL its group if it lingers."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            stack.process.wait(timeout)
    with suppress(ProcessLookupError):  # anything left in the script's session goes
        os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait(10)


def _drop(stack: Stack) -> None:
    try:
        with psycopg.connect(stack.admin_url, autocommit=True) as admin:
            for name in (stack.database, f"{stack.database}_crm"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # a private server already stopped: its directory goes with tmp
    try:
        store = redis.Redis.from_url(stack.redis_url)
        keys = list(store.scan_iter(match=f"*{stack.prefix}*", count=500))
        if keys:
            store.delete(*keys)
        store.close()
    except redis.RedisError:
        pass


class Client:
    """requests through the TLS proxy's eyes: forwarded headers, Secure cookies passed on."""

    def __init__(self, stack: Stack, client_address: str) -> None:
        self.stack = stack
        self.http = requests.Session()
        self.http.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": PUBLIC_HOST,
                "X-Forwarded-For": client_address,
            }
        )

    def get(self, path: str, **options: Any) -> requests.Response:
        """GET `path` (a path or a public https link)."""
        headers = self._cookies(options.pop("headers", {}))
        return self.http.get(
            self._url(path), allow_redirects=False, timeout=30, headers=headers, **options
        )

    def _cookies(self, headers: Mapping[str, str]) -> dict[str, str]:
        # The proxy receives the Secure cookies over https and forwards them over loopback,
        # which requests' jar would not do by itself (http is not a secure protocol).
        jar = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        return {**headers, **({"Cookie": jar} if jar else {})}

    def post(self, path: str, *, referer: str | None = None, **options: Any) -> requests.Response:
        """POST to `path`; `referer` is the page the form was on (same-origin policy)."""
        headers = self._cookies(options.pop("headers", {}))
        if referer is not None:
            headers["Referer"] = PUBLIC_ORIGIN + self._path(referer)
        return self.http.post(
            self._url(path), allow_redirects=False, timeout=30, headers=headers, **options
        )

    def _path(self, path: str) -> str:
        return path.removeprefix(PUBLIC_ORIGIN)

    def _url(self, path: str) -> str:
        return self.stack.url + self._path(path)

    # -- the product's steps ------------------------------------------------------------------

    def issue(self, token: str, form: str, keys: list[str], campaign: str) -> list[dict[str, Any]]:
        """Issue `form` to `keys` through the API; the issued documents."""
        response = self.post(
            "/api/v1/documents",
            json={"form": form, "keys": keys, "campaign": campaign},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 201:
            raise AssertionError(f"issue: {response.status_code} {response.text[:300]}")
        documents: list[dict[str, Any]] = response.json()["documents"]
        return documents

    def pass_challenge(self, link: str, birth_date: dt.date) -> requests.Response:
        """Open the link and answer the identity question."""
        page = self.get(link)
        if page.status_code != 200:
            return page
        return self.pass_challenge_from(link, page.text, birth_date)

    def pass_challenge_from(self, link: str, page: str, birth_date: dt.date) -> requests.Response:
        """Answer the identity question shown on `page`."""
        return self.post(
            f"{link}/challenge",
            referer=link,
            data={
                "csrf_token": hidden(page)["csrf_token"],
                "birth_date": birth_date.strftime("%d/%m/%Y"),
            },
        )

    def submit_contact(
        self, link: str, record: Mapping[str, Any], **changes: str
    ) -> requests.Response:
        """Open the prefilled form and submit it with `changes`."""
        page = self.get(link)
        if page.status_code != 200:
            return page
        return self.submit_contact_from(link, page.text, record, **changes)

    def submit_contact_from(
        self, link: str, page: str, record: Mapping[str, Any], **changes: str
    ) -> requests.Response:
        """Submit the contact-update form shown on `page` with `changes`."""
        return self.submit_answer(link, contact_answer(hidden(page), record, **changes))

    def submit_answer(self, link: str, answer: Mapping[str, str]) -> requests.Response:
        """POST an answer prepared from the form page (`contact_answer`, `moving_to_nantes`)."""
        return self.post(link, referer=link, data=answer)

    def submit_consents(self, link: str) -> requests.Response:
        """Open a consent-preferences form (no identity question) and submit a fixed answer."""
        page = self.get(link)
        if page.status_code != 200:
            return page
        fields = hidden(page.text)
        data = {
            "csrf_token": fields["csrf_token"],
            "base": fields["base"],
            "consent_email": "y",
            "consent_sms": "y",
            "preferred_channel": "post",
            "interests": ["savings", "credit"],
        }
        return self.post(link, referer=link, data=data)

    def sign_in(self, username: str, password: str) -> requests.Response:
        """Sign in to the back office with the login page's CSRF token."""
        page = self.get("/backoffice/login")
        return self.post(
            "/backoffice/login",
            referer="/backoffice/login",
            data={
                "csrf_token": hidden(page.text)["csrf_token"],
                "username": username,
                "password": password,
            },
        )

    def approve(self, change_set_id: str) -> requests.Response:
        """Approve every waiting field of a change set from its back-office page."""
        path = f"/backoffice/change-sets/{change_set_id}"
        page = self.get(path)
        if page.status_code != 200:
            return page
        return self.approve_from(path, page.text)

    def approve_from(self, path: str, page: str) -> requests.Response:
        """Approve with the CSRF token and version of the change-set `page` at `path`."""
        fields = hidden(page)
        return self.post(
            f"{path}/approve",
            referer=path,
            data={"csrf_token": fields["csrf_token"], "version": fields["version"]},
        )


def scan_runtime(stack: Stack) -> Any:
    """What tests.mailroom_scans needs of a runtime: the definitions, the stack's keys and
    the layout versions the service prints with."""
    from forms_service.config import DEMO_CRM_RECORD_TYPES
    from forms_service.definitions.service import load_definitions
    from forms_service.issuing.layout import LAYOUTS
    from forms_service.issuing.tokens import LinkSigner, SigningKey

    keys: list[str] = []
    for line in (stack.state / "prod.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "FORMS_LINK_SIGNING_KEYS":
            keys = json.loads(shlex.split(value)[0])
    definitions = load_definitions(
        ROOT / "form_definitions", connectors={"crm": DEMO_CRM_RECORD_TYPES}
    )
    return SimpleNamespace(
        definitions=definitions,
        signer=LinkSigner([SigningKey.parse(k) for k in keys]),
        issuing=SimpleNamespace(layouts=LAYOUTS),
    )


def crm_records(stack: Stack, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Customers of the demo CRM by key, read straight from its database in one statement."""
    with stack.crm() as connection, connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            "SELECT * FROM customers WHERE customer_no = ANY(%s)", (keys,)
        ).fetchall()
    found = {str(row["customer_no"]): dict(row) for row in rows}
    missing = [key for key in keys if key not in found]
    if missing:
        raise KeyError(missing[0])
    return found


def crm_record(stack: Stack, key: str) -> dict[str, Any]:
    """One customer of the demo CRM, read straight from its database."""
    with stack.crm() as connection, connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute("SELECT * FROM customers WHERE customer_no = %s", (key,)).fetchone()
    if row is None:
        raise KeyError(key)
    return dict(row)
