"""Issue 15, point 1: reached from the letter without a camera, on SQLite and PostgreSQL.

The access code printed on the letter, typed at `host/r` (or the bare host), leads to the
form after its identity question; a mistyped code is refused before any lookup, an unknown
one shows nothing, both are rate-limited per client and for everyone; a cut or lower-cased
long link gets a page that says what happened and offers the code entry.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import event, select

from forms_service.connectors.interfaces import Selection
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, SecurityEvent
from forms_service.storage.shortlinks import ShortLink
from tests.conftest import hidden_fields, rate_limited_app


def _issue(runtime: Runtime, key: str = "C000001", form_id: str = "contact-update") -> Any:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "access-codes")
    return issued


def _code(runtime: Runtime, document_id: str) -> str:
    codes = runtime.issuing.access_codes_for([document_id])
    return codes[document_id]


def _enter(client: FlaskClient, code: str) -> Any:
    page = client.get("/r")
    assert page.status_code == 200
    return client.post(
        "/r", data={"csrf_token": hidden_fields(page.text)["csrf_token"], "code": code}
    )


def _events(runtime: Runtime, kind: str) -> int:
    with runtime.sessions() as session:
        return len(session.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)).all())


def test_the_bare_host_and_host_r_answer_with_the_code_entry_page(client: FlaskClient) -> None:
    for path in ("/", "/r", "/r/"):
        page = client.get(path + "?lang=en")
        assert page.status_code == 200, path
        assert "Answer with your access code" in page.text
        assert 'name="code"' in page.text and 'autocapitalize="characters"' in page.text


def test_the_code_from_the_letter_leads_to_the_identity_question(
    client: FlaskClient, runtime: Runtime
) -> None:
    issued = _issue(runtime)
    code = _code(runtime, issued.document_id)
    # Printed on the letter, grouped for reading, with the short address to type.
    letter = runtime.printer.pdf_for(issued.document_id)
    text = PdfReader(io.BytesIO(letter)).pages[0].extract_text()
    assert code in text and "localhost/r" in text
    typed = code.lower().replace("-", " ")
    answer = _enter(client, typed)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/f/" + issued.document_id + ".")
    form = client.get(answer.headers["Location"])
    # The code alone shows nothing personal: the identity question comes first.
    assert form.status_code == 200 and 'name="birth_date"' in form.text
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None and str(record["last_name"]) not in form.text


def test_a_mistyped_code_is_refused_before_any_lookup(
    client: FlaskClient, runtime: Runtime
) -> None:
    issued = _issue(runtime)
    code = _code(runtime, issued.document_id).replace("-", "")
    swapped = code[:3] + code[4] + code[3] + code[5:] if code[3] != code[4] else code[:-1] + "Z"
    statements: list[str] = []
    client.get("/r?lang=en")

    def count(*args: Any) -> None:
        statement = str(args[2])
        if "short_links" in statement:
            statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        for typed, words in (
            (swapped, "This code has a typo"),
            (code[:-2], "An access code has 15 characters"),
            ("O" + code[1:], "no 0, O, 1, I or L"),
        ):
            refused = _enter(client, typed)
            assert refused.status_code == 422
            assert words in refused.text
            assert 'aria-invalid="true"' in refused.text and 'id="error-summary"' in refused.text
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert statements == []  # nothing was looked up for any of them


def test_an_unknown_code_shows_nothing_and_is_recorded_without_the_code(
    client: FlaskClient, runtime: Runtime
) -> None:
    from forms_service.issuing.accesscodes import access_code_for, grouped

    unknown = grouped(access_code_for(b"z" * 32, "no-such-document"))
    client.get("/r?lang=en")
    refused = _enter(client, unknown)
    assert refused.status_code == 422
    assert "No form has this code" in refused.text
    assert _events(runtime, "access_code_unknown") == 1
    with runtime.sessions() as session:
        details = [e.detail for e in session.scalars(select(SecurityEvent))]
    assert all(unknown.replace("-", "") not in (d or "") for d in details)


def test_a_withdrawn_form_s_code_gives_the_withdrawn_page(
    client: FlaskClient, runtime: Runtime
) -> None:
    issued = _issue(runtime)
    code = _code(runtime, issued.document_id)
    with runtime.sessions() as session, session.begin():
        runtime.short_links.revoke(session, issued.document_id)
    assert _enter(client, code).status_code == 410
    # A revoked short link no longer prints a code either.
    assert runtime.issuing.access_codes_for([issued.document_id]) == {}


def test_each_document_s_code_is_stored_as_a_digest_only(runtime: Runtime) -> None:
    issued = [_issue(runtime, f"C00000{n}") for n in (1, 2, 3)]
    codes = runtime.issuing.access_codes_for([i.document_id for i in issued])
    assert len(set(codes.values())) == 3
    with runtime.sessions() as session:
        rows = session.scalars(select(ShortLink)).all()
        stored = " ".join(f"{r.digest} {r.access_digest}" for r in rows)
        assert session.get(Document, issued[0].document_id) is not None
    for code in codes.values():
        assert code.replace("-", "") not in stored


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("truncated", "your e-mail program may have cut it"),
        ("lowercased", "changed to lower case"),
    ],
)
def test_a_cut_or_lower_cased_long_link_says_what_happened_and_offers_the_code(
    client: FlaskClient, runtime: Runtime, damage: str, words: str
) -> None:
    path = _issue(runtime).link.removeprefix("http://localhost")
    broken = path[:40] if damage == "truncated" else path.lower()
    page = client.get(broken + "?lang=en")
    assert page.status_code == 400
    assert f'data-damage="{damage}"' in page.text and words in page.text
    assert 'name="code"' in page.text and 'action="/r"' in page.text


@pytest.fixture
def limited(app_settings: dict[str, Any]) -> Iterator[Flask]:
    limits = {
        "RATELIMIT_ACCESS_CODE": "3 per minute",
        "RATELIMIT_SHORT_LINK_GLOBAL": "5 per minute",
    }
    with rate_limited_app(app_settings, **limits) as app:
        yield app


def test_codes_are_rate_limited_per_client_and_for_everyone(limited: Flask) -> None:
    runtime: Runtime = limited.extensions["forms_service"]
    code = _code(runtime, _issue(runtime).document_id)
    first = limited.test_client()
    first.environ_base["REMOTE_ADDR"] = "10.78.1.1"
    statuses = [_enter(first, "K7PXM-3QR9T-WHB4A").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    second = limited.test_client()
    second.environ_base["REMOTE_ADDR"] = "10.78.1.2"
    assert [_enter(second, code).status_code for _ in range(3)] == [303, 303, 429]
    assert re.search("Trop|Too many", _enter(second, code).text)
