"""Flattened PDF returns read by the mailroom: the return record names what its pages became.

Real issued letters, filled by pypdf and flattened by qpdf (no field left, not even the
token), posted over HTTP; the queued pages are then read by the mailroom's job function, as
the job worker runs it, with the real QR decoder, alignment and ink measure.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.accounts.service import create_api_token
from forms_service.connectors.interfaces import Selection
from forms_service.intake.mailroom import tasks
from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.runtime import Runtime
from forms_service.storage.model import SecurityEvent, Submission
from forms_service.storage.scans import PageStatus, ScanPage
from tests.conftest import hidden_fields
from tests.pdf_forms import fill_with_pypdf, run_tool

FORM = "contact-update"
#: Typed in the letter's boxes, then flattened: read back by OCR from the drawn text.
#: Plain boxes: qpdf draws a comb field's text unspaced, which is no longer one digit a cell.
TYPED = {"address_line": "3 PLACE BELLECOUR", "city": "LYON"}


def _issue(runtime: Runtime, key: str) -> tuple[str, str]:
    (issued,) = runtime.issuing.issue(FORM, Selection(keys=(key,)), "test")
    return issued.document_id, issued.link.removeprefix("http://localhost")


def _flattened(runtime: Runtime, document_id: str, tmp_path: Path) -> bytes:
    """The letter filled with TYPED, then flattened: the values are only drawn."""
    filled = fill_with_pypdf(runtime.printer.pdf_for(document_id), TYPED)
    (tmp_path / "in.pdf").write_bytes(filled)
    run_tool(
        ["qpdf", "--generate-appearances", "--flatten-annotations=all", "in.pdf", "out.pdf"],
        tmp_path,
    )
    flattened = (tmp_path / "out.pdf").read_bytes()
    assert not read_pdf_form(flattened).fields  # nothing left to say which letter it is
    return flattened


def _birth_date(runtime: Runtime, key: str) -> str:
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    return str(record["birth_date"].strftime("%d/%m/%Y"))


def _token(runtime: Runtime) -> str:
    with runtime.sessions() as session, session.begin():
        name = f"mailroom-{dt.datetime.now(dt.UTC).timestamp()}"
        return create_api_token(session, name, ["mailroom"], now=dt.datetime.now(dt.UTC))


def _post(client: FlaskClient, token: str, content: bytes) -> Any:
    return client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(content), "return.pdf", "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )


def _get(client: FlaskClient, token: str, return_id: str) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/returns/{return_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.get_json()
    return body


def _run_worker(runtime: Runtime) -> list[str]:
    """Run the job `mailroom.read_page` of every queued page, as the job worker does."""
    with runtime.sessions() as session:
        queued = session.execute(
            select(ScanPage.id)
            .where(ScanPage.status == PageStatus.QUEUED)
            .order_by(ScanPage.sequence)
        ).scalars()
        page_ids = list(queued)
    return [tasks.read_page(runtime, page_id) for page_id in page_ids]


def _submissions(runtime: Runtime) -> dict[str, Submission]:
    with runtime.sessions() as session:
        found = session.execute(select(Submission)).scalars().all()
        session.expunge_all()
    return {s.document_id: s for s in found}


def test_the_return_names_the_document_the_mailroom_identified(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    document_id, _path = _issue(runtime, "C000001")
    token = _token(runtime)
    response = _post(client, token, _flattened(runtime, document_id, tmp_path))
    assert response.status_code == 202, response.text
    received = response.get_json()
    assert (received["status"], received["document_id"]) == ("awaiting_scan", None)
    return_id = received["return_id"]
    before = _get(client, token, return_id)
    assert (before["status"], before["document_id"], before["submission_id"]) == (
        "awaiting_scan",
        None,
        None,
    )
    assert [p["status"] for p in before["pages"]] == ["queued", "queued"]

    # The covering letter is set aside; the form page's QR code names the document.
    assert _run_worker(runtime) == ["rejected", "submitted"]

    (submission,) = _submissions(runtime).values()
    assert submission.document_id == document_id and submission.channel == "pdf_scan"
    assert {f: submission.values[f] for f in TYPED} == TYPED
    after = _get(client, token, return_id)
    assert after["status"] == "scanned"
    assert (after["document_id"], after["submission_id"]) == (document_id, submission.id)
    assert after["batch_id"] == before["batch_id"] is not None
    assert [(p["status"], p["exception"]) for p in after["pages"]] == [
        ("rejected", "covering_letter"),
        ("submitted", None),
    ]


def test_a_page_naming_another_document_than_the_link_is_not_read_into_it(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    mine, my_path = _issue(runtime, "C000001")
    theirs, _ = _issue(runtime, "C000002")
    # Someone uploads, on their own link, the flattened letter of another customer.
    page = client.get(f"{my_path}/upload")
    content = _flattened(runtime, theirs, tmp_path)
    response = client.post(
        f"{my_path}/upload",
        data={
            "csrf_token": hidden_fields(page.text)["csrf_token"],
            "birth_date": _birth_date(runtime, "C000001"),
            "file": (io.BytesIO(content), "formulaire.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.text
    token = _token(runtime)

    assert _run_worker(runtime) == ["rejected", "exception"]

    # Neither customer's answer was made from it; the page waits for an operator.
    assert _submissions(runtime) == {}
    with runtime.sessions() as session:
        form_page = session.execute(
            select(ScanPage).where(ScanPage.status == PageStatus.EXCEPTION)
        ).scalar_one()
        assert form_page.exception == "other_document"
        assert form_page.document_id == theirs
        batch_return = form_page.batch.pdf_return_id
        events = session.execute(select(SecurityEvent.kind, SecurityEvent.document_id)).all()
    assert ("pdf_other_document", mine) in [(k, d) for k, d in events]
    assert batch_return is not None
    shown = _get(client, token, batch_return)
    assert (shown["status"], shown["document_id"], shown["submission_id"]) == (
        "awaiting_scan",
        mine,
        None,
    )
    assert [(p["status"], p["exception"]) for p in shown["pages"]] == [
        ("rejected", "covering_letter"),
        ("exception", "other_document"),
    ]


def test_an_unknown_return_is_not_found(client: FlaskClient, runtime: Runtime) -> None:
    response = client.get(
        "/api/v1/returns/nosuchreturn", headers={"Authorization": f"Bearer {_token(runtime)}"}
    )
    assert response.status_code == 404
    assert response.get_json()["field"] == "return_id"


@pytest.mark.parametrize("header", [None, "Bearer wrong"])
def test_a_return_is_shown_only_with_a_token(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.get("/api/v1/returns/whatever", headers=headers).status_code == 401
