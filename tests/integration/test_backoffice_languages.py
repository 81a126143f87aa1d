"""The back office in French and English: chosen per user, stored, switched on the page.

Every page is rendered in both languages and its visible text (and the labels read aloud)
compared with the catalogue: a French page shows no English text of the catalogue and an
English page no French one. The templates hold no text of their own.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.runtime import Runtime
from forms_service.storage.model import ChangeSet, User
from forms_service.web.formatting import format_datetime
from tests.catalogues import messages, translated
from tests.conftest import hidden_fields
from tests.integration.reviewing import PASSWORD, add_user, answer, csrf_of

TEMPLATES = Path(__file__).resolve().parents[2] / "forms_service" / "web" / "templates"
FORM = "contact-update"


class _Text(HTMLParser):
    """The text a reader sees or hears: text nodes, and labels, titles and alternatives."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    """The page's text as one string, one part a line."""
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def _fragments(text: str) -> list[str]:
    """The fixed parts of a message (around its `{parameters}`) long enough to tell apart."""
    return [part.strip() for part in re.split(r"\{[a-z_]+\}", text) if len(part.strip()) >= 4]


def foreign_messages(html: str, shown: str) -> list[str]:
    """Messages of the catalogue in the other language than `shown` found on the page."""
    other = "en" if shown == "fr" else "fr"
    text = visible_text(html)
    # A word both languages write ("File" of "File de revue" and of a file) tells nothing.
    own = "\n".join(entry[shown] for entry in messages().values())
    found = []
    for key, entry in messages().items():
        if entry[other] == entry[shown]:
            continue
        for fragment in _fragments(entry[other]):
            if re.search(rf"(?<![\w']){re.escape(fragment)}(?![\w'])", own):
                continue
            if re.search(rf"(?<![\w']){re.escape(fragment)}(?![\w'])", text):
                found.append(f"{key}: {fragment!r}")
    return found


def _client(app: Flask, accept: str | None) -> FlaskClient:
    client = app.test_client()
    if accept:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    return client


