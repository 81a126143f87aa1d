"""Fillable-PDF returns end to end: the real issued PDF, filled by real tools, uploaded over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forms_service.app import create_app
from forms_service.connectors.interfaces import Selection
from forms_service.intake.pdf.service import TamperedPdfToken, UnidentifiedPdf
from forms_service.issuing.tokens import ExpiredLink
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    ChangeSet,
    Document,
    DocumentStatus,
    FieldChangeRow,
    PdfReturn,
    PdfReturnStatus,
    SecurityEvent,
    Submission,
)
from forms_service.storage.scans import ScanBatch
from tests.conftest import hidden_fields
from tests.integration.reviewing import add_token
from tests.pdf_forms import (
    FIXTURES,
    declared_pages,
    drop_values,
    encrypt,
    fdf_of,
    fill_with_pdfium,
    fill_with_pdftk,
    fill_with_pypdf,
    run_tool,
)

#: Small enough that a test file can go over it, large enough for an issued letter (~70 KB).
MAX_BYTES = 400_000


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "MAX_CONTENT_LENGTH": MAX_BYTES}


def _issue(runtime: Runtime, form_id: str, key: str = "C000001") -> tuple[str, str]:
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "test")
    return issued.document_id, issued.link.removeprefix("http://localhost")


def _pdf(runtime: Runtime, document_id: str) -> bytes:
    return runtime.printer.pdf_for(document_id)


def _birth_date(runtime: Runtime, key: str = "C000001") -> str:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return str(record["birth_date"].strftime("%d/%m/%Y"))


def _upload(
    client: FlaskClient, path: str, content: bytes, **fields: str
) -> Any:  # the test response
    page = client.get(f"{path}/upload")
    assert page.status_code == 200
    data: dict[str, Any] = {"csrf_token": hidden_fields(page.text)["csrf_token"], **fields}
    data["file"] = (io.BytesIO(content), "formulaire.pdf", "application/pdf")
    return client.post(f"{path}/upload", data=data, content_type="multipart/form-data")


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        submissions = session.execute(select(func.count()).select_from(Submission)).scalar_one()
        returns = session.execute(select(func.count()).select_from(PdfReturn)).scalar_one()
    return submissions, returns


def _stored_files(runtime: Runtime) -> list[Path]:
    return [p for p in Path(runtime.files.root).rglob("*") if p.is_file()]


def _security_events(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(select(SecurityEvent.kind, SecurityEvent.detail)).all()
    return [(kind, detail) for kind, detail in rows]


def test_customer_uploads_the_filled_letter(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "contact-update")
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"postcode": "69003", "city": "Lyon"})
    response = _upload(client, path, filled, birth_date=_birth_date(runtime))
    assert response.status_code == 200, response.text
    assert "69003" in response.text and "Lyon" in response.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.channel == "pdf"
        assert submission.values["postcode"] == "69003"
        assert submission.values["city"] == "Lyon"
        # Empty boxes mean "unchanged": the snapshot value is kept.
        assert submission.values["address_line"] == submission.base["address_line"]
        assert submission.evidence["city"]["kind"] == "pdf_field"
        assert submission.evidence["city"]["pdf_field"] == "city"
        assert submission.evidence["address_line"]["unchanged"] is True
        pdf_return = session.execute(select(PdfReturn)).scalar_one()
        assert pdf_return.status is PdfReturnStatus.READ
        assert pdf_return.submission_id == submission.id and pdf_return.via == "upload"
        assert runtime.files.get(pdf_return.file_key) == filled
        assert submission.evidence["city"]["file"] == pdf_return.file_key
        # The same pipeline as the online channel: a change set was proposed.
        change_set = session.execute(select(ChangeSet)).scalar_one()
        assert change_set.submission_id == submission.id and change_set.channel == "pdf"
        assert session.get_one(Document, document_id).status is not DocumentStatus.ISSUED


def test_upload_asks_the_identity_question_first(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "contact-update")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"city": "Lyon"})
    response = _upload(client, path, filled, birth_date="01/01/1900")
    assert response.status_code == 422
    assert _counts(runtime) == (0, 0)
    assert ("challenge_failed", "") in _security_events(runtime)


def _fill_by(tool: str, pdf: bytes, values: dict[str, str], tmp_path: Path) -> bytes:
    if tool == "pypdf":
        return fill_with_pypdf(pdf, values)
    if tool == "pypdf-no-need-appearances":
        return fill_with_pypdf(pdf, values, need_appearances=False)
    if tool == "pypdf-incremental":
        return fill_with_pypdf(pdf, values, incremental=True)
    if tool == "pdftk":
        return fill_with_pdftk(pdf, fdf_of(values), tmp_path, need_appearances=False)
    if tool == "pdftk-need-appearances":
        return fill_with_pdftk(pdf, fdf_of(values), tmp_path, need_appearances=True)
    if tool == "qpdf-rewritten":
        (tmp_path / "in.pdf").write_bytes(fill_with_pypdf(pdf, values))
        run_tool(["qpdf", "--object-streams=generate", "in.pdf", "out.pdf"], tmp_path)
        return (tmp_path / "out.pdf").read_bytes()
    if tool == "pdfium":
        return fill_with_pdfium(pdf, values)
    if tool == "pdfium-incremental":
        return fill_with_pdfium(pdf, values, incremental=True)
    if tool == "appearance-only":
        filled = fill_with_pypdf(pdf, values)
        return drop_values(filled, [k for k, v in values.items() if not v.startswith("/")])
    raise AssertionError(tool)


@pytest.mark.parametrize(
    "tool",
    [
        "pypdf",
        "pypdf-no-need-appearances",
        "pypdf-incremental",
        "pdftk",
        "pdftk-need-appearances",
        "qpdf-rewritten",
        "pdfium",
        "pdfium-incremental",
        "appearance-only",
    ],
)
def test_letters_filled_by_many_tools(runtime: Runtime, tool: str, tmp_path: Path) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    token = path.removeprefix("/f/")
    values = {
        "consent_email": "/false",
        "consent_sms": "/true",
        "preferred_channel": "/post",
        "interests:credit": "/Yes",
        "interests:savings": "/Yes",
    }
    filled = _fill_by(tool, _pdf(runtime, document_id), values, tmp_path)
    receipt = runtime.pdf_returns.receive(
        filled, link_token=token, via="upload", actor="customer", client="test"
    )
    assert receipt.status is PdfReturnStatus.READ and receipt.submission is not None
    answered = receipt.submission.values
    assert answered["consent_email"] == "false"
    assert answered["consent_sms"] == "true"
    assert answered["preferred_channel"] == "post"
    assert answered["interests"] == "savings,credit"
    # Left Off: unchanged.
    assert answered["consent_partners"] == receipt.submission.base["consent_partners"]


def test_text_values_from_appearance_streams_only(runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "contact-update")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"city": "Villeurbanne"})
    receipt = runtime.pdf_returns.receive(
        drop_values(filled, ["city"]), link_token=path[3:], via="upload", actor="customer"
    )
    assert receipt.submission is not None
    assert receipt.submission.values["city"] == "Villeurbanne"
    assert receipt.submission.evidence["city"]["source"] == "AP"
    assert receipt.submission.evidence["city"]["confidence"] == 0.8  # a clerk looks first
    with runtime.sessions() as session:
        row = session.execute(
            select(FieldChangeRow).where(FieldChangeRow.field == "city")
        ).scalar_one()
        assert row.confidence == 0.8


def _api_token(runtime: Runtime, roles: list[str], name: str = "robot") -> str:
    return add_token(runtime, name, roles)  # a deciding token gets an owner


@pytest.mark.parametrize("role", ["integration", "mailroom"])
def test_api_return_is_identified_by_its_own_token(
    client: FlaskClient, runtime: Runtime, role: str
) -> None:
    document_id, _path = _issue(runtime, "bank-details")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"account_holder": "Marie Dupont"})
    response = client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(filled), "return.pdf", "application/pdf")},
        headers={"Authorization": f"Bearer {_api_token(runtime, [role])}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert body["status"] == "read" and body["document_id"] == document_id
    assert body["changed_fields"] == ["account_holder"]
    again = client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(filled), "return.pdf", "application/pdf")},
        headers={"Authorization": f"Bearer {_api_token(runtime, [role], 'robot2')}"},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200 and again.get_json()["repeated"] is True
    assert _counts(runtime) == (1, 1)


def test_api_with_a_link_token_that_names_another_letter(
    client: FlaskClient, runtime: Runtime
) -> None:
    _mine, my_path = _issue(runtime, "bank-details", "C000001")
    theirs, _ = _issue(runtime, "bank-details", "C000002")
    filled = fill_with_pypdf(_pdf(runtime, theirs), {"account_holder": "Someone Else"})
    response = client.post(
        "/api/v1/returns",
        data={
            "file": (io.BytesIO(filled), "return.pdf", "application/pdf"),
            "token": my_path.removeprefix("/f/"),
        },
        headers={"Authorization": f"Bearer {_api_token(runtime, ['mailroom'])}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "pdf_other_document"
    assert response.get_json()["field"] == "file"
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)


def test_api_refuses_without_the_right_role_or_file(client: FlaskClient, runtime: Runtime) -> None:
    document_id, _path = _issue(runtime, "bank-details")
    pdf = _pdf(runtime, document_id)

    def upload() -> dict[str, Any]:
        return {"file": (io.BytesIO(pdf), "return.pdf", "application/pdf")}

    assert client.post("/api/v1/returns", data=upload()).status_code == 401
    clerk = {"Authorization": f"Bearer {_api_token(runtime, ['clerk'])}"}
    forbidden = client.post("/api/v1/returns", data=upload(), headers=clerk)
    assert forbidden.status_code == 403
    robot = {"Authorization": f"Bearer {_api_token(runtime, ['integration'], 'robot2')}"}
    missing = client.post("/api/v1/returns", data={"token": "x"}, headers=robot)
    assert missing.status_code == 422
    assert missing.get_json()["field"] == "file"
    # A filled PDF that does not say which letter it answers.
    foreign = (FIXTURES / "pdfbox" / "acroform.pdf").read_bytes()
    unidentified = client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(foreign), "a.pdf", "application/pdf")},
        headers=robot,
        content_type="multipart/form-data",
    )
    assert unidentified.status_code == 422
    assert unidentified.get_json() == {
        "status": 422,
        "code": "pdf_unidentified",
        "field": "file",
        "reason": unidentified.get_json()["reason"],
    }
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)


def test_another_customers_pdf_on_my_link(client: FlaskClient, runtime: Runtime) -> None:
    mine, my_path = _issue(runtime, "bank-details", "C000001")
    theirs, _ = _issue(runtime, "bank-details", "C000002")
    filled = fill_with_pypdf(_pdf(runtime, theirs), {"account_holder": "Someone Else"})
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    response = _upload(
        client, my_path, filled, birth_date=_birth_date(runtime), postcode=record["postcode"]
    )
    assert response.status_code == 403
    assert "quelqu&#39;un d&#39;autre" in response.text or "quelqu'un d'autre" in response.text
    assert ("pdf_other_document", "the PDF names another document") in _security_events(runtime)
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)
    with runtime.sessions() as session:
        event = session.execute(
            select(SecurityEvent).where(SecurityEvent.kind == "pdf_other_document")
        ).scalar_one()
        assert event.document_id == mine


def _bad_files(good: bytes) -> dict[str, tuple[bytes, int, str]]:
    return {
        "not-a-pdf": (b"Nom;IBAN\nDupont;FR7630006000011234567890189\n", 415, "not_a_pdf"),
        "encrypted": (encrypt(good, user_password="secret"), 422, "pdf_encrypted"),
        "truncated": (good[: len(good) // 2], 422, "pdf_corrupt"),
        "page-bomb": (declared_pages(good, 10**9), 422, "pdf_too_complex"),
        "nesting-bomb": (
            b"%PDF-1.4\n1 0 obj\n" + b"[" * 3000 + b"]" * 3000 + b"\nendobj\n%%EOF\n",
            422,
            "pdf_too_complex",
        ),
    }


@pytest.mark.parametrize(
    "case", ["not-a-pdf", "encrypted", "truncated", "page-bomb", "nesting-bomb"]
)
def test_bad_files_are_refused_and_nothing_is_stored(
    client: FlaskClient, runtime: Runtime, case: str
) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    content, status, code = _bad_files(_pdf(runtime, document_id))[case]
    response = _upload(client, path, content)
    assert response.status_code == status
    assert f'data-code="{code}"' in response.text
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)
    assert _security_events(runtime) == [("pdf_rejected", code)]


def test_over_the_size_limit(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    big = _pdf(runtime, document_id) + b"%" + b"x" * MAX_BYTES + b"\n%%EOF\n"
    response = _upload(client, path, big)
    assert response.status_code == 413
    assert "trop volumineux" in response.text
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)


def test_values_the_form_refuses(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "contact-update")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"postcode": "00000"})
    response = _upload(client, path, filled, birth_date=_birth_date(runtime))
    assert response.status_code == 422
    assert "Code postal" in response.text
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)
    assert _security_events(runtime) == [("pdf_rejected", "invalid")]


def test_tampered_token_in_the_pdf(runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    token = path.removeprefix("/f/")
    forged = fill_with_pypdf(
        _pdf(runtime, document_id), {"document_token": token[:-4] + "AAAA", "consent_sms": "/true"}
    )
    with pytest.raises(TamperedPdfToken) as caught:
        runtime.pdf_returns.receive(forged, link_token=None, via="api", actor="api:robot")
    assert (caught.value.status, caught.value.field) == (400, "file")
    # On the letter's own link, the same PDF is simply not the one we sent.
    with pytest.raises(UnidentifiedPdf):
        runtime.pdf_returns.receive(forged, link_token=token, via="upload", actor="customer")
    kinds = [kind for kind, _ in _security_events(runtime)]
    assert kinds == ["pdf_token_tampered", "pdf_token_tampered", "pdf_rejected"]
    assert _counts(runtime) == (0, 0)


def test_unfilled_letter_changes_nothing(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    response = _upload(client, path, _pdf(runtime, document_id))
    assert response.status_code == 200
    assert "aucun changement" in response.text.lower() or "no-change" in response.text
    with runtime.sessions() as session:
        submission = session.execute(select(Submission)).scalar_one()
        assert submission.values == submission.base


def test_flattened_return_goes_to_the_mailroom(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"consent_sms": "/true"})
    (tmp_path / "in.pdf").write_bytes(filled)
    run_tool(
        ["qpdf", "--generate-appearances", "--flatten-annotations=all", "in.pdf", "out.pdf"],
        tmp_path,
    )
    flattened = (tmp_path / "out.pdf").read_bytes()
    response = _upload(client, path, flattened)
    assert response.status_code == 202
    assert 'data-status="awaiting_scan"' in response.text
    with runtime.sessions() as session:
        pdf_return = session.execute(select(PdfReturn)).scalar_one()
        assert pdf_return.status is PdfReturnStatus.AWAITING_SCAN
        assert pdf_return.document_id == document_id and pdf_return.submission_id is None
        assert runtime.files.get(pdf_return.file_key) == flattened
        batch = session.execute(select(ScanBatch)).scalar_one()
        assert batch.source == "pdf_return"
        assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0


def test_openapi_documents_the_returns_endpoint(client: FlaskClient) -> None:
    spec = json.loads(client.get("/api/openapi.json").data)
    operation = spec["paths"]["/api/v1/returns"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "202", "413", "422"} <= set(operation["responses"])


def test_api_over_the_size_limit(client: FlaskClient, runtime: Runtime) -> None:
    big = b"%PDF-1.7\n" + b"x" * MAX_BYTES + b"\n%%EOF\n"
    response = client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(big), "big.pdf", "application/pdf")},
        headers={"Authorization": f"Bearer {_api_token(runtime, ['mailroom'])}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.get_json()["code"] == "too_large"
    assert response.get_json()["field"] == "file"
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)


def test_expired_letter_over_the_api(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    document_id, _path = _issue(runtime, "consent-preferences")
    filled = fill_with_pypdf(_pdf(runtime, document_id), {"consent_sms": "/true"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    monkeypatch.setattr(runtime.intake, "clock", lambda: later)
    monkeypatch.setattr(runtime.pdf_returns, "clock", lambda: later)
    with pytest.raises(ExpiredLink):
        runtime.pdf_returns.receive(filled, link_token=None, via="api", actor="api:robot")
    assert [kind for kind, _ in _security_events(runtime)] == ["link_expired"]
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)


def test_uploads_have_their_own_rate_limit(app_settings: dict[str, Any]) -> None:
    app = create_app({**app_settings, "RATELIMIT_ENABLED": True, "RATELIMIT_UPLOAD": "2/minute"})
    built: Runtime = app.extensions["forms_service"]
    try:
        _document_id, path = _issue(built, "consent-preferences")
        client = app.test_client()
        statuses = [_upload(client, path, b"not a pdf").status_code for _ in range(3)]
        assert statuses == [415, 415, 429]
        assert client.get(f"{path}/upload").status_code == 200  # reading the page is not limited
    finally:
        built.engine.dispose()


def test_upload_without_the_csrf_token_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    document_id, path = _issue(runtime, "consent-preferences")
    pdf = fill_with_pypdf(_pdf(runtime, document_id), {"consent_sms": "/true"})
    response = client.post(
        f"{path}/upload",
        data={"file": (io.BytesIO(pdf), "f.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert 'data-code="csrf"' in response.text
    assert _counts(runtime) == (0, 0) and not _stored_files(runtime)
