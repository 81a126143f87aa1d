"""The customers' pages in French and English: each speaks one language, from the catalogue.

Every page a customer meets (identity question, refused answer, form, refused form, done,
PDF upload, broken link) is rendered in both languages and its visible text compared with
the whole catalogue, as the back office's and the mailroom's pages are.
"""

from __future__ import annotations

import pytest
from flask import Flask

from forms_service.runtime import Runtime
from tests.catalogues import translated
from tests.conftest import hidden_fields
from tests.integration.test_backoffice_languages import foreign_messages, visible_text
from tests.integration.test_online_form import _birth_date, _contact_answer, _issue, _record


@pytest.mark.parametrize("shown", ["fr", "en"])
def test_every_customer_page_speaks_one_language(app: Flask, runtime: Runtime, shown: str) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = shown
    path = _issue(runtime, "contact-update")
    pages = {"challenge": client.get(path).text}
    token = hidden_fields(pages["challenge"])["csrf_token"]
    wrong = {"csrf_token": token, "birth_date": "01/01/1900"}
    pages["challenge_failed"] = client.post(f"{path}/challenge", data=wrong).text
    right = {"csrf_token": token, "birth_date": _birth_date(runtime)}
    assert client.post(f"{path}/challenge", data=right).status_code == 303
    pages["form"] = client.get(path).text
    refused = _contact_answer(pages["form"], _record(runtime), postcode="123", email="nobody")
    pages["form_refused"] = client.post(path, data=refused).text
    pages["upload"] = client.get(f"{path}/upload").text
    answer = _contact_answer(pages["form"], _record(runtime), city="Lyon", postcode="69003")
    done = client.post(path, data=answer)
    assert done.status_code == 303
    pages["done"] = client.get(done.headers["Location"]).text
    pages["broken_link"] = client.get(path[:-4] + "AAAA").text
    for name, html in pages.items():
        assert f'<html lang="{shown}">' in html, name
        assert foreign_messages(html, shown) == [], (shown, name)
    postcode = translated("Invalid French postcode: 5 digits (example: 75011).", shown)
    assert postcode in visible_text(pages["form_refused"])
    assert translated("What will change:", shown) in visible_text(pages["done"])
    assert translated("This link does not work", shown) in visible_text(pages["broken_link"])
    failed = "The answers do not match our records."
    assert translated(failed, shown) in visible_text(pages["challenge_failed"])
