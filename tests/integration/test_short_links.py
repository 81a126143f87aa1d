"""Short links /r/<code> on SQLite and PostgreSQL: resolved, expired, withdrawn, unknown, limited."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import FormsError
from forms_service.core.logs import RedactingFilter
from forms_service.issuing.shortcodes import CODE_LENGTH
from forms_service.issuing.tokens import new_document_id
from forms_service.runtime import Runtime
from forms_service.storage.model import Document, DocumentStatus, SecurityEvent
from forms_service.storage.service import reading
from forms_service.storage.shortlinks import ShortLink, code_digest
from tests.conftest import rate_limited_app
from tests.integration.changes_support import submit

SHORT = re.compile(r"/r/([0-9a-z]{20})$")


def issue(runtime: Runtime, form_id: str = "consent-preferences", key: str = "C000001") -> Any:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "short-links")
    return issued


def code_of(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        code = runtime.short_links.code_of(session, document_id)
    assert code is not None
    return code


def message_of(body: bytes) -> str:
    """The refusal a customer page shows (its <h1> and first paragraph)."""
    text = body.decode()
    found = re.search(r"<main.*?</main>", text, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).strip()


def test_issuing_stores_one_short_link_as_a_digest_and_nothing_personal(
    runtime: Runtime,
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    assert len(code) == CODE_LENGTH and code == code.lower()
    with runtime.sessions() as session:
        rows = session.scalars(select(ShortLink)).all()
        document = session.get(Document, issued.document_id)
        assert document is not None
        (row,) = rows
        stored = [getattr(row, c.key) for c in ShortLink.__table__.columns]
        assert row.digest == code_digest(code) != code
        assert row.document_id == issued.document_id
        assert row.expires_at == document.expires_at
        assert not any(code in str(value) for value in stored)
        record = runtime.connectors["crm"].read("customer", "C000001")
        assert record is not None
        personal = {str(v) for k, v in record.items() if v and k != "customer_no"}
        assert not personal & {str(value) for value in stored}
    # The code says nothing of the document id either: it is an HMAC, not an encoding.
    assert code not in issued.document_id.lower()
    # Issuing again in the campaign keeps the document and its only short link.
    issue(runtime)
    with runtime.sessions() as session:
        assert len(session.scalars(select(ShortLink)).all()) == 1


def test_a_short_link_redirects_to_the_signed_link_and_the_form(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    response = client.get(f"/r/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/f/" + issued.link.rsplit("/f/", 1)[1]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    form = client.get(response.headers["Location"])
    assert form.status_code == 200
    assert "Vos préférences de contact" in form.get_data(as_text=True)


def test_a_code_typed_in_capitals_with_look_alikes_and_dashes_still_works(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    typed = "-".join(code[i : i + 5] for i in range(0, 20, 5)).upper()
    typed = typed.replace("0", "O").replace("1", "l")
    assert client.get(f"/r/{typed}").status_code == 302


def test_unknown_and_malformed_codes_get_the_long_links_unknown_page(
    runtime: Runtime, client: Any
) -> None:
    issue(runtime)
    never_issued = runtime.signer.sign(new_document_id(), dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    long_page = client.get(f"/f/{never_issued}")
    assert long_page.status_code == 404
    for code in ("0123456789abcdefghjk", "short", "x" * 300, "%C3%A9" * 20):
        page = client.get(f"/r/{code}")
        assert page.status_code == 404, code
        assert message_of(page.data) == message_of(long_page.data)
    with runtime.sessions() as session:
        kinds = [e.kind for e in session.scalars(select(SecurityEvent))]
        details = " ".join(e.detail for e in session.scalars(select(SecurityEvent)))
    assert kinds.count("short_link_unknown_document") == 4
    assert "0123456789abcdefghjk" not in details


def test_a_withdrawn_document_gives_the_long_links_withdrawn_page(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    runtime.issuing.revoke(issued.document_id, actor="test")
    long_page = client.get(issued.link.removeprefix(runtime.issuing.base_url))
    short_page = client.get(f"/r/{code}")
    assert long_page.status_code == short_page.status_code == 410
    assert message_of(short_page.data) == message_of(long_page.data)
    assert "Ce formulaire a été retiré." in message_of(short_page.data)


def test_a_revoked_short_link_stops_while_the_long_link_works(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    with runtime.sessions() as session, session.begin():
        assert runtime.short_links.revoke(session, issued.document_id) == 1
    assert client.get(f"/r/{code}").status_code == 410
    assert client.get(issued.link.removeprefix(runtime.issuing.base_url)).status_code == 200
    with runtime.sessions() as session:
        assert runtime.short_links.code_of(session, issued.document_id) is None


def test_an_expired_link_gives_the_long_links_expired_page_in_english(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    later = issued.expires_at + dt.timedelta(seconds=1)
    runtime.clock = lambda: later
    runtime.intake.clock = lambda: later
    client.set_cookie("lang", "en")
    headers = {"Accept-Language": "en"}
    long_page = client.get(issued.link.removeprefix(runtime.issuing.base_url), headers=headers)
    short_page = client.get(f"/r/{code}", headers=headers)
    assert long_page.status_code == short_page.status_code == 410
    assert message_of(short_page.data) == message_of(long_page.data)
    assert "This link has expired." in message_of(short_page.data)


def test_every_outcome_costs_the_same_single_query(runtime: Runtime) -> None:
    """No timing or query-count difference tells a valid code from an unknown one."""
    live = issue(runtime, key="C000001")
    withdrawn = issue(runtime, key="C000002")
    runtime.issuing.revoke(withdrawn.document_id, actor="test")
    codes = [
        code_of(runtime, live.document_id),
        code_of(runtime, withdrawn.document_id),
        "0123456789abcdefghjk",
        "not a code",
    ]
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        for code in codes:
            before = len(statements)
            with reading(runtime.sessions) as session, contextlib.suppress(FormsError):
                runtime.short_links.target(session, code)
            assert len(statements) - before == 1, code
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def test_no_code_reaches_a_log_line(runtime: Runtime, client: Any, caplog: Any) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    record = logging.makeLogRecord(
        {"msg": '127.0.0.1 - - "GET /r/%s HTTP/1.1" 302 -', "args": (code.upper(),)}
    )
    RedactingFilter().filter(record)
    assert code.upper() not in record.getMessage()
    assert "/r/[code]" in record.getMessage()


@pytest.fixture
def limited(app_settings: dict[str, Any]) -> Iterator[Flask]:
    limits = {"RATELIMIT_SHORT_LINK": "3 per minute", "RATELIMIT_SHORT_LINK_GLOBAL": "5 per minute"}
    with rate_limited_app(app_settings, **limits) as app:
        yield app


def test_short_links_are_rate_limited_per_client_and_for_everyone(limited: Flask) -> None:
    runtime: Runtime = limited.extensions["forms_service"]
    code = code_of(runtime, issue(runtime).document_id)
    first = limited.test_client()
    first.environ_base["REMOTE_ADDR"] = "10.77.1.1"
    statuses = [first.get(f"/r/{code}").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    # Another client has its own allowance, until the cap on everyone is reached (5).
    second = limited.test_client()
    second.environ_base["REMOTE_ADDR"] = "10.77.1.2"
    statuses = [second.get("/r/0123456789abcdefghjk").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    third = limited.test_client()
    third.environ_base["REMOTE_ADDR"] = "10.77.1.3"
    assert third.get(f"/r/{code}").status_code == 429


def test_a_short_link_made_before_a_key_rotation_keeps_working(runtime: Runtime) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    from forms_service.delivery.shortlinks import ShortLinks
    from forms_service.issuing.tokens import SigningKey

    rotated = ShortLinks([SigningKey("k9", b"n" * 40), *runtime.signer.keys])
    with runtime.sessions() as session, session.begin():
        assert rotated.code_of(session, issued.document_id) == code
        assert rotated.create(session, issued.document_id, issued.expires_at) == code
        assert rotated.resolve(session, code) == issued.document_id
    assert dataclasses.is_dataclass(issued)


def test_a_closed_document_goes_on_to_the_long_links_closed_page(
    runtime: Runtime, client: Any
) -> None:
    issued = issue(runtime)
    code = code_of(runtime, issued.document_id)
    with runtime.sessions() as session:
        document = session.get(Document, issued.document_id)
        assert document is not None
    submit(runtime, document, {})
    with runtime.sessions() as session, session.begin():
        stored = session.get(Document, issued.document_id)
        assert stored is not None
        stored.status = DocumentStatus.CLOSED
    response = client.get(f"/r/{code}")
    assert response.status_code == 302
    # The long link of a processed document leads to its receipt (after the identity
    # question), as the short link does through it.
    long_link = issued.link.removeprefix(runtime.issuing.base_url)
    assert response.headers["Location"].endswith(long_link)
    closed = client.get(response.headers["Location"])
    assert closed.status_code == 302 and closed.headers["Location"].endswith("/done")
    receipt = client.get(closed.headers["Location"])
    assert receipt.status_code == 200
