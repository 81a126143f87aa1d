"""The verification station over HTTP: conflicts settled by a choice, checks, the queue followed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.changes.model import ChoiceRequired, ReasonRequired
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent, FieldChangeStatus
from tests.integration.changes_support import crm_record
from tests.integration.reviewing import (
    add_token,
    add_user,
    answer,
    change_source,
    csrf_of,
    english_client,
    sign_in,
)
from tests.integration.station_support import characters, paper_change_set


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The screens in English (the back office's default is French)."""
    return english_client(app)


def _page(client: FlaskClient, change_set_id: str) -> tuple[str, str, str]:
    page = client.get(f"/backoffice/change-sets/{change_set_id}")
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    return page.text, csrf_of(page.text), version.group(1)


def _post(client: FlaskClient, change_set_id: str, action: str, **data: Any) -> Any:
    _, token, version = _page(client, change_set_id)
    return client.post(
        f"/backoffice/change-sets/{change_set_id}/{action}",
        data={"csrf_token": token, "version": version, **data},
    )


def _row_html(page: str, field: str) -> str:
    row = page[page.index(f'id="row-{field}"') :]
    return row[: row.index("</tr>")]


def _events(runtime: Runtime, kind: str) -> list[AuditEvent]:
    with runtime.sessions() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.kind == kind)).scalars())


def _conflict(runtime: Runtime) -> str:
    """A change set whose city the source changed after issue: Nantes answered, Brest now."""
    return answer(
        runtime, "contact-update", {"city": "Nantes"}, "C000002", source_changes={"city": "Brest"}
    )


