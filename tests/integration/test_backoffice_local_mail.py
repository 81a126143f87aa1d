"""The back office's local mailbox: the e-mails `make run`'s SMTP server wrote, for admins only."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from forms_service.config import Settings
from forms_service.delivery.interfaces import EmailRendition, OutgoingEmail, Purpose, Sender
from forms_service.delivery.providers.filesink import EmailFileSink
from forms_service.runtime import Runtime
from tests.integration.reviewing import add_user, english_client, sign_in


def _write_mail(runtime: Runtime) -> str:
    settings: Settings = runtime.settings
    sink = EmailFileSink(settings)
    sink.send(
        OutgoingEmail(
            "m1",
            "claire.martin@example.com",
            EmailRendition(
                subject="Vos coordonnées <b>à confirmer</b>",
                text="Bonjour Claire,\n<script>alert(1)</script>\n",
                html="<p>Bonjour <script>alert(1)</script></p>",
                sender=Sender("Mutuelle Exemple", "service@mutuelle.example.org"),
                purpose=Purpose.SERVICE,
                locale="fr",
            ),
        )
    )
    [entry] = list(sink.mails.entries())
    return entry.file


def test_an_admin_reads_the_local_mailbox(app: Flask, runtime: Runtime) -> None:
    name = _write_mail(runtime)
    add_user(runtime, "admin1", ["admin"])
    client = english_client(app)
    assert sign_in(client, "admin1") == 303

    listing = client.get("/backoffice/dev/mail")
    assert listing.status_code == 200
    assert "claire.martin@example.com" in listing.text
    assert "Vos coordonnées &lt;b&gt;à confirmer&lt;/b&gt;" in listing.text

    page = client.get(f"/backoffice/dev/mail/{name}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    raw = client.get(f"/backoffice/dev/mail/{name}/raw")
    assert raw.status_code == 200 and raw.mimetype == "message/rfc822"
    assert b"Message-ID: <m1." in raw.data
    for unknown in ("index.jsonl", "..%2Fsecrets.json", "nothing.eml"):
        assert client.get(f"/backoffice/dev/mail/{unknown}").status_code == 404


def test_the_local_mailbox_is_for_admins_in_development_only(
    app: Flask, runtime: Runtime, client: FlaskClient
) -> None:
    name = _write_mail(runtime)
    assert client.get("/backoffice/dev/mail").status_code == 302  # to the login page
    add_user(runtime, "clerk1", ["clerk"])
    assert sign_in(client, "clerk1") == 303
    assert client.get("/backoffice/dev/mail").status_code == 403
    assert client.get(f"/backoffice/dev/mail/{name}/raw").status_code == 403
