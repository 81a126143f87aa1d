"""Create the demo CRM (Faker fr_FR), the demo accounts and a few demo documents."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Engine,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)

from forms_service.accounts.service import create_api_token, create_user
from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import Conflict
from forms_service.runtime import Runtime
from forms_service.storage.service import make_engine

DEMO_FORMS = ("contact-update", "bank-details", "consent-preferences")


def customers_table(metadata: MetaData) -> Table:
    """The demo CRM's customers table."""
    return Table(
        "customers",
        metadata,
        Column("customer_no", String(16), primary_key=True),
        Column("title", String(8)),
        Column("first_name", String(64)),
        Column("last_name", String(64)),
        Column("address_line", String(128)),
        Column("address_extra", String(128)),
        Column("postcode", String(10)),
        Column("city", String(64)),
        Column("email", String(254)),
        Column("phone", String(32)),
        Column("iban", String(40)),
        Column("bic", String(11)),
        Column("account_holder", String(128)),
        Column("birth_date", Date),
        Column("consent_email", Boolean),
        Column("consent_sms", Boolean),
        Column("consent_post", Boolean),
        Column("consent_partners", Boolean),
        Column("sepa_mandate", Boolean),
        Column("preferred_channel", String(16)),
        Column("interests", String(128)),
    )


