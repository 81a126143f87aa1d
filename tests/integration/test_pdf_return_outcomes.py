"""Every end of a PDF return read by the mailroom: each one is final, shown by the API, audited.

The returns are printed-and-scanned letters sent back as a PDF with no field left (what a
customer's scanner app or a "print to PDF" makes): pages drawn from the service's own layout
with the real signed page codes, posted over HTTP on a customer's link or on the API. Their
pages are read by the job function as the worker runs it (real QR decoder, alignment, OCR),
and settled by an operator through the mailroom's service.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.accounts.service import create_api_token
from forms_service.connectors.interfaces import Selection
from forms_service.intake.mailroom import tasks
from forms_service.intake.mailroom.pages import MAX_ATTEMPTS
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing.layout import form_geometry
from forms_service.issuing.pagecode import PageCodes
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent, Document, PdfReturn, Submission
from forms_service.storage.scans import PageStatus, ScanBatch, ScanPage
from tests.conftest import hidden_fields
from tests.integration.reviewing import add_user, csrf_of, english_client, sign_in
from tests.mailroom_scans import as_pdf, issue, scanned_page
from tests.ocr_pages import Answers, GrayImage
from tests.pdf_forms import fill_with_pypdf

FORM = "contact-update"
OPERATOR = "user:mary"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The mailroom screens read here are the English ones (French: test_mailroom_languages)."""
    return english_client(app)


def _page(runtime: Runtime, document_id: str, city: str = "ALBI") -> GrayImage:
    return scanned_page(runtime, document_id, FORM, Answers(texts={"city": city}))


def _token(runtime: Runtime) -> str:
    with runtime.sessions() as session, session.begin():
        name = f"mailroom-{dt.datetime.now(dt.UTC).timestamp()}"
        return create_api_token(session, name, ["mailroom"], now=dt.datetime.now(dt.UTC))