def _sign_in(client: FlaskClient, username: str) -> None:
    token = hidden_fields(client.get("/backoffice/login").text)["csrf_token"]
    response = client.post(
        "/backoffice/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303


def _stored_locale(runtime: Runtime, username: str) -> str | None:
    with runtime.sessions() as session:
        return session.execute(
            select(User.locale).where(User.username == username)
        ).scalar_one_or_none()


def _pages(client: FlaskClient, change_sets: list[str]) -> dict[str, str]:
    pages = {
        "queue": client.get("/backoffice/").text,
        "queue_filtered": client.get("/backoffice/?channel=fax&status=").text,
        "not_found": client.get("/backoffice/change-sets/nope").text,
    }
    for number, change_set_id in enumerate(change_sets):
        pages[f"change_set_{number}"] = client.get(f"/backoffice/change-sets/{change_set_id}").text
    return pages


@pytest.fixture
def answered(runtime: Runtime) -> list[str]:
    """A clean change set, a conflicting one, one edited and decided (outbox, history)."""
    clean = answer(runtime, FORM, {"city": "Lyon", "postcode": "69003"}, "C000001")
    conflict = answer(
        runtime, FORM, {"city": "Nantes"}, "C000002", source_changes={"city": "Brest"}
    )
    decided = answer(runtime, FORM, {"city": "Metz", "postcode": "57000"}, "C000003")
    version = runtime.changes.change_set(decided).version
    view = runtime.changes.edit(decided, "city", "Metz-Ville", actor="first", version=version)
    runtime.changes.accept(decided, "postcode", actor="first", version=view.version)
    return [clean, conflict, decided]


def test_french_by_default_english_when_the_browser_asks(app: Flask, runtime: Runtime) -> None:
    french = _client(app, None).get("/backoffice/login").text
    assert '<html lang="fr">' in french and "<h1>Connexion</h1>" in french
    english = _client(app, "en-GB,en;q=0.9").get("/backoffice/login").text
    assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english
    assert foreign_messages(french, "fr") == []
    assert foreign_messages(english, "en") == []
    # A refused sign-in speaks the page's language too.
    client = _client(app, None)
    token = csrf_of(client.get("/backoffice/login").text)
    refused = client.post(
        "/backoffice/login", data={"csrf_token": token, "username": "x", "password": "y"}
    )
    assert refused.status_code == 401
    assert "Utilisateur inconnu ou mot de passe erroné." in refused.text


def test_every_back_office_page_speaks_one_language(
    app: Flask, runtime: Runtime, answered: list[str]
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    for accept, shown in ((None, "fr"), ("en", "en")):
        client = _client(app, accept)
        _sign_in(client, "clerk")
        pages = _pages(client, answered)
        for name, html in pages.items():
            assert f'<html lang="{shown}">' in html, name
            assert foreign_messages(html, shown) == [], (shown, name)
        assert "data-board=" in pages["queue"] and 'data-evidence="' not in pages["queue"]
        changed = translated("changed in the source since issue", shown)
        assert changed in visible_text(pages["change_set_1"])
        assert translated("edited", shown, "event") in visible_text(pages["change_set_2"])
        ignored = translated("Some filters were not understood and were ignored.", shown)
        assert ignored in visible_text(pages["queue_filtered"])
        assert translated("Not found", shown) in visible_text(pages["not_found"])


def test_dates_and_numbers_follow_the_language(
    app: Flask, runtime: Runtime, answered: list[str]
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    with runtime.sessions() as session:
        created = session.get_one(ChangeSet, answered[0]).created_at
    paris = ZoneInfo("Europe/Paris")
    for accept, shown in ((None, "fr"), ("en", "en")):
        client = _client(app, accept)
        _sign_in(client, "clerk")
        page = client.get(f"/backoffice/change-sets/{answered[0]}").text
        assert f">{format_datetime(created, shown, paris)}</time>" in page
    french = _client(app, "fr")
    _sign_in(french, "clerk")
    queue = french.get("/backoffice/").text
    months = "janv.|févr.|mars|avr.|mai|juin|juil.|août|sept.|oct.|nov.|déc."
    assert re.search(
        rf"</a></td>.*?<time[^>]*>\d+ ({months}) \d{{4}} \d\d:\d\d</time>", queue, re.S
    )


def test_the_switch_stores_the_users_choice(app: Flask, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    client = _client(app, "fr")
    _sign_in(client, "clerk")
    queue = client.get("/backoffice/?status=open").text
    assert "<h1>File de revue</h1>" in queue
    form = re.search(r'<form class="language".*?</form>', queue, re.S)
    assert form is not None
    assert 'name="lang" value="en"' in form.group(0)
    assert 'name="next" value="/backoffice/?status=open"' in form.group(0)
    switched = client.post(
        "/backoffice/language",
        data={"csrf_token": csrf_of(queue), "lang": "en", "next": "/backoffice/?status=open"},
    )
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/backoffice/?status=open"
    assert _stored_locale(runtime, "clerk") == "en"
    assert "<h1>Review queue</h1>" in client.get("/backoffice/").text
    # Stored on the account: another browser asking for French still gets English.
    elsewhere = _client(app, "fr")
    _sign_in(elsewhere, "clerk")
    assert "<h1>Review queue</h1>" in elsewhere.get("/backoffice/").text


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"lang": "en"}, 400),  # no CSRF token
        ({"lang": "de", "csrf_token": None}, 400),  # not a language of these screens
    ],
)
def test_the_switch_refuses_what_it_cannot_take(
    app: Flask, runtime: Runtime, data: dict[str, Any], status: int
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    client = _client(app, "fr")
    _sign_in(client, "clerk")
    if "csrf_token" in data:
        data = {**data, "csrf_token": csrf_of(client.get("/backoffice/").text)}
    assert client.post("/backoffice/language", data=data).status_code == status
    assert _stored_locale(runtime, "clerk") is None
    assert "<h1>File de revue</h1>" in client.get("/backoffice/").text


def test_the_switch_never_sends_elsewhere(app: Flask, runtime: Runtime) -> None:
    client = _client(app, None)
    login = client.get("/backoffice/login?next=https://evil.example/").text
    assert "evil.example" not in login
    response = client.post(
        "/backoffice/language",
        data={"csrf_token": csrf_of(login), "lang": "en", "next": "https://evil.example/"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/backoffice/"
    # Before sign-in the choice is kept in the session, and the sign-in page follows it.
    assert "<h1>Sign in</h1>" in client.get("/backoffice/login").text


_TAG = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_SPOKEN = re.compile(r'(aria-label|title|alt|placeholder)="([^"]*)"')


def template_literals(path: Path) -> list[str]:
    """Words a template writes itself rather than through the catalogue."""
    source = path.read_text()
    spoken = [
        value for _, value in _SPOKEN.findall(source) if re.search(r"[A-Za-z]", _TAG.sub("", value))
    ]
    without_jinja = _TAG.sub(" ", source)
    text = visible_text(without_jinja)
    words = [line for line in text.splitlines() if re.search(r"[A-Za-zÀ-ÿ]{2,}", line)]
    return spoken + words


@pytest.mark.parametrize(
    "path", sorted((TEMPLATES / "backoffice").glob("*.html")), ids=lambda p: p.name
)
def test_back_office_templates_write_no_text_of_their_own(path: Path) -> None:
    # `Enter`, the key's name on the keyboard, is written as it is printed on the key.
    assert [w for w in template_literals(path) if w != "Enter"] == []