def test_a_conflict_is_refused_by_every_accept_and_shows_its_three_values(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = _conflict(runtime)
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    page, _, _ = _page(client, change_set_id)
    row = _row_html(page, "city")
    assert 'data-choice="1"' in row
    assert 'data-three-way="current">Brest<' in row and 'data-three-way="answer">Nantes<' in row
    assert 'data-three-way="base">' in row
    assert "Keep source" in row and "Take answer" in row and 'class="accept"' not in row
    before = runtime.changes.change_set(change_set_id)
    # The plain accept, "decide" and both approve-alls: refused or leaving it, nothing changes.
    for action, data, status in (
        ("fields/city/accept", {}, 422),
        ("decide", {"accept": "city"}, 422),
        ("approve", {}, 409),
        ("approve-valid", {}, 409),
    ):
        response = _post(client, change_set_id, action, **data)
        assert response.status_code == status, action
        if status == 422:
            assert 'data-code="choice_required"' in response.text
            assert "choose keep source, take answer" in response.text
    after = runtime.changes.change_set(change_set_id)
    assert after.version == before.version and after.row("city").status is FieldChangeStatus.PENDING
    assert crm_record(runtime, "C000002")["city"] == "Brest"
    with pytest.raises(ChoiceRequired):
        runtime.changes.accept(change_set_id, "city", actor="clerk", version=after.version)
    # Taking the answer needs a reason: refused without one, with the error by its box.
    response = _post(client, change_set_id, "fields/city/take-answer", reason="  ")
    assert response.status_code == 422
    assert (
        'id="reason-error-city"' in response.text and 'data-code="reason_required"' in response.text
    )
    with pytest.raises(ReasonRequired):
        runtime.changes.take_answer(
            change_set_id, "city", reason="", actor="clerk", version=after.version
        )
    assert runtime.changes.change_set(change_set_id).version == before.version
    response = _post(
        client, change_set_id, "fields/city/take-answer", reason="moved again, phoned her"
    )
    assert response.status_code == 303
    settled = runtime.changes.change_set(change_set_id).row("city")
    assert settled.status is FieldChangeStatus.APPLIED and settled.resolution == "take_answer"
    assert crm_record(runtime, "C000002")["city"] == "Nantes"
    (approved,) = _events(runtime, "approved")
    assert approved.detail["resolution"] == "take_answer"
    assert approved.detail["reason"] == "moved again, phoned her"


def test_keep_source_and_edit_settle_a_conflict(client: FlaskClient, runtime: Runtime) -> None:
    kept = _conflict(runtime)
    edited = answer(
        runtime, "contact-update", {"city": "Rennes"}, "C000003", source_changes={"city": "Vannes"}
    )
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    assert _post(client, kept, "fields/city/keep-source").status_code == 303
    row = runtime.changes.change_set(kept).row("city")
    assert (row.status, row.resolution) == (FieldChangeStatus.REJECTED, "keep_source")
    assert crm_record(runtime, "C000002")["city"] == "Brest"
    # An edit is a choice too: the edited value may then be accepted.
    assert _post(client, edited, "fields/city/edit", value="Saint-Malo").status_code == 303
    assert runtime.changes.change_set(edited).row("city").resolution == "edit"
    assert _post(client, edited, "fields/city/accept").status_code == 303
    assert crm_record(runtime, "C000003")["city"] == "Saint-Malo"
    # keep-source and take-answer settle conflicts only.
    clean = answer(runtime, "contact-update", {"city": "Lorient"}, "C000004")
    assert _post(client, clean, "fields/city/keep-source").status_code == 409


def test_a_write_back_conflict_needs_a_new_choice(runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Bron"}, "C000005")
    view = runtime.changes.change_set(change_set_id)
    # The clerk edited first (a choice of nothing: no conflict yet), then the source moves.
    view = runtime.changes.edit(change_set_id, "city", "Bron", actor="a", version=view.version)
    assert view.row("city").resolution is None
    change_source(runtime, "C000005", {"city": "Caluire"})
    view = runtime.changes.accept(change_set_id, "city", actor="a", version=view.version)
    assert view.row("city").status is FieldChangeStatus.CONFLICT
    with pytest.raises(ChoiceRequired):
        runtime.changes.accept(change_set_id, "city", actor="a", version=view.version)
    view = runtime.changes.take_answer(
        change_set_id, "city", reason="customer confirmed", actor="a", version=view.version
    )
    assert view.row("city").status is FieldChangeStatus.APPLIED
    assert crm_record(runtime, "C000005")["city"] == "Bron"


def test_the_station_shows_doubtful_characters_checks_and_who_corrected_what(
    app: Flask, client: FlaskClient, runtime: Runtime
) -> None:
    notes = {
        "postcode": {
            "characters": characters("76011", {1: (0.62, [["5", 0.35]])}),
            "suggestion_probability": 0.55,
            "ocr_value": "7601l",
        }
    }
    change_set_id = paper_change_set(
        runtime,
        {"address_line": "12 RUE DES LILAS", "postcode": "76011", "city": "PARIS"},
        "C000006",
        notes=notes,
    )
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    page, _, _ = _page(client, change_set_id)
    postcode = _row_html(page, "postcode")
    assert 'data-uncertain="1"' in postcode and 'data-doubtful-at="1"' in postcode
    station = page[page.index('id="station-postcode"') :]
    station = station[: station.index("</tr>")]
    assert '<mark class="doubtful" data-doubtful="1"' in station and ">6</mark>" in station
    assert f'src="/backoffice/change-sets/{change_set_id}/fields/postcode/evidence"' in station
    assert 'data-check="postcode_city_mismatch"' in station and "would pass: 75011" in station
    assert "The OCR first read 7601l" in station
    # The customer and the record's other fields are in view.
    record = crm_record(runtime, "C000006")
    assert f'data-customer="name">{record["title"]} {record["first_name"]}' in page
    assert 'data-customer="key">C000006<' in page
    assert 'data-unchanged="email"' in page and 'data-unchanged="city"' not in page
    # "Approve all valid lines" leaves the postcode and the city that contradict each other.
    assert _post(client, change_set_id, "approve-valid").status_code == 303
    view = runtime.changes.change_set(change_set_id)
    assert view.row("address_line").status is FieldChangeStatus.ACCEPTED
    assert view.row("postcode").status is FieldChangeStatus.PENDING
    assert view.row("city").status is FieldChangeStatus.PENDING
    # The clerk corrects one character: the page says the OCR read it, not the customer.
    assert _post(client, change_set_id, "fields/postcode/edit", value="75011").status_code == 303
    page, _, _ = _page(client, change_set_id)
    assert "The OCR read 76011; clerk corrected it to 75011." in _row_html(page, "postcode")
    assert "the customer wrote" not in page
    # Regression: in French too, the audit blamed the customer for the OCR's misread.
    french = app.test_client()
    assert sign_in(french, "clerk") == 303
    assert (
        "le client avait écrit" not in french.get(f"/backoffice/change-sets/{change_set_id}").text
    )
    assert 'data-written-by="ocr"' in page  # the history's edit says who wrote the old value
    (edit,) = _events(runtime, "edited")
    assert edit.detail["written_by"] == "ocr"
    assert _post(client, change_set_id, "approve-valid").status_code == 303
    assert crm_record(runtime, "C000006")["postcode"] == "75011"


def test_a_typed_answer_gets_the_services_own_checks(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"postcode": "76011", "city": "Paris"})
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    page, _, _ = _page(client, change_set_id)
    assert 'data-check="postcode_city_mismatch"' in page and "would pass: 75011" in page
    assert "<mark" not in page  # no reading: nothing highlighted


def test_next_follows_the_queue_filters(client: FlaskClient, runtime: Runtime) -> None:
    contact = answer(runtime, "contact-update", {"city": "Lyon"}, "C000001")
    bank = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}, "C000002"
    )
    other_bank = answer(
        runtime, "bank-details", {"account_holder": "Paul Durand", "mandate": True}, "C000003"
    )
    add_user(runtime, "clerk", ["clerk"])
    assert sign_in(client, "clerk") == 303
    assert client.get("/backoffice/?form=bank-details").status_code == 200
    first = client.get("/backoffice/next")
    assert first.headers["Location"].endswith(f"/change-sets/{bank}")
    then = client.get(f"/backoffice/next?after={bank}")
    assert then.headers["Location"].endswith(f"/change-sets/{other_bank}")  # not the contact one
    end = client.get(f"/backoffice/next?after={other_bank}")
    assert end.headers["Location"].endswith("/backoffice/?done=end")
    # Without filters, the whole queue again.
    assert client.get("/backoffice/").status_code == 200
    assert client.get("/backoffice/next").headers["Location"].endswith(f"/change-sets/{contact}")