def _post_api(
    client: FlaskClient, runtime: Runtime, content: bytes, *, expected: str = "awaiting_scan"
) -> str:
    response = client.post(
        "/api/v1/returns",
        data={"file": (io.BytesIO(content), "return.pdf", "application/pdf")},
        headers={"Authorization": f"Bearer {_token(runtime)}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == (202 if expected == "awaiting_scan" else 201), response.text
    assert response.get_json()["status"] == expected
    return str(response.get_json()["return_id"])


def _upload_on_link(client: FlaskClient, runtime: Runtime, key: str, content: bytes) -> str:
    """A customer uploads `content` on the link of their own letter (record `key`)."""
    (issued,) = runtime.issuing.issue(FORM, Selection(keys=(key,)), "test")
    path = issued.link.removeprefix("http://localhost")
    record = runtime.connectors["crm"].read("customer", key)
    assert record is not None
    form = client.get(f"{path}/upload")
    response = client.post(
        f"{path}/upload",
        data={
            "csrf_token": hidden_fields(form.text)["csrf_token"],
            "birth_date": record["birth_date"].strftime("%d/%m/%Y"),
            "file": (io.BytesIO(content), "formulaire.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.text
    with runtime.sessions() as session:
        return session.execute(
            select(PdfReturn.id).where(PdfReturn.document_id == issued.document_id)
        ).scalar_one()


def _run_worker(runtime: Runtime) -> list[str]:
    """Run the job of every queued page, in batch order, as the job worker does."""
    with runtime.sessions() as session:
        page_ids = list(
            session.execute(
                select(ScanPage.id)
                .where(ScanPage.status == PageStatus.QUEUED)
                .order_by(ScanPage.batch_id, ScanPage.sequence)
            ).scalars()
        )
    return [tasks.read_page(runtime, page_id) for page_id in page_ids]


def _shown(client: FlaskClient, runtime: Runtime, return_id: str) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/returns/{return_id}", headers={"Authorization": f"Bearer {_token(runtime)}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.get_json()
    return body


def _pages(runtime: Runtime, return_id: str) -> list[ScanPage]:
    with runtime.sessions() as session:
        pages = list(
            session.execute(
                select(ScanPage)
                .join(ScanBatch, ScanBatch.id == ScanPage.batch_id)
                .where(ScanBatch.pdf_return_id == return_id)
                .order_by(ScanPage.sequence)
            ).scalars()
        )
        session.expunge_all()
    return pages


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found.reference


def _return_events(runtime: Runtime, return_id: str) -> list[tuple[str, str | None, Any]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(AuditEvent.kind, AuditEvent.document_id, AuditEvent.detail)
            .where(AuditEvent.kind.like("pdf_return_%"))
            .order_by(AuditEvent.id)
        ).all()
    return [(k, d, detail) for k, d, detail in rows if detail.get("return") == return_id]


def _submission_ids(runtime: Runtime) -> dict[str, str]:
    with runtime.sessions() as session:
        rows = session.execute(select(Submission.document_id, Submission.id)).all()
    return dict(rows)


def test_read_normally_the_return_is_scanned_with_its_answer(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = issue(runtime, FORM, "C000001")
    return_id = _post_api(client, runtime, as_pdf([_page(runtime, mine)]))

    assert _run_worker(runtime) == ["submitted"]

    submission = _submission_ids(runtime)[mine]
    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["document_id"], shown["submission_id"]) == (
        "scanned",
        mine,
        submission,
    )
    assert shown["pages"] == [
        {"sequence": 1, "status": "submitted", "exception": None, "document_id": mine}
    ]
    batch = client.get(
        f"/api/v1/scans/{shown['batch_id']}",
        headers={"Authorization": f"Bearer {_token(runtime)}"},
    )
    assert (batch.status_code, batch.get_json()["pdf_return_id"]) == (200, return_id)
    assert _return_events(runtime, return_id) == [
        (
            "pdf_return_scanned",
            mine,
            {"return": return_id, "status": "scanned", "submission": submission},
        )
    ]


def test_a_page_assigned_to_another_document_ends_the_return_assigned_elsewhere(
    client: FlaskClient, runtime: Runtime
) -> None:
    theirs = issue(runtime, FORM, "C000002")
    # On their own link, a customer sends the letter of another customer.
    return_id = _upload_on_link(client, runtime, "C000001", as_pdf([_page(runtime, theirs)]))
    mine = _shown(client, runtime, return_id)["document_id"]
    assert _run_worker(runtime) == ["exception"]
    (page,) = _pages(runtime, return_id)
    assert page.exception == "other_document"
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"

    # The operator decides it really is the other customer's answer.
    runtime.mailroom.assign(page.id, _reference(runtime, theirs), actor=OPERATOR)
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"  # read again first
    assert _run_worker(runtime) == ["submitted"]

    submissions = _submission_ids(runtime)
    assert set(submissions) == {theirs}  # the answer went to the other document only
    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["document_id"], shown["submission_id"]) == (
        "assigned_elsewhere",
        mine,
        None,
    )
    assert [(p["status"], p["document_id"]) for p in shown["pages"]] == [("submitted", theirs)]
    assert _return_events(runtime, return_id) == [
        (
            "pdf_return_assigned_elsewhere",
            mine,
            {
                "return": return_id,
                "status": "assigned_elsewhere",
                "pages": {"submitted": 1, "rejected": 0},
                "documents": [theirs],
            },
        )
    ]


def test_a_rejected_page_ends_the_return_rejected(client: FlaskClient, runtime: Runtime) -> None:
    theirs = issue(runtime, FORM, "C000002")
    return_id = _upload_on_link(client, runtime, "C000001", as_pdf([_page(runtime, theirs)]))
    mine = _shown(client, runtime, return_id)["document_id"]
    assert _run_worker(runtime) == ["exception"]
    (page,) = _pages(runtime, return_id)

    runtime.mailroom.reject(page.id, "not this customer's letter", actor=OPERATOR)

    assert _submission_ids(runtime) == {}
    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["submission_id"]) == ("rejected", None)
    assert [(p["status"], p["exception"]) for p in shown["pages"]] == [
        ("rejected", "other_document")
    ]
    (event,) = _return_events(runtime, return_id)
    assert event == (
        "pdf_return_rejected",
        mine,
        {"return": return_id, "status": "rejected", "pages": {"submitted": 0, "rejected": 1}},
    )


def test_an_unreadable_scan_waits_for_an_operator_then_ends_rejected(
    client: FlaskClient, runtime: Runtime
) -> None:
    # A sheet with writing but no code (a blank one is set aside by itself: issue 17, 6).
    unreadable = np.full((2339, 1654), 255, dtype=np.uint8)
    unreadable[400:2000:40, 200:1400] = 0
    return_id = _post_api(client, runtime, as_pdf([unreadable]))
    assert _run_worker(runtime) == ["exception"]
    (page,) = _pages(runtime, return_id)
    assert page.exception == "unreadable_code"
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"  # a person decides

    runtime.mailroom.reject(page.id, "empty sheet", actor=OPERATOR)

    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["document_id"]) == ("rejected", None)
    assert [kind for kind, _, _ in _return_events(runtime, return_id)] == ["pdf_return_rejected"]


def test_mixed_its_own_page_read_and_another_assigned_elsewhere_is_scanned(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = issue(runtime, FORM, "C000001")
    theirs = issue(runtime, FORM, "C000002")
    return_id = _post_api(
        client, runtime, as_pdf([_page(runtime, mine), _page(runtime, theirs, "LYON")])
    )
    assert _run_worker(runtime) == ["submitted", "exception"]
    # Its own answer is there at once: the stray page does not hold it back.
    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["submission_id"]) == ("scanned", _submission_ids(runtime)[mine])
    stray = _pages(runtime, return_id)[1]
    assert stray.exception == "other_document"

    runtime.mailroom.assign(stray.id, _reference(runtime, theirs), actor=OPERATOR)
    assert _run_worker(runtime) == ["submitted"]

    submissions = _submission_ids(runtime)
    after = _shown(client, runtime, return_id)
    assert (after["status"], after["document_id"], after["submission_id"]) == (
        "scanned",
        mine,
        submissions[mine],
    )
    assert [(p["status"], p["document_id"]) for p in after["pages"]] == [
        ("submitted", mine),
        ("submitted", theirs),
    ]
    # One final event, when its own answer was stored.
    assert [kind for kind, _, _ in _return_events(runtime, return_id)] == ["pdf_return_scanned"]


def _two_other_customers_pages(client: FlaskClient, runtime: Runtime) -> tuple[str, str, str]:
    """A return sent on C000001's link holding the letters of C000002 and C000003, read: both
    pages wait for an operator. Returns the return's id and the two other documents."""
    theirs = issue(runtime, FORM, "C000002")
    third = issue(runtime, FORM, "C000003")
    content = as_pdf([_page(runtime, theirs), _page(runtime, third, "LYON")])
    return_id = _upload_on_link(client, runtime, "C000001", content)
    assert _run_worker(runtime) == ["exception", "exception"]
    return return_id, theirs, third


def test_mixed_one_page_assigned_elsewhere_one_rejected_is_assigned_elsewhere(
    client: FlaskClient, runtime: Runtime
) -> None:
    return_id, theirs, third = _two_other_customers_pages(client, runtime)
    first, second = _pages(runtime, return_id)

    runtime.mailroom.assign(first.id, _reference(runtime, theirs), actor=OPERATOR)
    assert _run_worker(runtime) == ["submitted"]
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"  # one page waits
    assert _return_events(runtime, return_id) == []
    runtime.mailroom.reject(second.id, "unknown letter", actor=OPERATOR)

    shown = _shown(client, runtime, return_id)
    assert shown["status"] == "assigned_elsewhere"
    assert [(p["status"], p["document_id"]) for p in shown["pages"]] == [
        ("submitted", theirs),
        ("rejected", third),
    ]
    ((kind, _, detail),) = _return_events(runtime, return_id)
    assert kind == "pdf_return_assigned_elsewhere"
    assert (detail["pages"], detail["documents"]) == ({"submitted": 1, "rejected": 1}, [theirs])


def _stuck_mid_page(runtime: Runtime, page_id: str, attempts: int) -> None:
    """The page as a worker killed while reading it leaves it: processing, counted, old."""
    with runtime.sessions() as session, session.begin():
        page = session.get(ScanPage, page_id)
        assert page is not None
        page.status = PageStatus.PROCESSING
        page.attempts = attempts
        page.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def test_a_worker_killed_mid_page_resumes_at_requeue_and_the_return_is_scanned(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = issue(runtime, FORM, "C000001")
    return_id = _post_api(client, runtime, as_pdf([_page(runtime, mine)]))
    (page,) = _pages(runtime, return_id)
    _stuck_mid_page(runtime, page.id, attempts=1)

    assert runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10)) == 1
    assert _run_worker(runtime) == ["submitted"]

    assert _shown(client, runtime, return_id)["status"] == "scanned"
    (after,) = _pages(runtime, return_id)
    assert after.attempts == 2


def test_a_page_that_kills_its_worker_every_time_goes_to_an_operator(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = issue(runtime, FORM, "C000001")
    return_id = _post_api(client, runtime, as_pdf([_page(runtime, mine)]))
    (page,) = _pages(runtime, return_id)
    _stuck_mid_page(runtime, page.id, attempts=MAX_ATTEMPTS)

    # Sent again once more, it is not read a fourth time: an operator decides.
    assert runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10)) == 1
    assert _run_worker(runtime) == ["exception"]
    (lost,) = _pages(runtime, return_id)
    assert (lost.exception, lost.attempts) == ("worker_lost", MAX_ATTEMPTS)
    assert runtime.mailroom.requeue(older_than=dt.timedelta(0)) == 0  # nothing loops
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"

    # Assigned, it is tried again from its first attempt, and read.
    runtime.mailroom.assign(lost.id, _reference(runtime, mine), actor=OPERATOR)
    assert _run_worker(runtime) == ["submitted"]
    assert _shown(client, runtime, return_id)["status"] == "scanned"
    assert _pages(runtime, return_id)[0].attempts == 1


