"""Issuing documents from the CLI and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text, update

from forms_service.cli import cli
from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.issuing.service import IssuedDocument, snapshot_of
from forms_service.runtime import Runtime
from forms_service.storage.model import ApiToken, AuditEvent, Document, DocumentStatus
from forms_service.storage.service import make_engine
from tests.conftest import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_COLUMNS = ["key", "document_id", "reference", "link", "expires_at"]


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(cli, list(args))
    return result


def crm_keys(crm_url: str, where: str = "1=1", **params: Any) -> list[str]:
    engine = make_engine(crm_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT customer_no FROM customers WHERE {where} ORDER BY customer_no"), params
        )
        keys = [row[0] for row in rows]
    engine.dispose()
    return keys


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == MANIFEST_COLUMNS
        return list(reader)


def documents(runtime: Runtime) -> list[Document]:
    with runtime.sessions() as session:
        return list(session.execute(select(Document).order_by(Document.record_key)).scalars())


# -- the issue command --------------------------------------------------------------------


def test_issue_keys_writes_a_csv_manifest(app: Flask, runtime: Runtime, tmp_path: Path) -> None:
    manifest = tmp_path / "out" / "spring.csv"
    result = run(
        app,
        "issue",
        "--form",
        "contact-update",
        "--keys",
        "C000002, C000001",
        "--campaign",
        "spring",
        "--manifest",
        str(manifest),
    )
    assert result.exit_code == 0, result.output
    assert "2 documents issued, 0 already issued in campaign 'spring'" in result.output
    rows = read_csv(manifest)
    assert [r["key"] for r in rows] == ["C000001", "C000002"]
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        assert row["link"].startswith("http://localhost/f/")
        token = row["link"].removeprefix("http://localhost/f/")
        claims = runtime.signer.verify(token, now)
        assert claims.document_id == row["document_id"]
        assert len(row["document_id"]) == 22
        expires = dt.datetime.fromisoformat(row["expires_at"])
        assert dt.timedelta(days=59) < expires - now <= dt.timedelta(days=60)
        record = runtime.connectors["crm"].read("customer", row["key"])
        assert record is not None
        for column in ("last_name", "first_name", "city", "postcode", "email"):
            assert str(record[column]).lower() not in row["link"].lower()  # no personal data
    stored = documents(runtime)
    assert [d.record_key for d in stored] == ["C000001", "C000002"]
    definition = runtime.definitions["contact-update"]
    for document in stored:
        record = runtime.connectors["crm"].read("customer", document.record_key)
        assert record is not None
        assert document.snapshot == snapshot_of(definition, record)
        assert document.status is DocumentStatus.ISSUED
        assert document.campaign == "spring"
        assert document.form_version == definition.version
        assert set(document.challenge_digests) == {"salt", "birth_date"}
        assert record["birth_date"].isoformat() not in json.dumps(document.challenge_digests)
    with runtime.sessions() as session:
        issued = session.execute(select(AuditEvent).where(AuditEvent.kind == "issued")).scalars()
        assert sorted(e.actor for e in issued) == ["cli", "cli"]


def test_issue_where_writes_a_json_manifest(
    app: Flask, runtime: Runtime, tmp_path: Path, crm_url: str
) -> None:
    (first_city,) = crm_keys(crm_url, "customer_no = 'C000003'")
    engine = make_engine(crm_url)
    with engine.connect() as connection:
        prefix = connection.execute(
            text("SELECT substr(postcode, 1, 1) FROM customers WHERE customer_no = 'C000003'")
        ).scalar_one()
    engine.dispose()
    expected = crm_keys(crm_url, "postcode LIKE :p AND consent_post = 1", p=f"{prefix}%")
    assert expected and first_city == "C000003"
    manifest = tmp_path / "where.json"
    result = run(
        app,
        "issue",
        "--form",
        "consent-preferences",
        "--where",
        f"postcode^={prefix} and consent_post=1",
        "--campaign",
        "c1",
        "--manifest",
        str(manifest),
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(manifest.read_text())
    assert [r["key"] for r in rows] == expected
    assert set(rows[0]) == set(MANIFEST_COLUMNS)
    assert len({r["document_id"] for r in rows}) == len(expected)


def test_issue_all_and_reissue_in_the_same_campaign(
    app: Flask, runtime: Runtime, tmp_path: Path, crm_url: str
) -> None:
    everyone = crm_keys(crm_url)
    assert len(everyone) == 40
    first = run(app, "issue", "--form", "bank-details", "--all", "--campaign", "autumn")
    assert first.exit_code == 0, first.output
    assert "40 documents issued, 0 already issued" in first.output
    default_manifest = tmp_path / "var" / "manifests" / "bank-details-autumn.csv"
    assert f"manifest: {default_manifest}" in first.output
    rows = read_csv(default_manifest)
    assert [r["key"] for r in rows] == everyone
    # The same campaign again: the same documents and links, nothing new stored.
    again = run(app, "issue", "--form", "bank-details", "--all", "--campaign", "autumn")
    assert again.exit_code == 0, again.output
    assert "0 documents issued, 40 already issued in campaign 'autumn'" in again.output
    assert read_csv(default_manifest) == rows
    # Adding one record to the campaign issues only that one.
    subset = run(
        app,
        "issue",
        "--form",
        "bank-details",
        "--keys",
        "C000001,C000002",
        "--campaign",
        "autumn",
        "--manifest",
        str(tmp_path / "subset.csv"),
    )
    assert "0 documents issued, 2 already issued" in subset.output
    assert read_csv(tmp_path / "subset.csv") == rows[:2]
    # Another campaign is another document.
    other = run(app, "issue", "--form", "bank-details", "--keys", "C000001", "--campaign", "winter")
    assert "1 documents issued, 0 already issued" in other.output
    with runtime.sessions() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 41
        counted = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "issued")
        ).scalar_one()
        assert counted == 41


def test_the_default_campaign_is_today(app: Flask, runtime: Runtime) -> None:
    result = run(app, "issue", "--form", "consent-preferences", "--keys", "C000001")
    assert result.exit_code == 0, result.output
    (document,) = documents(runtime)
    assert document.campaign == dt.date.today().isoformat()


@pytest.mark.parametrize(
    "selection",
    [[], ["--keys", "C000001", "--all"], ["--where", "city=Lyon", "--keys", "C000001"]],
)
def test_issue_needs_exactly_one_selection(
    app: Flask, runtime: Runtime, selection: list[str]
) -> None:
    result = run(app, "issue", "--form", "contact-update", *selection)
    assert result.exit_code == 2
    assert "give exactly one of --keys, --where or --all" in result.output
    assert documents(runtime) == []


def test_issuing_a_key_that_is_not_in_the_source_issues_nothing_for_it(
    app: Flask, runtime: Runtime, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.csv"
    result = run(
        app,
        "issue",
        "--form",
        "contact-update",
        "--keys",
        "C000001,NOPE",
        "--manifest",
        str(manifest),
    )
    assert result.exit_code == 0, result.output
    assert [r["key"] for r in read_csv(manifest)] == ["C000001"]
    assert "1 documents issued" in result.stdout
    assert result.stderr == "warning: 1 key(s) not found in the source: NOPE\n"


# -- the console script: exit codes and messages ------------------------------------------


@pytest.fixture
def console(tmp_path: Path, crm_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The installed `forms-service` script, configured by FORMS_* variables.

    These commands fail before touching the service database, so one backend is enough.
    """
    env = {
        **os.environ,
        "FORMS_VAR_DIR": str(tmp_path / "var"),
        "FORMS_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'forms.sqlite'}",
        "FORMS_DEFINITIONS_DIR": str(DEFINITIONS),
        "FORMS_CONNECTORS": json.dumps(
            {"crm": {"type": "sql", "url": crm_url, "record_types": DEMO_CRM_RECORD_TYPES}}
        ),
    }
    env.pop("FORMS_CONFIG", None)
    script = Path(sys.executable).with_name("forms-service")

    def invoke(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    return invoke


@pytest.mark.slow
def test_definitions_check_lists_what_it_loaded(
    console: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    done = console("definitions", "check")
    assert done.returncode == 0, done.stderr
    *lines, organisation = done.stdout.splitlines()
    rules = [x for x in lines if x.startswith("ok: consent/contact_rules.yaml: ")]
    assert rules == [
        "ok: consent/contact_rules.yaml: 2 caps, 1 calendars, 2 channel capacities (Europe/Paris)"
    ]
    lines.remove(rules[0])
    assert len(lines) == len(list(DEFINITIONS.glob("*.yaml")))
    assert all(re.fullmatch(r"ok: [a-z0-9-]+\.yaml: [a-z0-9-]+ v\d+, \d+ fields", x) for x in lines)
    assert organisation == "ok: organisation: Mutuelle Horizon"
    assert "ok: contact-update.yaml: contact-update v1, 7 fields" in lines
    assert done.stderr == ""


@pytest.mark.slow
def test_definitions_check_names_each_problem_and_fails(
    console: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (DEFINITIONS / "contact-update.yaml").read_text(encoding="utf-8")
    (broken / "contact-update.yaml").write_text(
        source.replace("policy: auto", "policy: sometimes", 1).replace(
            "connector: crm", "connector: erp"
        ),
        encoding="utf-8",
    )
    (broken / "consent.yaml").write_text("id: [unclosed", encoding="utf-8")
    done = console("definitions", "check", str(broken))
    assert done.returncode == 1
    assert done.stdout == ""
    errors = done.stderr.splitlines()
    assert errors[0].startswith("error: consent.yaml: cannot be read as YAML")
    assert "error: contact-update.yaml: source connector 'erp' is not configured" in errors[1]
    assert errors[2].startswith("error: contact-update.yaml: field 'email': policy 'sometimes'")
    assert len(errors) == 3


@pytest.mark.slow
def test_a_broken_definition_stops_every_command_with_exit_code_2(
    console: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    source = (DEFINITIONS / "bank-details.yaml").read_text(encoding="utf-8")
    (broken / "bank-details.yaml").write_text(source.replace("type: iban", "type: ibna"))
    done = console("issue", "--form", "bank-details", "--all", FORMS_DEFINITIONS_DIR=str(broken))
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot start:\n")
    assert "bank-details.yaml: field 'iban': unknown type 'ibna'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_issue_errors_are_one_clear_line(
    console: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    unknown = console("issue", "--form", "no-such-form", "--all")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error (form): unknown form 'no-such-form'"
    bad_where = console("issue", "--form", "contact-update", "--where", "city ~ Lyon")
    assert bad_where.returncode == 1
    assert "cannot read condition 'city ~ Lyon'" in bad_where.stderr
    unknown_column = console("issue", "--form", "contact-update", "--where", "town=Lyon")
    assert unknown_column.returncode == 1
    assert "unknown column 'town'" in unknown_column.stderr
    assert "Traceback" not in unknown.stderr + bad_where.stderr + unknown_column.stderr


# -- the API ------------------------------------------------------------------------------


def make_token(runtime: Runtime, name: str, *roles: str) -> str:
    from tests.integration.reviewing import add_token  # a deciding token gets an owner

    return add_token(runtime, name, roles)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_issues_documents_idempotently(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "crm-batch", "integration")
    body = {"form": "contact-update", "keys": ["C000001", "C000002"], "campaign": "api-1"}
    first = client.post("/api/v1/documents", json=body, headers=bearer(token))
    assert first.status_code == 201, first.json
    payload = first.json
    assert payload is not None
    assert payload["campaign"] == "api-1"
    lines = payload["documents"]
    assert [d["key"] for d in lines] == ["C000001", "C000002"]
    assert all(d["created"] for d in lines)
    assert set(lines[0]) == {"key", "document_id", "reference", "link", "expires_at", "created"}
    now = dt.datetime.now(dt.UTC)
    for line in lines:
        claims = runtime.signer.verify(line["link"].removeprefix("http://localhost/f/"), now)
        assert claims.document_id == line["document_id"]
    again = client.post("/api/v1/documents", json=body, headers=bearer(token))
    assert again.status_code == 201
    assert again.json is not None
    assert [d["document_id"] for d in again.json["documents"]] == [d["document_id"] for d in lines]
    assert not any(d["created"] for d in again.json["documents"])
    with runtime.sessions() as session:
        issued = session.execute(select(AuditEvent.actor).where(AuditEvent.kind == "issued"))
        assert sorted(issued.scalars()) == ["api:crm-batch", "api:crm-batch"]
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 2


def test_api_where_selection_and_default_campaign(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "crm", "integration")
    response = client.post(
        "/api/v1/documents",
        json={"form": "consent-preferences", "where": "customer_no<=C000003"},
        headers=bearer(token),
    )
    assert response.status_code == 201
    assert response.json is not None
    assert response.json["campaign"] == dt.date.today().isoformat()
    assert [d["key"] for d in response.json["documents"]] == ["C000001", "C000002", "C000003"]


def test_an_admin_token_may_issue(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "root", "admin")
    response = client.post(
        "/api/v1/documents", json={"form": "bank-details", "all": True}, headers=bearer(token)
    )
    assert response.status_code == 201
    assert response.json is not None
    assert len(response.json["documents"]) == 40


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer fst_not-a-real-token"},
    ],
)
def test_api_without_valid_token_is_401(
    client: FlaskClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/documents", json={"form": "contact-update", "all": True}, headers=headers
    )
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["code"] == "unauthorized"
    assert response.json["status"] == 401
    assert response.json["reason"]
    assert documents(runtime) == []


def test_api_authenticates_before_reading_the_body(client: FlaskClient, runtime: Runtime) -> None:
    # An anonymous caller learns nothing about the schema from validation messages.
    response = client.post("/api/v1/documents", json={"nonsense": 1})
    assert response.status_code == 401


def test_a_revoked_token_is_401(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "old", "integration")
    with runtime.sessions() as session, session.begin():
        session.execute(update(ApiToken).values(revoked_at=dt.datetime.now(dt.UTC)))
    response = client.post(
        "/api/v1/documents", json={"form": "contact-update", "all": True}, headers=bearer(token)
    )
    assert response.status_code == 401


def test_api_token_without_the_role_is_403(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "a-clerk", "clerk")
    response = client.post(
        "/api/v1/documents", json={"form": "contact-update", "all": True}, headers=bearer(token)
    )
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["code"] == "forbidden"
    assert documents(runtime) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"keys": ["C000001"]}, "form"),
        ({"form": "contact-update"}, "keys"),
        ({"form": "contact-update", "keys": ["C000001"], "all": True}, "keys"),
        ({"form": "contact-update", "keys": []}, "keys"),
        ({"form": "contact-update", "all": "perhaps"}, "all"),
        ({"form": "contact-update", "all": True, "campaign": "x" * 65}, "campaign"),
        ({"form": "contact-update", "all": True, "unknown": 1}, "unknown"),
    ],
)
def test_api_refuses_bad_bodies_with_422_naming_the_field(
    client: FlaskClient, runtime: Runtime, body: dict[str, Any], field: str
) -> None:
    token = make_token(runtime, "crm", "integration")
    response = client.post("/api/v1/documents", json=body, headers=bearer(token))
    assert response.status_code == 422, response.json
    assert response.json is not None
    assert response.json["status"] == 422
    assert field in json.dumps(response.json["errors"])
    assert documents(runtime) == []