def test_for_me_skips_what_waits_for_another_reviewer(
    client: FlaskClient, runtime: Runtime
) -> None:
    bank = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}, "C000002"
    )
    contact = answer(runtime, "contact-update", {"city": "Lyon"}, "C000001")
    add_user(runtime, "anna", ["clerk"])
    add_user(runtime, "bruno", ["clerk"])
    assert sign_in(client, "anna") == 303
    assert _post(client, bank, "approve").status_code == 303  # four eyes: Anna's first approval
    assert all(
        r.status is FieldChangeStatus.AWAITING_SECOND for r in runtime.changes.change_set(bank).rows
    )
    queue = client.get("/backoffice/").text
    assert 'data-board="for_others">1<' in queue and 'data-count="total">2<' in queue
    mine = client.get("/backoffice/?mine=y").text
    assert 'data-count="total">1<' in mine and bank not in mine and contact in mine
    # "Next" never lands on it for Anna, filters or not.
    assert client.get("/backoffice/").status_code == 200
    assert client.get("/backoffice/next").headers["Location"].endswith(f"/change-sets/{contact}")
    assert client.get(f"/backoffice/next?after={contact}").headers["Location"].endswith("?done=end")
    client.post("/backoffice/logout", data={"csrf_token": csrf_of(queue)})
    assert sign_in(client, "bruno") == 303
    queue = client.get("/backoffice/?mine=y").text
    assert 'data-board="for_others">0<' in queue and bank in queue
    assert client.get("/backoffice/next").headers["Location"].endswith(f"/change-sets/{bank}")


def test_the_api_settles_a_conflict_only_with_a_reason(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = _conflict(runtime)
    headers = {"Authorization": f"Bearer {add_token(runtime, 'robot', ['clerk'])}"}
    version = runtime.changes.change_set(change_set_id).version
    base = f"/api/v1/change-sets/{change_set_id}/fields/city"
    refused = client.post(f"{base}/accept", json={"version": version}, headers=headers)
    assert refused.status_code == 422 and refused.json is not None
    assert refused.json["code"] == "choice_required"
    no_reason = client.post(f"{base}/take-answer", json={"version": version}, headers=headers)
    assert no_reason.status_code == 422
    assert runtime.changes.change_set(change_set_id).version == version  # nothing changed
    taken = client.post(
        f"{base}/take-answer", json={"version": version, "reason": "newer"}, headers=headers
    )
    assert taken.status_code == 200 and taken.json is not None
    assert taken.json["status"] == "applied"
    assert crm_record(runtime, "C000002")["city"] == "Nantes"