def test_a_page_that_kills_its_worker_every_time_rejected_ends_the_return_rejected(
    client: FlaskClient, runtime: Runtime
) -> None:
    mine = issue(runtime, FORM, "C000001")
    return_id = _post_api(client, runtime, as_pdf([_page(runtime, mine)]))
    (page,) = _pages(runtime, return_id)
    _stuck_mid_page(runtime, page.id, attempts=MAX_ATTEMPTS)
    runtime.mailroom.requeue(older_than=dt.timedelta(minutes=10))
    assert _run_worker(runtime) == ["exception"]

    runtime.mailroom.reject(page.id, "cannot be read", actor=OPERATOR)

    assert _shown(client, runtime, return_id)["status"] == "rejected"


@pytest.fixture
def failing_hand_over(runtime: Runtime) -> Callable[[], None]:
    """The mailroom cannot take returns (its database write fails) until `restore()`."""
    hand_over = runtime.pdf_returns.on_awaiting_scan

    def broken(*_args: object) -> None:
        raise RuntimeError("database went away")

    runtime.pdf_returns.on_awaiting_scan = broken

    def restore() -> None:
        runtime.pdf_returns.on_awaiting_scan = hand_over

    return restore


def test_a_return_stored_without_its_batch_gets_one_at_requeue(
    client: FlaskClient, runtime: Runtime, failing_hand_over: Callable[[], None]
) -> None:
    mine = issue(runtime, FORM, "C000001")
    content = as_pdf([_page(runtime, mine)])
    # The customer's upload is stored and acknowledged even though the hand-over failed.
    return_id = _post_api(client, runtime, content)
    before = _shown(client, runtime, return_id)
    assert (before["status"], before["batch_id"], before["pages"]) == ("awaiting_scan", None, [])
    failing_hand_over()

    # Too recent: the hand-over may still be under way.
    assert runtime.mailroom.receive_stranded_returns(older_than=dt.timedelta(minutes=5)) == 0
    assert runtime.mailroom.requeue(older_than=dt.timedelta(0)) == 0  # no page yet
    assert _run_worker(runtime) == ["submitted"]

    shown = _shown(client, runtime, return_id)
    assert shown["status"] == "scanned" and shown["batch_id"] is not None
    # Handed over again (a second requeue, a concurrent one): still one batch.
    with runtime.sessions() as session:
        stored = session.get(PdfReturn, return_id)
        assert stored is not None
        session.expunge(stored)
    again = runtime.mailroom.receive_return(stored, content)
    assert again.id == shown["batch_id"]
    with runtime.sessions() as session:
        batches = session.execute(
            select(ScanBatch.id).where(ScanBatch.pdf_return_id == return_id)
        ).all()
    assert len(batches) == 1


