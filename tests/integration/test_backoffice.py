"""The back office over HTTP: sign-in, roles, lock-out, CSRF, escaping, review actions."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from forms_service.app import create_app
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    AuditEvent,
    ChangeSet,
    ChangeSetStatus,
    FieldChangeRow,
    FieldChangeStatus,
    SignInFailures,
)
from tests.integration.reviewing import PASSWORD, add_user, answer, csrf_of, english_client, sign_in

SCRIPT = '<script>alert("pwned")</script>'


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """These tests read the English screens (the French ones: test_backoffice_languages.py)."""
    return english_client(app)


def _field(runtime: Runtime, change_set_id: str, field: str) -> FieldChangeRow:
    with runtime.sessions() as session:
        row = session.execute(
            select(FieldChangeRow).where(
                FieldChangeRow.change_set_id == change_set_id, FieldChangeRow.field == field
            )
        ).scalar_one()
        session.expunge(row)
        return row


def _change_set(runtime: Runtime, change_set_id: str) -> ChangeSet:
    with runtime.sessions() as session:
        found = session.get(ChangeSet, change_set_id)
        assert found is not None
        session.expunge(found)
        return found


def _page(client: FlaskClient, change_set_id: str) -> tuple[str, str, str]:
    """The change-set page, its CSRF token and the version it shows."""
    page = client.get(f"/backoffice/change-sets/{change_set_id}")
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    return page.text, csrf_of(page.text), version.group(1)


def _post(
    client: FlaskClient, change_set_id: str, action: str, **data: Any
) -> tuple[int, str, str]:
    """POST a review action with the page's CSRF token and version; status, location, body."""
    _, token, version = _page(client, change_set_id)
    response = client.post(
        f"/backoffice/change-sets/{change_set_id}/{action}",
        data={"csrf_token": token, "version": version, **data},
    )
    return response.status_code, response.headers.get("Location", ""), response.text