def test_api_unknown_form_is_404_and_bad_where_is_422(
    client: FlaskClient, runtime: Runtime
) -> None:
    token = make_token(runtime, "crm", "integration")
    unknown = client.post(
        "/api/v1/documents", json={"form": "nope", "all": True}, headers=bearer(token)
    )
    assert unknown.status_code == 404
    assert unknown.json == {
        "status": 404,
        "code": "not_found",
        "field": "form",
        "reason": "unknown form 'nope'",
    }
    bad = client.post(
        "/api/v1/documents",
        json={"form": "contact-update", "where": "city ~ Lyon"},
        headers=bearer(token),
    )
    assert bad.status_code == 422
    assert bad.json is not None
    assert bad.json["code"] == "bad_selection"
    assert documents(runtime) == []


def test_issued_links_open_the_form(client: FlaskClient, runtime: Runtime) -> None:
    token = make_token(runtime, "crm", "integration")
    response = client.post(
        "/api/v1/documents",
        json={"form": "consent-preferences", "keys": ["C000004"]},
        headers=bearer(token),
    )
    assert response.json is not None
    link = response.json["documents"][0]["link"]
    page = client.get(link.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "Vos préférences de contact" in page.text


def test_issuing_the_same_record_concurrently_gives_one_document(runtime: Runtime) -> None:
    definition = runtime.definitions["contact-update"]
    barrier = threading.Barrier(4)
    lines: list[IssuedDocument] = []
    errors: list[BaseException] = []

    def issue() -> None:
        try:
            barrier.wait(timeout=30)
            lines.append(runtime.issuing.issue_one(definition, "C000005", "race"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({line.document_id for line in lines}) == 1
    assert len({line.link for line in lines}) == 1
    assert sum(line.created for line in lines) == 1
    assert [d.record_key for d in documents(runtime)] == ["C000005"]


# -- batches (campaigns) ------------------------------------------------------------------


def test_issue_all_writes_its_documents_a_batch_per_transaction(
    app: Flask, runtime: Runtime, tmp_path: Path
) -> None:
    commits: list[object] = []
    count = commits.append  # one bound method: listen and remove need the same object
    event.listen(runtime.engine, "commit", count)
    try:
        result = run(app, "issue", "--form", "contact-update", "--all", "--campaign", "b")
    finally:
        event.remove(runtime.engine, "commit", count)
    assert result.exit_code == 0, result.output
    assert "40 documents issued" in result.output
    assert len(commits) == 1  # 40 documents and their audit events, one batch
    assert len(documents(runtime)) == 40
    _audit_verifies(runtime)


def _records(runtime: Runtime, keys: list[str]) -> dict[str, Any]:
    return dict(runtime.connectors["crm"].read_many("customer", keys))


def _audit_verifies(runtime: Runtime) -> None:
    from forms_service.audit.service import verify

    with runtime.sessions() as session:
        report = verify(session)
    assert report.ok, report


def test_a_batch_is_one_transaction_and_keeps_what_was_issued(runtime: Runtime) -> None:
    definition = runtime.definitions["contact-update"]
    keys = [f"C{n:06d}" for n in range(1, 11)]
    runtime.issuing.issue_one(definition, keys[3], "batch")  # issued before, on its own
    commits: list[object] = []
    count = commits.append  # one bound method: listen and remove need the same object
    event.listen(runtime.engine, "commit", count)
    try:
        issued = runtime.issuing.issue_batch(definition, _records(runtime, keys), "batch")
    finally:
        event.remove(runtime.engine, "commit", count)
    assert len(commits) == 1  # ten documents and their audit events: one transaction
    assert [d.record_key for d, _new in issued] == keys
    assert [new for _d, new in issued] == [True] * 3 + [False] + [True] * 6
    stored = {d.record_key: d for d in documents(runtime)}
    assert len(stored) == 10 and all(stored[d.record_key].id == d.id for d, _ in issued)
    crm = runtime.connectors["crm"]
    for document, _new in issued:
        record = crm.read("customer", document.record_key)
        assert record is not None
        assert document.snapshot == snapshot_of(definition, record)
    with runtime.sessions() as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [e.document_id for e in events] == [
        stored[k].id for k in [keys[3], *keys[:3], *keys[4:]]
    ]
    assert {e.kind for e in events} == {"issued"}
    assert events[-1].detail == {"form": "contact-update", "version": 1, "campaign": "batch"}
    _audit_verifies(runtime)
    again = runtime.issuing.issue_batch(definition, _records(runtime, keys), "batch")
    assert [(d.id, new) for d, new in again] == [(d.id, False) for d, _ in issued]


def test_a_batch_that_loses_a_race_issues_each_document_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = runtime.definitions["consent-preferences"]
    keys = [f"C{n:06d}" for n in range(1, 6)]
    winner = runtime.issuing.issue_one(definition, keys[2], "race")
    # As if another process had issued keys[2] between this batch's lookup and its insert.
    monkeypatch.setattr(runtime.issuing, "_existing_many", lambda *_args: {})
    issued = runtime.issuing.issue_batch(definition, _records(runtime, keys), "race")
    assert [d.record_key for d, _ in issued] == keys
    assert [new for _, new in issued] == [True, True, False, True, True]
    assert issued[2][0].id == winner.document_id
    assert len(documents(runtime)) == 5
    with runtime.sessions() as session:
        count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert count == 5  # the rolled-back batch left no event behind
    _audit_verifies(runtime)


def test_overlapping_batches_in_parallel_issue_each_document_once(runtime: Runtime) -> None:
    definition = runtime.definitions["contact-update"]
    everyone = [f"C{n:06d}" for n in range(1, 21)]
    batches = [everyone[0:10], everyone[5:15], everyone[10:20], everyone[0:20]]
    barrier = threading.Barrier(len(batches))
    results: list[list[tuple[str, str, bool]]] = []
    errors: list[BaseException] = []

    def issue(keys: list[str]) -> None:
        try:
            records = _records(runtime, keys)
            barrier.wait(timeout=30)
            issued = runtime.issuing.issue_batch(definition, records, "parallel")
            results.append([(d.record_key, d.id, new) for d, new in issued])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(keys,)) for keys in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = {d.record_key: d.id for d in documents(runtime)}
    assert sorted(stored) == everyone
    seen = [line for result in results for line in result]
    assert all(stored[key] == document_id for key, document_id, _new in seen)
    assert sum(new for _key, _id, new in seen) == 20  # each document created exactly once
    with runtime.sessions() as session:
        count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert count == 20
    _audit_verifies(runtime)