def test_the_mailroom_screens_show_the_return_a_batch_reads_and_where_it_stands(
    client: FlaskClient, runtime: Runtime
) -> None:
    theirs = issue(runtime, FORM, "C000002")
    return_id = _upload_on_link(client, runtime, "C000001", as_pdf([_page(runtime, theirs)]))
    assert _run_worker(runtime) == ["exception"]
    (page,) = _pages(runtime, return_id)
    add_user(runtime, "mary", ["mailroom"])
    add_user(runtime, "clara", ["clerk"])
    record = runtime.connectors["crm"].read("customer", "C000001")
    assert record is not None
    assert sign_in(client, "mary") in (302, 303)

    listing = client.get("/mailroom/").text
    assert f'href="/mailroom/returns/{return_id}" data-origin="pdf_return"' in listing
    assert "customer upload on their link" in listing and "awaiting_scan" in listing
    batch = client.get(f"/mailroom/batches/{page.batch_id}").text
    assert 'data-origin="pdf_return"' in batch and f"/mailroom/returns/{return_id}" in batch
    assert 'data-return-status="awaiting_scan"' in batch
    queue = client.get("/mailroom/exceptions").text
    assert f"/mailroom/returns/{return_id}" in queue and "other_document" in queue
    shown = client.get(f"/mailroom/returns/{return_id}")
    assert shown.status_code == 200
    assert 'data-return-status="awaiting_scan"' in shown.text
    assert "reload the page to follow it" in shown.text  # it waits for its pages
    assert f"/mailroom/batches/{page.batch_id}" in shown.text
    assert str(record["last_name"]) not in shown.text  # no personal data on the screen

    assigned = client.post(
        f"/mailroom/pages/{page.id}/assign",
        data={"csrf_token": csrf_of(queue), "document": _reference(runtime, theirs)},
    )
    assert assigned.status_code == 303, assigned.text
    assert _run_worker(runtime) == ["submitted"]
    after = client.get(f"/mailroom/returns/{return_id}").text
    assert 'data-return-status="assigned_elsewhere"' in after
    assert "(another document)" in after and _reference(runtime, theirs) in after
    assert "reload the page to follow it" not in after  # final: nothing more will happen

    assert client.get("/mailroom/returns/nosuchreturn").status_code == 404
    # A fillable return read from its fields has no batch, and says so.
    fresh = issue(runtime, FORM, "C000003")
    filled = fill_with_pypdf(runtime.printer.pdf_for(fresh), {"city": "NIMES"})
    read = _post_api(client, runtime, filled, expected="read")
    shown_read = client.get(f"/mailroom/returns/{read}").text
    assert 'data-return-status="read"' in shown_read
    assert "its fillable fields were read, no scan was needed" in shown_read
    client.post("/backoffice/logout", data={"csrf_token": csrf_of(after)})
    assert sign_in(client, "clara") in (302, 303)
    assert client.get(f"/mailroom/returns/{return_id}").status_code == 403