def test_anonymous_is_sent_to_the_login_page(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    for path in ("/backoffice/", f"/backoffice/change-sets/{change_set_id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/backoffice/login?next=")
    response = client.post(f"/backoffice/change-sets/{change_set_id}/approve", data={})
    assert response.status_code in (302, 400)  # CSRF refuses first, or the login redirect
    assert _change_set(runtime, change_set_id).status is ChangeSetStatus.OPEN


def test_a_customer_script_is_shown_escaped(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"address_line": SCRIPT})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    page, _, _ = _page(client, change_set_id)
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    # The only script the page loads is the external keyboard file (CSP: script-src 'self').
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/backoffice.js">']
    response = client.get(f"/backoffice/change-sets/{change_set_id}")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_user_without_the_clerk_role_can_neither_see_nor_act(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    add_user(runtime, "mailroom", ["mailroom"])
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    _, token, version = _page(client, change_set_id)
    client.post("/backoffice/logout", data={"csrf_token": token})
    assert sign_in(client, "mailroom") == 303
    assert client.get("/backoffice/").status_code == 403
    assert client.get(f"/backoffice/change-sets/{change_set_id}").status_code == 403
    token = csrf_of(client.get("/backoffice/login").text)
    for action in ("approve", "fields/city/accept", "fields/city/reject", "decide"):
        response = client.post(
            f"/backoffice/change-sets/{change_set_id}/{action}",
            data={"csrf_token": token, "version": version, "accept": "city"},
        )
        assert response.status_code == 403, action
    assert _change_set(runtime, change_set_id).status is ChangeSetStatus.OPEN
    assert _field(runtime, change_set_id, "city").status is FieldChangeStatus.PENDING


def test_lock_out_after_repeated_failures(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    for _ in range(5):
        assert sign_in(client, "clerk", "wrong password!") == 401
    response_status = sign_in(client, "clerk", PASSWORD)
    assert response_status == 429
    page = client.get("/backoffice/login")
    token = csrf_of(page.text)
    locked = client.post(
        "/backoffice/login",
        data={"csrf_token": token, "username": "clerk", "password": PASSWORD},
    )
    assert locked.status_code == 429
    assert "Too many failed sign-ins from here" in locked.text
    assert client.get("/backoffice/").status_code == 302
    with runtime.sessions() as session:
        lock = session.execute(
            select(SignInFailures.locked_until).where(SignInFailures.client != "")
        ).scalar_one()
        assert lock is not None


def test_unknown_user_and_wrong_password_say_the_same(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    page = client.get("/backoffice/login")
    wrong = client.post(
        "/backoffice/login",
        data={"csrf_token": csrf_of(page.text), "username": "clerk", "password": "nope nope"},
    )
    unknown = client.post(
        "/backoffice/login",
        data={"csrf_token": csrf_of(page.text), "username": "ghost", "password": "nope nope"},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown user or wrong password." in wrong.text
    assert "Unknown user or wrong password." in unknown.text


def test_login_starts_a_fresh_session_with_hardened_cookie(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "clerk", ["clerk"])
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    page = client.get("/backoffice/login")
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": csrf_of(page.text), "username": "clerk", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/backoffice/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith("fss_")  # a session record, not the user id
        assert session.get("csrf_token") is None  # the anonymous CSRF token is gone too
    assert client.get("/backoffice/").status_code == 200


def test_logout_ends_the_session(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    queue = client.get("/backoffice/")
    response = client.post("/backoffice/logout", data={"csrf_token": csrf_of(queue.text)})
    assert response.status_code == 303
    assert client.get("/backoffice/").status_code == 302


def test_next_never_leaves_the_back_office(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "clerk", ["clerk"])
    page = client.get("/backoffice/login?next=https://evil.example/")
    assert "evil.example" not in page.text
    response = client.post(
        "/backoffice/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "clerk",
            "password": PASSWORD,
            "next": "//evil.example/backoffice/",
        },
    )
    assert response.headers["Location"] == "/backoffice/"


def test_a_next_with_a_line_break_lands_on_the_queue_not_on_an_error(
    client: FlaskClient, runtime: Runtime
) -> None:
    # Regression: a CR LF in `next` reached the Location header, which werkzeug refuses: 500.
    add_user(runtime, "clerk", ["clerk"])
    for target in ("/backoffice/\r\nSet-Cookie: taken=1", "/backoffice/\tx", "/mailroom/ x"):
        page = client.get("/backoffice/login", query_string={"next": target})
        assert page.status_code == 200
        response = client.post(
            "/backoffice/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "clerk",
                "password": PASSWORD,
                "next": target,
            },
        )
        assert response.status_code == 303, target
        assert response.headers["Location"] == "/backoffice/"
        assert "taken" not in response.headers.get("Set-Cookie", "")
        client.post(
            "/backoffice/logout", data={"csrf_token": csrf_of(client.get("/backoffice/").text)}
        )


@pytest.fixture
def https_app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app({**app_settings, "BASE_URL": "https://forms.example"})
    yield application
    application.extensions["forms_service"].engine.dispose()


def test_session_cookie_is_secure_under_https(https_app: Flask) -> None:
    runtime: Runtime = https_app.extensions["forms_service"]
    add_user(runtime, "clerk", ["clerk"])
    client = https_app.test_client()
    page = client.get("/backoffice/login", base_url="https://forms.example")
    response = client.post(
        "/backoffice/login",
        base_url="https://forms.example",
        data={"csrf_token": csrf_of(page.text), "username": "clerk", "password": PASSWORD},
        headers={"Referer": "https://forms.example/backoffice/login"},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_csrf_is_enforced_on_every_back_office_post(
    client: FlaskClient, runtime: Runtime, app: Flask
) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    add_user(runtime, "clerk", ["clerk"])
    no_token = client.post("/backoffice/login", data={"username": "clerk", "password": PASSWORD})
    assert no_token.status_code == 400
    assert sign_in(client, "clerk") == 303
    _, _, version = _page(client, change_set_id)
    for action in ("approve", "fields/city/accept", "fields/city/reject", "fields/city/edit"):
        for token in (None, "forged"):
            data = {"version": version, "value": "Paris"}
            if token:
                data["csrf_token"] = token
            response = client.post(f"/backoffice/change-sets/{change_set_id}/{action}", data=data)
            assert response.status_code == 400, action
    assert client.post("/backoffice/logout").status_code == 400
    assert _field(runtime, change_set_id, "city").status is FieldChangeStatus.PENDING
    assert _field(runtime, change_set_id, "city").proposed == "Lyon"
    assert client.get("/backoffice/").status_code == 200  # still signed in


def test_queue_filters_and_counts(client: FlaskClient, runtime: Runtime) -> None:
    contact = answer(runtime, "contact-update", {"city": "Lyon"}, key="C000001")
    bank = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}, key="C000002"
    )
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    everything = client.get("/backoffice/")
    assert everything.status_code == 200
    assert 'data-count="total">2<' in everything.text
    assert contact in everything.text and bank in everything.text
    only_bank = client.get("/backoffice/?form=bank-details&channel=online")
    assert bank in only_bank.text and contact not in only_bank.text
    assert 'data-count="total">1<' in only_bank.text
    old_only = client.get("/backoffice/?older_than_days=3")
    assert 'data-count="total">0<' in old_only.text
    nonsense = client.get("/backoffice/?older_than_days=soon&status=%3Cb%3E")
    assert nonsense.status_code == 200
    assert "<b>" not in nonsense.text


def test_accept_reject_and_apply(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    status, location, _ = _post(client, change_set_id, "fields/postcode/accept")
    assert status == 303
    assert location.startswith(f"/backoffice/change-sets/{change_set_id}")
    assert _field(runtime, change_set_id, "postcode").status is FieldChangeStatus.ACCEPTED
    status, location, _ = _post(client, change_set_id, "fields/city/reject")
    assert status == 303
    assert location.startswith("/backoffice/?done=")  # nothing left: back to the queue
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    assert record["postcode"] == "69003"
    assert record["city"] != "Lyon"
    assert _change_set(runtime, change_set_id).status is ChangeSetStatus.PARTIALLY_APPLIED


def test_an_edit_is_validated_again_and_a_bad_one_changes_nothing(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"postcode": "69003"})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    before = _change_set(runtime, change_set_id).version
    status, _, body = _post(client, change_set_id, "fields/postcode/edit", value="6900")
    assert status == 422
    assert 'id="error-postcode"' in body
    assert 'aria-invalid="true"' in body
    assert _field(runtime, change_set_id, "postcode").proposed == "69003"
    assert _change_set(runtime, change_set_id).version == before
    status, _, _ = _post(client, change_set_id, "fields/postcode/edit", value=" 69004 ")
    assert status == 303
    row = _field(runtime, change_set_id, "postcode")
    assert row.proposed == "69004"
    assert row.edited_from == "69003"
    assert row.status is FieldChangeStatus.PENDING
    status, location, _ = _post(
        client, change_set_id, "fields/postcode/edit", value="69005", and_accept="y"
    )
    assert status == 303 and location.startswith("/backoffice/?done=accepted")
    row = _field(runtime, change_set_id, "postcode")
    assert row.proposed == "69005" and row.status is FieldChangeStatus.APPLIED


def test_a_stale_page_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    _, token, version = _page(client, change_set_id)
    first = client.post(
        f"/backoffice/change-sets/{change_set_id}/fields/city/accept",
        data={"csrf_token": token, "version": version},
    )
    assert first.status_code == 303
    stale = client.post(
        f"/backoffice/change-sets/{change_set_id}/fields/postcode/reject",
        data={"csrf_token": token, "version": version},
    )
    assert stale.status_code == 409
    assert "reload" in stale.text
    assert _field(runtime, change_set_id, "postcode").status is FieldChangeStatus.PENDING


def test_keyboard_decisions_are_confirmed_in_one_post(
    client: FlaskClient, runtime: Runtime
) -> None:
    first = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"})
    second = answer(runtime, "contact-update", {"city": "Nantes"}, key="C000002")
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    status, location, _ = _post(client, first, "decide", accept="city", reject="postcode")
    assert status == 303
    assert location.startswith(f"/backoffice/change-sets/{second}")  # the next one opens
    assert _field(runtime, first, "city").status is FieldChangeStatus.APPLIED
    assert _field(runtime, first, "postcode").status is FieldChangeStatus.REJECTED
    status, _, body = _post(client, second, "decide")
    assert status == 422
    assert "No decision was sent" in body


def test_four_eyes_needs_a_second_different_user(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}
    )
    add_user(runtime, "clerk", ["clerk"])
    add_user(runtime, "supervisor", ["clerk", "supervisor"])
    assert sign_in(client, "clerk") == 303
    status, _, _ = _post(client, change_set_id, "approve")
    assert status == 303
    row = _field(runtime, change_set_id, "account_holder")
    assert row.status is FieldChangeStatus.AWAITING_SECOND
    assert row.first_reviewer == "clerk"
    page, token, version = _page(client, change_set_id)
    assert "waiting for a second, different reviewer" in page
    assert "/fields/account_holder/accept" not in page  # no button for the same person
    again = client.post(
        f"/backoffice/change-sets/{change_set_id}/fields/account_holder/accept",
        data={"csrf_token": token, "version": version},
    )
    assert again.status_code == 403
    assert _field(runtime, change_set_id, "account_holder").status is (
        FieldChangeStatus.AWAITING_SECOND
    )
    client.post("/backoffice/logout", data={"csrf_token": token})
    assert sign_in(client, "supervisor") == 303
    status, _, _ = _post(client, change_set_id, "approve")
    assert status == 303
    row = _field(runtime, change_set_id, "account_holder")
    assert row.status is FieldChangeStatus.APPLIED
    assert row.second_reviewer == "supervisor"
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None and record["account_holder"] == "Jeanne Martin"


def test_next_goes_through_the_queue_then_back_to_it(client: FlaskClient, runtime: Runtime) -> None:
    first = answer(runtime, "contact-update", {"city": "Lyon"})
    second = answer(runtime, "contact-update", {"city": "Nantes"}, key="C000002")
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    assert client.get(f"/backoffice/next?after={first}").headers["Location"].endswith(second)
    assert (
        client.get(f"/backoffice/next?after={second}")
        .headers["Location"]
        .startswith("/backoffice/?")
    )
    assert client.get("/backoffice/change-sets/nope").status_code == 404


def test_nul_characters_are_a_clear_error(client: FlaskClient, runtime: Runtime) -> None:
    """Regression: a NUL in an id or a filter failed with 500 on PostgreSQL."""
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    assert client.get("/backoffice/change-sets/a%00b").status_code == 422
    assert client.get("/backoffice/?form=a%00").status_code == 422
    status, _, _ = _post(client, change_set_id, "fields/city/edit", value="Ly\x00on")
    assert status == 422
    assert _field(runtime, change_set_id, "city").proposed == "Lyon"


def _set_evidence(
    runtime: Runtime, change_set_id: str, field: str, evidence: dict[str, Any]
) -> None:
    with runtime.sessions() as session, session.begin():
        row = session.execute(
            select(FieldChangeRow).where(
                FieldChangeRow.change_set_id == change_set_id, FieldChangeRow.field == field
            )
        ).scalar_one()
        row.evidence = evidence
        row.confidence = float(evidence.get("confidence", 1.0))


def test_a_scanned_crop_is_shown_beside_the_value(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    buffer = io.BytesIO()
    Image.new("L", (120, 30), 255).save(buffer, format="PNG")
    crop = runtime.files.put(buffer.getvalue(), suffix=".png")
    _set_evidence(
        runtime, change_set_id, "city", {"kind": "scan", "crop": crop, "confidence": 0.62}
    )
    add_user(runtime, "clerk", ["clerk"])
    add_user(runtime, "mailroom", ["mailroom"])
    assert sign_in(client, "clerk") == 303
    page, token, _ = _page(client, change_set_id)
    address = f"/backoffice/change-sets/{change_set_id}/fields/city/evidence"
    assert f'<img class="crop" src="{address}" alt="Scanned answer for City"' in page
    assert "confidence 62%" in page  # English writes no space before %
    image = client.get(address)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.data == buffer.getvalue()
    assert (
        client.get(f"/backoffice/change-sets/{change_set_id}/fields/nope/evidence").status_code
        == 404
    )
    # Only images are served, and only to reviewers.
    other = runtime.files.put(b"not an image", suffix=".txt")
    _set_evidence(runtime, change_set_id, "city", {"kind": "scan", "crop": other})
    assert client.get(address).status_code == 404
    _set_evidence(runtime, change_set_id, "city", {"kind": "scan", "crop": crop})
    client.post("/backoffice/logout", data={"csrf_token": token})
    assert sign_in(client, "mailroom") == 303
    forbidden = client.get(address)
    assert forbidden.status_code == 403
    assert "does not have the role" in forbidden.text


def test_a_conflict_comes_first_and_shows_the_new_current_value(
    client: FlaskClient, runtime: Runtime
) -> None:
    clean = answer(runtime, "contact-update", {"city": "Lyon"}, "C000001")
    conflict = answer(
        runtime, "contact-update", {"city": "Nantes"}, "C000002", source_changes={"city": "Brest"}
    )
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    queue = client.get("/backoffice/").text
    assert 'data-count="conflicts">1<' in queue
    assert queue.index(conflict) < queue.index(clean)  # conflicts first, though newer
    assert f'class="entry conflict" data-change-set="{conflict}"' in queue
    page, _, _ = _page(client, conflict)
    row = page[page.index('id="row-city"') :]
    row = row[: row.index("</tr>")]
    assert "Brest" in row and "changed in the source since issue" in row
    assert 'value="Nantes"' in row
    record = runtime.connectors["crm"].read("customer", "C000002")
    assert record is not None and record["city"] == "Brest"  # nothing overwritten


def test_history_hides_personal_values_from_roles_not_allowed(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"})
    add_user(runtime, "clerk", ["clerk"])
    add_user(runtime, "supervisor", ["clerk", "supervisor"])
    assert sign_in(client, "clerk") == 303
    _post(client, change_set_id, "fields/city/reject")
    page, token, _ = _page(client, change_set_id)
    history = page[page.index("<h2>History</h2>") :]
    assert '<tr data-kind="rejected">' in history
    assert "[redacted]" in history and "Lyon" not in history
    client.post("/backoffice/logout", data={"csrf_token": token})
    assert sign_in(client, "supervisor") == 303
    page, _, _ = _page(client, change_set_id)
    history = page[page.index("<h2>History</h2>") :]
    assert "[redacted]" not in history and "Lyon" in history
    assert "<td>clerk</td>" in history


def test_two_clerks_approving_at_once_apply_once(app: Flask, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    add_user(runtime, "alice", ["clerk"])
    add_user(runtime, "bob", ["clerk"])
    clients = [app.test_client(), app.test_client()]
    forms = []
    for client, name in zip(clients, ("alice", "bob"), strict=True):
        assert sign_in(client, name) == 303
        _, token, version = _page(client, change_set_id)
        forms.append({"csrf_token": token, "version": version})
    start = threading.Barrier(2)
    statuses: list[int] = []

    def approve(client: FlaskClient, form: dict[str, str]) -> None:
        start.wait()
        response = client.post(f"/backoffice/change-sets/{change_set_id}/approve", data=form)
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=approve, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 409]
    assert _field(runtime, change_set_id, "city").status is FieldChangeStatus.APPLIED
    with runtime.sessions() as session:
        applied = (
            session.execute(
                select(AuditEvent).where(
                    AuditEvent.kind == "applied",
                    AuditEvent.document_id == _change_set(runtime, change_set_id).document_id,
                )
            )
            .scalars()
            .all()
        )
        approvals = (
            session.execute(select(AuditEvent.actor).where(AuditEvent.kind == "approved"))
            .scalars()
            .all()
        )
    assert len(approvals) == 1
    assert len(applied) == 1  # one field, written once


def test_a_mailroom_operator_lands_in_the_mailroom(client: FlaskClient, runtime: Runtime) -> None:
    add_user(runtime, "scanner", ["mailroom"])
    page = client.get("/backoffice/login")
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": csrf_of(page.text), "username": "scanner", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/mailroom/"
    assert client.get("/mailroom/").status_code == 200


@pytest.fixture
def limited_app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(
        {**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute"}
    )
    yield application
    application.extensions["forms_service"].engine.dispose()


def test_login_attempts_are_rate_limited_per_client(limited_app: Flask) -> None:
    client = limited_app.test_client()
    token = csrf_of(client.get("/backoffice/login").text)
    statuses = [
        client.post(
            "/backoffice/login",
            data={"csrf_token": token, "username": f"nobody{n}", "password": "guess guess"},
        ).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    assert client.get("/backoffice/login").status_code == 200  # the form itself stays


@pytest.fixture
def short_idle_app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app({**app_settings, "BACKOFFICE_IDLE_MINUTES": 1 / 60})
    yield application
    application.extensions["forms_service"].engine.dispose()


def test_an_idle_session_ends_on_the_server(short_idle_app: Flask) -> None:
    runtime: Runtime = short_idle_app.extensions["forms_service"]
    add_user(runtime, "clerk", ["clerk"])
    client = short_idle_app.test_client()
    page = client.get("/backoffice/login")
    response = client.post(
        "/backoffice/login",
        data={"csrf_token": csrf_of(page.text), "username": "clerk", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert "Expires=" in response.headers["Set-Cookie"]
    time.sleep(2.5)  # the signed cookie is now older than the 1-second idle limit
    assert client.get("/backoffice/").status_code == 302


def test_templates_load_the_signed_in_user_only_when_they_show_it(
    client: FlaskClient, runtime: Runtime
) -> None:
    """`current_user` in templates is Flask-Login's lazy proxy: the public pages, which never
    show it, load nobody; the back office loads the clerk (with Flask-Login's checks)."""
    from flask import g

    from forms_service.connectors.interfaces import Selection

    add_user(runtime, "clerk", ["clerk"])
    (issued,) = runtime.issuing.issue("consent-preferences", Selection(keys=("C000002",)), "u")
    with client:
        assert client.get(issued.link.removeprefix("http://localhost")).status_code == 200
        assert "_login_user" not in g
    assert sign_in(client, "clerk") == 303
    with client:
        page = client.get("/backoffice/")
        assert page.status_code == 200 and '<span class="who">clerk</span>' in page.text
        assert g._login_user.username == "clerk"


def test_a_sign_in_field_left_empty_is_tied_to_its_error(client: FlaskClient) -> None:
    page = client.get("/backoffice/login")
    refused = client.post(
        "/backoffice/login", data={"csrf_token": csrf_of(page.text), "username": "clerk"}
    )
    password = re.search(r"<input[^>]*name=\"password\"[^>]*>", refused.text)
    assert password is not None
    assert 'aria-invalid="true"' in password.group(0)
    assert 'aria-describedby="password-error"' in password.group(0)
    assert re.search(r'<p class="error" id="password-error">[^<]+</p>', refused.text)
    username = re.search(r"<input[^>]*name=\"username\"[^>]*>", refused.text)
    assert username is not None and "aria-invalid" not in username.group(0)
