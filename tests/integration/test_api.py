"""The REST API over HTTP: tokens, submissions, change sets and decisions, audit, the spec."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from openapi_spec_validator import validate

from forms_service.runtime import Runtime
from forms_service.storage.model import Document, FieldChangeStatus
from tests.integration.reviewing import add_token, answer


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(body: Any, status: int) -> None:
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["reason"], str) and body["reason"]
    assert "field" in body


def test_the_spec_is_valid_openapi_and_names_every_resource(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec is not None
    validate(spec)
    paths = set(spec["paths"])
    assert {
        "/api/v1/documents",
        "/api/v1/submissions",
        "/api/v1/submissions/{submission_id}",
        "/api/v1/change-sets",
        "/api/v1/change-sets/{change_set_id}",
        "/api/v1/change-sets/{change_set_id}/approve",
        "/api/v1/change-sets/{change_set_id}/reject",
        "/api/v1/change-sets/{change_set_id}/fields/{field}",
        "/api/v1/change-sets/{change_set_id}/fields/{field}/accept",
        "/api/v1/change-sets/{change_set_id}/fields/{field}/reject",
        "/api/v1/audit",
    } <= paths
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    approve = spec["paths"]["/api/v1/change-sets/{change_set_id}/approve"]["post"]
    assert approve["security"] == [{"bearer": []}]
    assert {"200", "401", "403", "404", "409", "422"} <= set(approve["responses"])


def test_the_docs_page_works_offline(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert 'data-spec-url="/api/openapi.json"' in page.text
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        with client.get(f"/api/docs/assets/{asset}") as served:
            assert served.status_code == 200, asset
            assert len(served.data) > 1000
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert client.get("/api/docs/assets/..%2Fpyproject.toml").status_code == 404
    with client.get("/static/api-docs.js") as script:
        assert script.status_code == 200


def test_every_resource_needs_a_valid_token(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    calls = [
        ("get", "/api/v1/submissions", None),
        ("get", "/api/v1/change-sets", None),
        ("get", f"/api/v1/change-sets/{change_set_id}", None),
        ("post", f"/api/v1/change-sets/{change_set_id}/approve", {"version": 1}),
        ("patch", f"/api/v1/change-sets/{change_set_id}/fields/city", {"version": 1}),
        ("get", "/api/v1/audit", None),
    ]
    for method, path, body in calls:
        for headers in ({}, _auth("fst_not-a-token"), {"Authorization": "Basic eDp5"}):
            response = getattr(client, method)(path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            _problem(response.json, 401)


def test_submissions_show_values_only_to_roles_allowed(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    integration = add_token(runtime, "crm-sync", ["integration"])
    mailroom = add_token(runtime, "scanner", ["mailroom"])
    listed = client.get("/api/v1/submissions?form=contact-update", headers=_auth(integration))
    assert listed.status_code == 200
    body = listed.json
    assert body is not None and body["total"] == 1
    (item,) = body["items"]
    assert item["values"]["city"] == "Lyon"
    assert item["change_set_id"] == change_set_id
    detail = client.get(f"/api/v1/submissions/{item['id']}", headers=_auth(mailroom))
    assert detail.status_code == 200
    assert detail.json is not None and detail.json["values"] is None
    assert detail.json["reference"] == item["reference"]
    missing = client.get("/api/v1/submissions/nope", headers=_auth(integration))
    assert missing.status_code == 404
    _problem(missing.json, 404)
    bad = client.get("/api/v1/submissions?limit=0&channel=fax", headers=_auth(integration))
    assert bad.status_code == 422
    _problem(bad.json, 422)


def test_change_sets_are_listed_read_and_approved(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon", "postcode": "69003"})
    clerk = add_token(runtime, "review-bot", ["clerk"])
    queue = client.get("/api/v1/change-sets?form=contact-update", headers=_auth(clerk))
    assert queue.status_code == 200
    assert queue.json is not None
    assert queue.json["total"] == 1 and queue.json["counts"] == {"open": 1}
    (entry,) = queue.json["items"]
    assert entry["id"] == change_set_id and entry["fields"] == entry["waiting"] == 2
    detail = client.get(f"/api/v1/change-sets/{change_set_id}", headers=_auth(clerk))
    assert detail.status_code == 200
    view = detail.json
    assert view is not None
    assert {row["field"]: row["proposed"] for row in view["rows"]} == {
        "postcode": "69003",
        "city": "Lyon",
    }
    stale = client.post(
        f"/api/v1/change-sets/{change_set_id}/approve",
        json={"version": view["version"] + 5},
        headers=_auth(clerk),
    )
    assert stale.status_code == 409
    _problem(stale.json, 409)
    approved = client.post(
        f"/api/v1/change-sets/{change_set_id}/approve",
        json={"version": view["version"]},
        headers=_auth(clerk),
    )
    assert approved.status_code == 200
    assert approved.json is not None
    assert approved.json["status"] == "applied"
    assert {row["status"] for row in approved.json["rows"]} == {FieldChangeStatus.APPLIED.value}
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None and record["city"] == "Lyon"


def test_a_token_without_a_reviewer_role_cannot_decide(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    integration = add_token(runtime, "crm-sync", ["integration"])
    version = runtime.changes.change_set(change_set_id).version
    for path, body in (
        ("approve", {"version": version}),
        ("reject", {"version": version}),
        ("fields/city/accept", {"version": version}),
        ("fields/city/reject", {"version": version}),
    ):
        response = client.post(
            f"/api/v1/change-sets/{change_set_id}/{path}", json=body, headers=_auth(integration)
        )
        assert response.status_code == 403, path
        _problem(response.json, 403)
    assert runtime.changes.change_set(change_set_id).version == version


def test_edit_is_checked_by_the_field_type(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"postcode": "69003"})
    clerk = add_token(runtime, "review-bot", ["clerk"])
    version = runtime.changes.change_set(change_set_id).version
    path = f"/api/v1/change-sets/{change_set_id}/fields/postcode"
    refused = client.patch(path, json={"version": version, "value": "6900"}, headers=_auth(clerk))
    assert refused.status_code == 422
    assert refused.json is not None and refused.json["field"] == "postcode"
    assert runtime.changes.change_set(change_set_id).row("postcode").proposed == "69003"
    unknown = client.patch(
        f"/api/v1/change-sets/{change_set_id}/fields/nope",
        json={"version": version, "value": "x"},
        headers=_auth(clerk),
    )
    assert unknown.status_code == 404
    edited = client.patch(
        path, json={"version": version, "value": "69004", "accept": True}, headers=_auth(clerk)
    )
    assert edited.status_code == 200
    assert edited.json is not None
    row = next(r for r in edited.json["rows"] if r["field"] == "postcode")
    assert row["proposed"] == "69004" and row["edited_from"] == "69003"
    assert row["status"] == "applied"


def test_four_eyes_through_the_api(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(
        runtime, "bank-details", {"account_holder": "Jeanne Martin", "mandate": True}
    )
    first = add_token(runtime, "reviewer-one", ["clerk"])
    second = add_token(runtime, "reviewer-two", ["supervisor"])
    version = runtime.changes.change_set(change_set_id).version
    path = f"/api/v1/change-sets/{change_set_id}/approve"
    once = client.post(path, json={"version": version}, headers=_auth(first))
    assert once.status_code == 200
    assert once.json is not None
    assert {r["status"] for r in once.json["rows"]} == {"awaiting_second"}
    again = client.post(path, json={"version": once.json["version"]}, headers=_auth(first))
    assert again.status_code == 409  # nothing waits for this token any more
    twice = client.post(
        f"/api/v1/change-sets/{change_set_id}/fields/account_holder/accept",
        json={"version": once.json["version"]},
        headers=_auth(first),
    )
    assert twice.status_code == 403
    assert twice.json is not None and twice.json["code"] == "four_eyes"
    done = client.post(path, json={"version": once.json["version"]}, headers=_auth(second))
    assert done.status_code == 200
    assert done.json is not None and done.json["status"] == "applied"
    assert {r["second_reviewer"] for r in done.json["rows"]} == {"reviewer-two"}  # the owner


def test_reject_all_keeps_the_source(client: FlaskClient, runtime: Runtime) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    clerk = add_token(runtime, "review-bot", ["clerk"])
    before = runtime.connectors["crm"].read("customer", "C000001")
    version = runtime.changes.change_set(change_set_id).version
    response = client.post(
        f"/api/v1/change-sets/{change_set_id}/reject",
        json={"version": version, "reason": "customer called back"},
        headers=_auth(clerk),
    )
    assert response.status_code == 200
    assert response.json is not None and response.json["status"] == "rejected"
    assert runtime.connectors["crm"].read("customer", "C000001") == before


def test_audit_redacts_personal_values_for_roles_not_allowed(
    client: FlaskClient, runtime: Runtime
) -> None:
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    clerk = add_token(runtime, "review-bot", ["clerk"])
    supervisor = add_token(runtime, "auditor", ["supervisor"])
    version = runtime.changes.change_set(change_set_id).version
    client.post(
        f"/api/v1/change-sets/{change_set_id}/approve",
        json={"version": version},
        headers=_auth(clerk),
    )
    document_id = runtime.changes.change_set(change_set_id).document_id
    hidden = client.get(f"/api/v1/audit?document_id={document_id}", headers=_auth(clerk))
    assert hidden.status_code == 200
    assert hidden.json is not None
    approved = [e for e in hidden.json["items"] if e["kind"] == "approved"]
    assert approved and approved[0]["after"] == "[redacted]" and approved[0]["redacted"]
    assert "Lyon" not in hidden.text
    shown = client.get(f"/api/v1/audit?document_id={document_id}", headers=_auth(supervisor))
    assert shown.json is not None
    approved = [e for e in shown.json["items"] if e["kind"] == "approved"]
    assert approved[0]["after"] == "Lyon" and not approved[0]["redacted"]
    ids = [e["id"] for e in shown.json["items"]]
    assert ids == sorted(ids, reverse=True)
    paged = client.get(
        f"/api/v1/audit?document_id={document_id}&limit=1", headers=_auth(supervisor)
    )
    assert paged.json is not None
    assert paged.json["next_before_id"] == ids[0]
    older = client.get(
        f"/api/v1/audit?document_id={document_id}&limit=1&before_id={ids[0]}",
        headers=_auth(supervisor),
    )
    assert older.json is not None and older.json["items"][0]["id"] == ids[1]


def test_lone_surrogates_are_refused_before_any_query(
    client: FlaskClient, runtime: Runtime
) -> None:
    """Regression: "\\ud800" in a JSON body failed with 500 (UnicodeEncodeError) on both backends."""
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    clerk = add_token(runtime, "review-bot", ["clerk"])
    integrator = add_token(runtime, "issuer", ["integration"])
    version = runtime.changes.change_set(change_set_id).version
    calls: list[tuple[str, str, str, str, str]] = [
        (
            "patch",
            f"/api/v1/change-sets/{change_set_id}/fields/city",
            clerk,
            "value",
            "Ly\\ud800on",
        ),
        ("post", "/api/v1/documents", integrator, "form", "\\udfff"),
        ("post", "/api/v1/documents", integrator, "where", "city = '\\ud83d'"),
    ]
    for method, path, token, field, escaped in calls:
        fields = {"version": version, "keys": ["C000001"], "form": "contact-update"}
        # json.dumps would escape the backslash: the escape goes in after it.
        body = json.dumps({**fields, field: "SURROGATE"}).replace("SURROGATE", escaped)
        response = getattr(client, method)(
            path, data=body, headers={**_auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (path, response.status_code)
        _problem(response.json, 422)
        assert response.json is not None and response.json["field"] == field
    nested = client.post(
        "/api/v1/documents",
        data='{"form": "contact-update", "keys": ["C00\\udc00"]}',
        headers={**_auth(integrator), "Content-Type": "application/json"},
    )
    assert nested.status_code == 422 and nested.json is not None
    assert nested.json["field"] == "keys"
    # A real pair is text like any other: an emoji in a city is for the field type to judge.
    paired = client.patch(
        f"/api/v1/change-sets/{change_set_id}/fields/city",
        data=json.dumps({"version": version, "value": "X"}).replace("X", "Lyon \\ud83d\\ude00"),
        headers={**_auth(clerk), "Content-Type": "application/json"},
    )
    assert paired.status_code in (200, 422) and paired.json is not None
    assert paired.json.get("code") != "internal_server_error"
    assert runtime.changes.change_set(change_set_id).row("city").proposed in (
        "Lyon",
        "Lyon \U0001f600",
    )
    with runtime.sessions() as session:
        assert session.query(Document).count() == 1  # nothing issued by the refused calls


def test_a_json_body_nested_too_deep_is_refused_not_a_crash(
    client: FlaskClient, runtime: Runtime
) -> None:
    """Regression: '[' * 100000 as the body of POST /api/v1/documents failed with 500."""
    integrator = add_token(runtime, "issuer", ["integration"])
    headers = {**_auth(integrator), "Content-Type": "application/json"}
    for body in ("[" * 100_000, "[" * 500 + "]" * 500, '{"form": ' + "[" * 40 + "]" * 40 + "}"):
        response = client.post("/api/v1/documents", data=body, headers=headers)
        assert response.status_code == 422, body[:20]
        _problem(response.json, 422)
        assert response.json is not None and response.json["field"] == "body"
    malformed = client.post("/api/v1/documents", data="{nope", headers=headers)
    assert malformed.status_code == 400  # the API's own parser names what is wrong


def test_nul_characters_are_refused_before_any_query(client: FlaskClient, runtime: Runtime) -> None:
    """Regression: PostgreSQL refuses NUL in text, which made these requests fail with 500."""
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    token = add_token(runtime, "review-bot", ["clerk"])
    version = runtime.changes.change_set(change_set_id).version
    calls: list[tuple[str, str, Any]] = [
        ("get", "/api/v1/change-sets/a%00b", None),
        ("get", "/api/v1/change-sets?form=a%00", None),
        ("get", "/api/v1/submissions?form=a%00", None),
        ("get", "/api/v1/submissions/a%00", None),
        ("get", "/api/v1/audit?document_id=a%00", None),
        (
            "patch",
            f"/api/v1/change-sets/{change_set_id}/fields/city",
            {"version": version, "value": "Ly\x00on"},
        ),
    ]
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body, headers=_auth(token))
        assert response.status_code == 422, path
        _problem(response.json, 422)
    assert runtime.changes.change_set(change_set_id).row("city").proposed == "Lyon"


def test_integers_of_thousands_of_digits_are_refused_naming_the_field(
    client: FlaskClient, runtime: Runtime
) -> None:
    """Regression: a 5,000-digit integer in a JSON body failed with 500 (int parsing limit)."""
    change_set_id = answer(runtime, "contact-update", {"city": "Lyon"})
    token = add_token(runtime, "review-bot", ["clerk", "integration"])
    headers = {**_auth(token), "Content-Type": "application/json"}
    digits = "9" * 5000
    calls: list[tuple[str, str, str, str]] = [
        (
            "post",
            f"/api/v1/change-sets/{change_set_id}/approve",
            f'{{"version": {digits}}}',
            "version",
        ),
        (
            "patch",
            f"/api/v1/change-sets/{change_set_id}/fields/city",
            f'{{"version": 1, "value": -{digits}}}',
            "value",
        ),
        ("post", "/api/v1/documents", f'{{"form": "contact-update", "keys": [{digits}]}}', "keys"),
        ("post", "/api/v1/documents", f"[{digits}]", "body"),
    ]
    for method, path, body, field in calls:
        response = getattr(client, method)(path, data=body, headers=headers)
        assert response.status_code == 422, (path, response.status_code)
        _problem(response.json, 422)
        assert response.json is not None and response.json["field"] == field
    # An ordinary out-of-range number is still the schema's to judge.
    ordinary = client.post(
        f"/api/v1/change-sets/{change_set_id}/approve", data='{"version": 1e999}', headers=headers
    )
    assert ordinary.status_code == 422 and ordinary.json is not None
    assert ordinary.json["errors"]["json"]["version"]
    assert runtime.changes.change_set(change_set_id).row("city").proposed == "Lyon"