def _two_page_form(runtime: Runtime) -> None:
    """Pretend the form has two identical pages (every shipped form fits on one)."""

    def two_pages(definition: Any, layout: int) -> Any:
        geometry = form_geometry(definition, layout)
        return replace(geometry, pages=(geometry.pages[0], replace(geometry.pages[0], number=2)))

    runtime.mailroom.geometry = two_pages


def test_a_return_missing_a_page_is_scanned_when_the_page_comes_on_paper_later(
    client: FlaskClient, runtime: Runtime
) -> None:
    _two_page_form(runtime)
    mine = issue(runtime, FORM, "C000001")
    return_id = _post_api(client, runtime, as_pdf([_page(runtime, mine, "PAU")]))
    assert _run_worker(runtime) == ["read"]  # then flagged: its batch ended without page 2
    (first,) = _pages(runtime, return_id)
    assert first.exception == "missing_pages"
    assert _shown(client, runtime, return_id)["status"] == "awaiting_scan"

    # Page 2 comes in the post, in a mailroom batch of its own.
    version = runtime.definitions[FORM].version
    layout = runtime.issuing.layouts.current
    code = PageCodes(runtime.signer.keys).encode(mine, 2, version, layout=layout)
    second = scanned_page(runtime, mine, FORM, Answers(texts={"phone": "0612345678"}), payload=code)
    runtime.mailroom.receive([Upload("p2.pdf", as_pdf([second]))], source="cli", actor="test")
    assert _run_worker(runtime) == ["submitted"]

    submission = _submission_ids(runtime)[mine]
    shown = _shown(client, runtime, return_id)
    assert (shown["status"], shown["submission_id"]) == ("scanned", submission)
    assert [p["status"] for p in shown["pages"]] == ["submitted"]
    assert [kind for kind, _, _ in _return_events(runtime, return_id)] == ["pdf_return_scanned"]


def test_the_last_two_pages_rejected_at_once_give_the_return_one_final_status(
    client: FlaskClient, runtime: Runtime
) -> None:
    return_id, _, _ = _two_other_customers_pages(client, runtime)
    pages = _pages(runtime, return_id)

    # Two operators reject the return's two pages in two transactions at once: each must see
    # the other's page settled, or neither would end the return.
    start = threading.Barrier(len(pages))

    def reject(page_id: str) -> None:
        start.wait()
        runtime.mailroom.reject(page_id, "unknown letter", actor=OPERATOR)

    with ThreadPoolExecutor(len(pages)) as pool:
        list(pool.map(reject, [p.id for p in pages]))

    assert _shown(client, runtime, return_id)["status"] == "rejected"
    assert [kind for kind, _, _ in _return_events(runtime, return_id)] == ["pdf_return_rejected"]