def fake_customers(count: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    """Deterministic French customers, with the untidy formats real CRMs hold."""
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    interests = ("savings", "insurance", "credit", "retirement")
    for number in range(1, count + 1):
        male = rng.random() < 0.5
        first = fake.first_name_male() if male else fake.first_name_female()
        last = fake.last_name()
        department = rng.choice([*range(1, 20), *range(21, 96)])
        mobile = _french_mobile(rng)
        phone = (
            " ".join(mobile[i : i + 2] for i in range(0, 10, 2)) if rng.random() < 0.7 else mobile
        )
        yield {
            "customer_no": f"C{number:06d}",
            "title": "M." if male else "Mme",
            "first_name": first,
            "last_name": last,
            "address_line": fake.street_address(),
            "address_extra": (
                f"Bâtiment {rng.choice('ABCDE')}, {rng.randrange(1, 9)}e étage"
                if rng.random() < 0.2
                else None
            ),
            "postcode": f"{department:02d}{rng.randrange(1000):03d}",
            "city": fake.city(),
            "email": f"{_ascii(first)}.{_ascii(last)}@{fake.free_email_domain()}".lower(),
            "phone": phone,
            "iban": fake.iban(),
            "bic": fake.swift(length=11),
            "account_holder": f"{first} {last}",
            "birth_date": fake.date_of_birth(minimum_age=18, maximum_age=90),
            "consent_email": rng.random() < 0.6,
            "consent_sms": rng.random() < 0.3,
            "consent_post": rng.random() < 0.8,
            "consent_partners": rng.random() < 0.1,
            "sepa_mandate": rng.random() < 0.5,
            "preferred_channel": rng.choice(("email", "sms", "post")),
            "interests": ",".join(i for i in interests if rng.random() < 0.3),
        }


def _french_mobile(rng: random.Random) -> str:
    """A valid metropolitan mobile number: prefilled values must pass the form's own checks."""
    while True:
        mobile = f"0{rng.choice('67')}{rng.randrange(10**8):08d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(mobile, "FR")):
            return mobile


def _ascii(name: str) -> str:
    """A name as e-mail providers accept it in an address: no accents, spaces or quotes."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.replace(" ", "-").replace("'", "")


def create_demo_crm(url: str, count: int = 1200) -> int:
    """Create and fill the demo CRM when it is empty; return the number of customers."""
    engine: Engine = make_engine(url)
    metadata = MetaData()
    table = customers_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as connection:
        existing = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if existing:
            return int(existing)
        batch: list[dict[str, Any]] = []
        for row in fake_customers(count):
            batch.append(row)
            if len(batch) == 500:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
    engine.dispose()
    return count


@dataclass(frozen=True)
class DemoCredentials:
    """What `make run` prints so that a newcomer can log in and call the API."""

    clerk_user: str
    clerk_password: str
    supervisor_user: str
    supervisor_password: str
    api_token: str
    mailroom_user: str = "mailroom"
    mailroom_password: str = ""
    #: Reads the local mailbox (/backoffice/dev/mail) and manages accounts.
    admin_user: str = "admin"
    admin_password: str = ""


def ensure_demo_accounts(runtime: Runtime) -> DemoCredentials:
    """Create the demo clerk, supervisor, mailroom, admin and API token once (secrets in var/).

    A credentials file of an older demo (without the mailroom or admin user) is completed.
    """
    path = runtime.settings.var_dir / "demo-credentials.json"
    stored = json.loads(path.read_text()) if path.is_file() else {}
    if stored.get("mailroom_password") and stored.get("admin_password"):
        return DemoCredentials(**stored)
    now = dt.datetime.now(dt.UTC)
    credentials = DemoCredentials(
        clerk_user="clerk",
        clerk_password=stored.get("clerk_password") or secrets.token_urlsafe(12),
        supervisor_user="supervisor",
        supervisor_password=stored.get("supervisor_password") or secrets.token_urlsafe(12),
        api_token=stored.get("api_token", ""),
        mailroom_password=stored.get("mailroom_password") or secrets.token_urlsafe(12),
        admin_password=secrets.token_urlsafe(12),
    )
    with runtime.sessions() as session, session.begin():
        for user, password, roles in (
            (credentials.clerk_user, credentials.clerk_password, ["clerk"]),
            (credentials.supervisor_user, credentials.supervisor_password, ["clerk", "supervisor"]),
            (credentials.mailroom_user, credentials.mailroom_password, ["mailroom"]),
            (credentials.admin_user, credentials.admin_password, ["admin"]),
        ):
            with contextlib.suppress(Conflict):
                create_user(session, user, password, roles, now=now)
        # Owned by the mailroom user: a token is always somebody's (it decides nothing).
        token = credentials.api_token or create_api_token(
            session,
            f"demo-{secrets.token_hex(3)}",
            ["integration", "mailroom"],
            now=now,
            owner=credentials.mailroom_user,
        )
    credentials = DemoCredentials(**{**vars(credentials), "api_token": token})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(vars(credentials), handle, indent=2)
    return credentials


def demo_links(runtime: Runtime, per_form: int = 3) -> list[tuple[str, str, str]]:
    """Issue each demo form to the first customers (campaign "demo"): (form, key, link)."""
    links = []
    for form_id in DEMO_FORMS:
        if form_id not in runtime.definitions:
            continue
        keys = tuple(f"C{n:06d}" for n in range(1, per_form + 1))
        for issued in runtime.issuing.issue(form_id, Selection(keys=keys), "demo", actor="demo"):
            links.append((form_id, issued.key, issued.link))
    return links


def demo_letters(runtime: Runtime, directory: Path) -> list[Path]:
    """Print the demo documents of C000001 as PDF letters (fillable, or to print and scan)."""
    from sqlalchemy import select

    from forms_service.storage.model import Document

    directory.mkdir(parents=True, exist_ok=True)
    printer = runtime.printer
    written = []
    # Read first, render after: rendering opens sessions of its own, and on SQLite an open
    # (immediate) transaction here would lock them out.
    with runtime.sessions() as session:
        documents = list(
            session.execute(
                select(Document).where(
                    Document.campaign == "demo", Document.record_key == "C000001"
                )
            ).scalars()
        )
        session.expunge_all()
    for document in documents:
        path = directory / f"{document.form_id}-{document.record_key}.pdf"
        if not path.exists():
            path.write_bytes(printer.render(document))
        written.append(path)
    return sorted(written)
