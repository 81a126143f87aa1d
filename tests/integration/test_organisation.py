"""Every customer page looks like the organisation, never like the product.

Each page a customer can meet (identity question, refused answer, form, refused form, done,
PDF upload, broken link, unknown address, the notices) in French and English: the
organisation's name and logo in the header, its contact channel and opening hours in the
footer with links to the legal and data-protection notices, a language switch that works
even after a POST, and no trace of the product's own name anywhere in the page.
"""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from pypdf import PdfReader

from forms_service.runtime import Runtime
from tests.conftest import hidden_fields
from tests.integration.test_online_form import _birth_date, _contact_answer, _issue, _record

#: The product's name, however spelt.
PRODUCT = re.compile(r"forms[ _-]?service", re.IGNORECASE)
HOURS = {
    "fr": "Du lundi au vendredi, de 9 h à 18 h",
    "en": "Monday to Friday, 9 am to 6 pm",
}


def _pages(app: Flask, runtime: Runtime, shown: str) -> dict[str, tuple[int, str]]:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = shown
    path = _issue(runtime, "contact-update")
    pages: dict[str, tuple[int, str]] = {}

    def keep(name: str, response: object) -> None:
        pages[name] = (response.status_code, response.text)  # type: ignore[attr-defined]

    keep("challenge", client.get(path))
    token = hidden_fields(pages["challenge"][1])["csrf_token"]
    keep(
        "challenge_failed",
        client.post(f"{path}/challenge", data={"csrf_token": token, "birth_date": "01/01/1900"}),
    )
    right = {"csrf_token": token, "birth_date": _birth_date(runtime)}
    assert client.post(f"{path}/challenge", data=right).status_code == 303
    keep("form", client.get(path))
    form = pages["form"][1]
    keep("form_refused", client.post(path, data=_contact_answer(form, _record(runtime), email="x")))
    keep("upload", client.get(f"{path}/upload"))
    answer = _contact_answer(form, _record(runtime), city="Lyon", postcode="69003")
    done = client.post(path, data=answer)
    keep("done", client.get(done.headers["Location"]))
    keep("broken_link", client.get(path[:-4] + "AAAA"))
    keep("unknown_address", client.get("/no/such/page"))
    keep("legal", client.get("/legal"))
    keep("privacy", client.get("/privacy"))
    return pages


@pytest.mark.parametrize("shown", ["fr", "en"])
def test_every_customer_page_shows_the_organisation_and_never_the_product(
    app: Flask, runtime: Runtime, shown: str
) -> None:
    for name, (status, html) in _pages(app, runtime, shown).items():
        assert PRODUCT.search(html) is None, (name, PRODUCT.search(html))
        assert '<span class="org">Mutuelle Horizon</span>' in html, name
        assert 'src="/organisation/logo"' in html, name
        assert 'href="/organisation/theme.css"' in html, name
        footer = html.split('<footer class="site-footer">', 1)[1]
        assert 'href="tel:0123456789"' in footer, name
        assert HOURS[shown] in footer, name
        assert 'href="/legal"' in footer and 'href="/privacy"' in footer, name
        assert re.search(r"<title>[^<]+ – Mutuelle Horizon</title>", html), name
        assert status in (200, 400, 404, 410, 422), (name, status)


@pytest.mark.parametrize("shown", ["fr", "en"])
def test_the_notices_say_what_the_law_asks(app: Flask, shown: str) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = shown
    legal = client.get("/legal").text
    privacy = client.get("/privacy").text
    wanted = {
        "fr": (
            ["Éditeur", "Directeur de la publication", "Hébergeur"],
            [
                "Qui traite vos données",
                "Pourquoi",
                "Sur quelle base",
                "Combien de temps",
                "Vos droits",
                "Délégué à la protection des données",
            ],
        ),
        "en": (
            ["Publisher", "Publication director", "Host"],
            [
                "Who processes your data",
                "Why",
                "On what basis",
                "For how long",
                "Your rights",
                "Data protection officer",
            ],
        ),
    }[shown]
    assert re.findall(r"<h2>([^<]+)</h2>", legal)[: len(wanted[0])] == wanted[0]
    assert re.findall(r"<h2>([^<]+)</h2>", privacy)[: len(wanted[1])] == wanted[1]
    assert "dpo@mutuelle-horizon.example" in privacy


def test_the_logo_and_colours_are_served_for_caching_and_run_nothing(app: Flask) -> None:
    client = app.test_client()
    with client.get("/organisation/logo") as logo:
        assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
        assert logo.get_data().startswith(b"<svg")
        assert "max-age=86400" in logo.headers["Cache-Control"]
        assert logo.headers["Content-Security-Policy"].startswith("default-src 'none'")
    theme = client.get("/organisation/theme.css")
    assert theme.mimetype == "text/css"
    assert "--accent: #0b5cad;" in theme.text and "--accent-dark: #084581;" in theme.text


def test_the_language_switch_works_after_a_refused_identity_answer(
    app: Flask, runtime: Runtime
) -> None:
    client = app.test_client()
    path = _issue(runtime, "contact-update")
    token = hidden_fields(client.get(path).text)["csrf_token"]
    failed = client.post(
        f"{path}/challenge", data={"csrf_token": token, "birth_date": "01/01/1900"}
    )
    switch = re.search(r'<a class="lang" href="([^"]+)"', failed.text)
    assert switch is not None
    target = switch.group(1).replace("&amp;", "&")
    # The page answered a POST: the switch leads to the form's own page, in English.
    assert target == f"{path}?lang=en"
    english = client.get(target)
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    # Its accessible name starts with its visible text (WCAG 2.5.3).
    assert re.search(
        r'<span lang="en">English</span><span class="visually-hidden"> – ', failed.text
    )


def test_the_downloaded_pdf_names_the_organisation_not_the_product(
    app: Flask, runtime: Runtime
) -> None:
    client = app.test_client()
    path = _issue(runtime, "contact-update")
    token = hidden_fields(client.get(path).text)["csrf_token"]
    right = {"csrf_token": token, "birth_date": _birth_date(runtime)}
    assert client.post(f"{path}/challenge", data=right).status_code == 303
    with client.get(f"{path}/pdf") as response:
        assert response.status_code == 200
        pdf = response.get_data()
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info.author == info.creator == "Mutuelle Horizon"
    assert PRODUCT.search(pdf.decode("latin-1")) is None
