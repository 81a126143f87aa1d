"""The mailroom end to end on SQLite and PostgreSQL: real pages, real OCR, jobs run eagerly.

Pages are drawn from the service's own layout with real signed page codes (tests/mailroom_scans.py)
and read by the real ocr/ pipeline with Tesseract. The Celery app runs eagerly here; the real
worker on Redis and on the filesystem broker is tested in test_jobs_redis.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forms_service.cli import cli
from forms_service.core.errors import InvalidInput
from forms_service.definitions.model import Channel
from forms_service.intake.mailroom import queries
from forms_service.intake.mailroom.files import MAX_PAGES
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing.layout import CURRENT_LAYOUT
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.tokens import new_document_id
from forms_service.runtime import Runtime
from forms_service.storage.model import (
    ChangeSet,
    Document,
    FieldChangeRow,
    FieldChangeStatus,
)
from forms_service.storage.scans import BatchStatus, PageStatus, ScanPage
from tests.integration.reviewing import add_token, add_user, csrf_of, english_client, sign_in
from tests.mailroom_scans import (
    as_jpeg,
    as_pdf,
    as_png,
    as_tiff,
    issue,
    photo_of_a_screen,
    png_claiming,
    printed_and_filled,
    scanned_page,
)
from tests.ocr_pages import Answers
from tests.readers.returning import submission_of

FORM = "contact-update"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """These tests read the English screens (the French ones: test_backoffice_languages.py)."""
    return english_client(app)


def _pages(runtime: Runtime, batch_id: str) -> list[queries.PageView]:
    with runtime.sessions() as session:
        return list(queries.batch(session, batch_id).pages)


def _batch(runtime: Runtime, batch_id: str) -> queries.BatchView:
    with runtime.sessions() as session:
        return queries.batch(session, batch_id)


def _rows(runtime: Runtime, submission_id: str) -> dict[str, FieldChangeRow]:
    with runtime.sessions() as session:
        change_set = session.execute(
            select(ChangeSet).where(ChangeSet.submission_id == submission_id)
        ).scalar_one()
        rows = {row.field: row for row in change_set.fields}
        for row in rows.values():
            session.expunge(row)
        return rows


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.reference


def _blank_sheet() -> np.ndarray[Any, np.dtype[np.uint8]]:
    return np.full((2339, 1654), 255, dtype=np.uint8)


def _protected_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("secret-password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _corrupt_tiff() -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + b"\x00\x01\xff\xee" * 64


# -- reading ----------------------------------------------------------------------------------


def test_every_format_is_stored_read_and_submitted(runtime: Runtime) -> None:
    docs = [issue(runtime, FORM, f"C00000{n}") for n in range(1, 7)]
    filled = Answers(texts={"city": "BORDEAUX"}, signed=True)
    pages = [
        scanned_page(runtime, docs[0], FORM, filled),
        scanned_page(runtime, docs[1], FORM),
        scanned_page(runtime, docs[2], FORM, Answers(texts={"city": "LYON"})),
        scanned_page(runtime, docs[3], FORM),
        scanned_page(runtime, docs[4], FORM),
        scanned_page(runtime, docs[5], FORM),
    ]
    uploads = [
        Upload("batch.pdf", as_pdf(pages[0:2])),
        Upload("batch.tiff", as_tiff(pages[2:4])),
        Upload("page.png", as_png(pages[4])),
        Upload("page.jpg", as_jpeg(pages[5])),
    ]
    received = runtime.mailroom.receive(uploads, source="cli", actor="test")

    assert (received.files, received.pages) == (4, 6)
    batch = _batch(runtime, received.id)
    assert batch.status == BatchStatus.DONE.value
    assert batch.counts == {"submitted": 6}
    assert batch.percent == 100
    assert [p.filename for p in batch.pages] == [
        "batch.pdf", "batch.pdf", "batch.tiff", "batch.tiff", "page.png", "page.jpg",
    ]  # fmt: skip
    assert [p.reference for p in batch.pages] == [_reference(runtime, d) for d in docs]
    # The files were stored as they came, before any page was read.
    with runtime.sessions() as session:
        stored = session.execute(select(ScanPage).where(ScanPage.batch_id == received.id))
        for page in stored.scalars():
            assert runtime.files.get(page.file.content_key)[:4] in (
                b"%PDF",
                b"II*\x00",
                b"\x89PNG",
                b"\xff\xd8\xff\xe0",
            )
            assert page.image_key and runtime.files.exists(page.image_key)

    answered = submission_of(runtime, docs[0])
    assert answered.channel == "paper"
    assert answered.values == {"city": "BORDEAUX", "signature": "signed"}
    evidence = answered.evidence["city"]
    assert evidence["kind"] == "scan"
    assert runtime.files.get(evidence["crop"])[:4] == b"\x89PNG"
    assert 0 < evidence["confidence"] <= 1
    assert evidence["engine"] == "tesserocr"
    # City is a review field: a clerk sees it beside its crop; nothing was applied.
    rows = _rows(runtime, answered.id)
    assert set(rows) == {"city"}
    assert rows["city"].status is FieldChangeStatus.PENDING
    assert rows["city"].evidence["crop"] == evidence["crop"]

    untouched = submission_of(runtime, docs[1])
    assert untouched.values == {}
    assert _rows(runtime, untouched.id) == {}


def test_doubtful_or_invalid_readings_are_never_applied_automatically(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000001")
    page = scanned_page(
        runtime, document, FORM, Answers(texts={"email": "JEAN@@EXAMPLE", "phone": "0612"})
    )
    runtime.mailroom.receive([Upload("scan.png", as_png(page))], source="cli", actor="test")

    submission = submission_of(runtime, document)
    rows = _rows(runtime, submission.id)
    # e-mail and phone are auto-apply fields; values their types refuse wait for a clerk.
    assert {"email", "phone"} <= set(rows)
    for name in ("email", "phone"):
        assert rows[name].status is FieldChangeStatus.PENDING
        assert rows[name].policy == "review"
        assert rows[name].confidence <= 0.5
        assert submission.evidence[name]["verdict"] != "valid"
    with runtime.sessions() as session:
        applied = session.execute(
            select(FieldChangeRow).where(FieldChangeRow.status == FieldChangeStatus.APPLIED)
        ).scalars()
        assert list(applied) == []


# -- exceptions and bad input -------------------------------------------------------------------


def test_bad_pages_go_to_the_exception_queue_and_the_batch_goes_on(runtime: Runtime) -> None:
    good = issue(runtime, FORM, "C000001")
    revoked = issue(runtime, FORM, "C000002")
    runtime.issuing.revoke(revoked, actor="test")
    version = runtime.definitions[FORM].version
    unknown_code = PageCodes(runtime.signer.keys).encode(
        new_document_id(), 1, version, layout=CURRENT_LAYOUT
    )
    good_page = scanned_page(runtime, good, FORM, Answers(texts={"city": "NANTES"}))
    uploads = [
        Upload("good.png", as_png(good_page)),
        Upload("again.png", as_png(good_page)),
        Upload("revoked.png", as_png(scanned_page(runtime, revoked, FORM))),
        Upload("unknown.png", as_png(scanned_page(runtime, good, FORM, payload=unknown_code))),
        Upload(
            "foreign.png",
            as_png(scanned_page(runtime, good, FORM, payload="https://example.com/x")),
        ),
        Upload("blank.pdf", as_pdf([_blank_sheet()])),
        Upload("protected.pdf", _protected_pdf()),
        Upload("corrupt.tif", _corrupt_tiff()),
        Upload("huge.png", png_claiming()),
        Upload("screen.jpg", photo_of_a_screen(good_page)),
    ]
    received = runtime.mailroom.receive(uploads, source="cli", actor="test")

    pages = {p.filename: p for p in _pages(runtime, received.id)}
    assert len(pages) == received.pages == 10
    assert pages["good.png"].status is PageStatus.SUBMITTED
    # The photo of a screen is unreadable as a rule; with some document ids (random in each
    # run) its code still decodes, and it is then the duplicate of good.png, or its corner
    # squares are too warped to align on (read before the duplicate check). Either way it
    # waits for an operator: nothing is read from it twice, nothing is lost.
    screen = pages.pop("screen.jpg")
    assert (screen.status, screen.exception) in {
        (PageStatus.EXCEPTION, "unreadable_code"),
        (PageStatus.EXCEPTION, "duplicate_page"),
        (PageStatus.EXCEPTION, "unaligned_page"),
    }
    outcomes = {name: (p.status, p.exception) for name, p in pages.items() if name != "good.png"}
    exception = PageStatus.EXCEPTION
    assert outcomes == {
        "again.png": (exception, "duplicate_page"),
        "revoked.png": (exception, "revoked_document"),
        "unknown.png": (exception, "unknown_document"),
        "foreign.png": (exception, "foreign_code"),
        # A blank sheet needs nobody (issue 17, 6): kept, set aside by the mailroom itself.
        "blank.pdf": (PageStatus.REJECTED, "blank_page"),
        "protected.pdf": (exception, "protected_pdf"),
        "corrupt.tif": (exception, "corrupt_image"),
        "huge.png": (exception, "image_too_large"),
    }
    for page in pages.values():
        assert page.reason or page.status is PageStatus.SUBMITTED
    assert "password" in (pages["protected.pdf"].reason or "")
    assert "million pixels" in (pages["huge.png"].reason or "")
    assert _batch(runtime, received.id).status == BatchStatus.DONE.value
    with runtime.sessions() as session:
        waiting, total = queries.exceptions(session)
    assert total == 8
    assert pages["blank.pdf"].resolved_by == "mailroom"
    assert {p.id for p in waiting} == {
        p.id for n, p in pages.items() if n not in ("good.png", "blank.pdf")
    } | {screen.id}
    assert screen.reason


def test_flattened_pdf_return_goes_through_the_scan_path(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000009")
    with runtime.sessions() as session:
        stored = session.get(Document, document)
        assert stored is not None
        token = runtime.issuing.token_for(stored)
    flattened = as_pdf([scanned_page(runtime, document, FORM, Answers(texts={"city": "CAEN"}))])
    receipt = runtime.pdf_returns.receive(
        flattened, link_token=token, via="upload", actor="customer"
    )
    assert receipt.status.value == "awaiting_scan"
    with runtime.sessions() as session:
        (batch,) = queries.batches(session)
    assert (batch.source, batch.counts) == ("pdf_return", {"submitted": 1})
    assert submission_of(runtime, document).values == {"city": "CAEN"}


def test_unsupported_file_refuses_the_whole_batch_and_stores_nothing(runtime: Runtime) -> None:
    from forms_service.intake.mailroom.files import UnsupportedFile

    with pytest.raises(UnsupportedFile) as refused:
        runtime.mailroom.receive(
            [Upload("page.png", as_png(_blank_sheet())), Upload("notes.txt", b"hello")],
            source="cli",
            actor="test",
        )
    assert refused.value.field == "notes.txt"
    with runtime.sessions() as session:
        assert queries.batches(session) == []


def test_a_batch_over_the_page_limit_is_refused_whole_and_stores_nothing(
    runtime: Runtime, app_settings: dict[str, Any]
) -> None:
    # Regression: a 60 KB PDF naming one page 10,000 times became 10,000 page rows and jobs.
    kids = b" ".join([b"3 0 R"] * 10_000)
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count 10000 >>" % kids,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    )
    content = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(content))
        content += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(content)
    content += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(
        b"%010d 00000 n \n" % offset for offset in offsets
    )
    content += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    stored_before = sorted(Path(app_settings["FILE_STORE_DIR"]).rglob("*"))
    with pytest.raises(InvalidInput) as refused:
        runtime.mailroom.receive(
            [Upload("page.png", as_png(_blank_sheet())), Upload("../many.pdf", content)],
            source="cli",
            actor="test",
        )
    assert refused.value.status == 422 and refused.value.field == "many.pdf"
    assert f"at most {MAX_PAGES} pages" in refused.value.reason
    with runtime.sessions() as session:
        assert queries.batches(session) == []
    assert sorted(Path(app_settings["FILE_STORE_DIR"]).rglob("*")) == stored_before


def test_page_of_another_batch_then_rejected_by_an_operator(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000003")
    scan = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "LILLE"})))
    first = runtime.mailroom.receive([Upload("a.png", scan)], source="cli", actor="test")
    second = runtime.mailroom.receive([Upload("b.png", scan)], source="cli", actor="test")
    assert _pages(runtime, first.id)[0].status is PageStatus.SUBMITTED
    (late,) = _pages(runtime, second.id)
    assert (late.status, late.exception) == (PageStatus.EXCEPTION, "page_of_another_batch")

    from forms_service.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        runtime.mailroom.reject(late.id, "   ", actor="operator")
    runtime.mailroom.reject(late.id, "sent twice by the customer", actor="operator")
    (after,) = _pages(runtime, second.id)
    assert after.status is PageStatus.REJECTED
    assert "sent twice" in (after.reason or "")
    assert after.resolved_by == "operator"


def test_operator_assigns_an_unidentified_page_to_a_document(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000004")
    version = runtime.definitions[FORM].version
    stray_code = PageCodes(runtime.signer.keys).encode(
        new_document_id(), 1, version, layout=CURRENT_LAYOUT
    )
    page = scanned_page(
        runtime, document, FORM, Answers(texts={"city": "RENNES"}), payload=stray_code
    )
    received = runtime.mailroom.receive(
        [Upload("stray.png", as_png(page))], source="cli", actor="test"
    )
    (stray,) = _pages(runtime, received.id)
    assert stray.exception == "unknown_document"

    from forms_service.core.errors import Conflict, NotFound

    with pytest.raises(NotFound) as unknown:
        runtime.mailroom.assign(stray.id, "ZZZ-ZZZ-ZZZ", actor="operator")
    assert unknown.value.field == "document"
    reference = _reference(runtime, document)
    runtime.mailroom.assign(stray.id, reference.lower().replace("-", ""), actor="operator")

    (assigned,) = _pages(runtime, received.id)
    assert assigned.status is PageStatus.SUBMITTED
    assert assigned.reference == reference
    assert submission_of(runtime, document).values == {"city": "RENNES"}
    with pytest.raises(Conflict):
        runtime.mailroom.assign(stray.id, reference, actor="operator")


def _two_page_form(runtime: Runtime) -> None:
    """Pretend the form has two identical pages (every shipped form fits on one)."""
    from dataclasses import replace

    from forms_service.issuing.layout import form_geometry

    def two_pages(definition: Any, layout: int) -> Any:
        geometry = form_geometry(definition, layout)
        return replace(geometry, pages=(geometry.pages[0], replace(geometry.pages[0], number=2)))

    runtime.mailroom.geometry = two_pages


def _page_two(runtime: Runtime, document: str, answers: Answers) -> bytes:
    version = runtime.definitions[FORM].version
    code = PageCodes(runtime.signer.keys).encode(document, 2, version, layout=CURRENT_LAYOUT)
    return as_png(scanned_page(runtime, document, FORM, answers, payload=code))


def test_missing_pages_wait_for_an_operator(runtime: Runtime) -> None:
    _two_page_form(runtime)
    document = issue(runtime, FORM, "C000005")
    page = scanned_page(runtime, document, FORM, Answers(texts={"city": "PAU"}))
    received = runtime.mailroom.receive(
        [Upload("p1.png", as_png(page))], source="cli", actor="test"
    )
    (alone,) = _pages(runtime, received.id)
    assert (alone.status, alone.exception) == (PageStatus.EXCEPTION, "missing_pages")
    assert "page 1 of 2" in (alone.reason or "")

    runtime.mailroom.assign(alone.id, _reference(runtime, document), form_page=1, actor="operator")
    (submitted,) = _pages(runtime, received.id)
    assert submitted.status is PageStatus.SUBMITTED
    assert submission_of(runtime, document).values == {"city": "PAU"}


def test_a_page_arriving_in_a_later_batch_completes_its_document(runtime: Runtime) -> None:
    _two_page_form(runtime)
    document = issue(runtime, FORM, "C000006")
    first_page = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "PAU"})))
    first = runtime.mailroom.receive([Upload("p1.png", first_page)], source="cli", actor="test")
    assert _pages(runtime, first.id)[0].exception == "missing_pages"

    second_page = _page_two(runtime, document, Answers(texts={"phone": "0612345678"}))
    second = runtime.mailroom.receive([Upload("p2.png", second_page)], source="cli", actor="test")
    pages = _pages(runtime, first.id) + _pages(runtime, second.id)
    assert [(p.status, p.exception, p.form_page) for p in pages] == [
        (PageStatus.SUBMITTED, None, 1),
        (PageStatus.SUBMITTED, None, 2),
    ]
    assert pages[0].submission_id == pages[1].submission_id
    assert submission_of(runtime, document).values == {"city": "PAU", "phone": "+33612345678"}
    with runtime.sessions() as session:
        assert queries.exceptions(session)[1] == 0


# -- web, API and CLI ---------------------------------------------------------------------------


def test_mailroom_screens_upload_progress_and_exception_queue(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "mary", ["mailroom"])
    add_user(runtime, "clara", ["clerk"])
    anonymous = client.get("/mailroom/")
    assert anonymous.status_code == 302 and "/backoffice/login" in anonymous.headers["Location"]
    assert sign_in(client, "mary") in (302, 303)
    home = client.get("/mailroom/")
    assert home.status_code == 200
    token = csrf_of(home.text)

    document = issue(runtime, FORM, "C000006")
    scan = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "NICE"})))
    blank = as_pdf([_blank_sheet()])
    unreadable = _blank_sheet()
    unreadable[400:2000:40, 200:1400] = 0  # written on, but no code
    no_code = as_pdf([unreadable])
    refused = client.post(
        "/mailroom/batches",
        data={"files": [(io.BytesIO(scan), "scan.png")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400  # no CSRF token
    sent = client.post(
        "/mailroom/batches",
        data={
            "csrf_token": token,
            "files": [
                (io.BytesIO(scan), "scan.png"),
                (io.BytesIO(blank), "blank.pdf"),
                (io.BytesIO(no_code), "no-code.pdf"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    progress = client.get(sent.headers["Location"])
    assert progress.status_code == 200
    assert 'data-status="submitted"' in progress.text and "blank_page" in progress.text
    crop = submission_of(runtime, document).evidence["city"]["crop"]
    shown = client.get(f"/mailroom/crops/{crop}")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.data == runtime.files.get(crop)
    with runtime.sessions() as session:
        page_id = queries.batch(session, queries.batches(session)[0].id).pages[0].id
    image = client.get(f"/mailroom/pages/{page_id}/image")
    assert image.mimetype == "image/png"
    # A scan shows a customer's letter: no cache keeps it (it was cached an hour).
    assert image.headers["Cache-Control"] == shown.headers["Cache-Control"] == "no-store"
    # Only crops and pages of scans are served, not any stored file.
    other = runtime.files.put(b"\x89PNG not a scan", suffix=".png")
    assert client.get(f"/mailroom/crops/{other}").status_code == 404
    assert client.get("/mailroom/crops/../secrets.json").status_code == 404

    wrong = client.post(
        "/mailroom/batches",
        data={"csrf_token": token, "files": [(io.BytesIO(b"plain text"), "notes.txt")]},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "notes.txt" in wrong.text

    queue = client.get("/mailroom/exceptions")
    # The blank sheet was set aside by itself (issue 17, 6); the page without a code waits.
    assert 'data-exception="unreadable_code"' in queue.text
    assert 'data-exception="blank_page"' not in queue.text
    with runtime.sessions() as session:
        (waiting,), _ = queries.exceptions(session)
    found = client.post(
        "/mailroom/search", data={"csrf_token": token, "query": _reference(runtime, document)}
    )
    assert found.status_code == 200 and f'data-hit="{_reference(runtime, document)}"' in found.text
    no_reason = client.post(
        f"/mailroom/pages/{waiting.id}/reject", data={"csrf_token": token, "reason": ""}
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/mailroom/pages/{waiting.id}/reject", data={"csrf_token": token, "reason": "not ours"}
    )
    assert rejected.status_code == 303
    with runtime.sessions() as session:
        assert queries.exceptions(session)[1] == 0

    client.post("/backoffice/logout", data={"csrf_token": token})
    assert sign_in(client, "clara") in (302, 303)
    assert client.get("/mailroom/").status_code == 403


def test_scans_api_takes_a_batch_with_a_token(client: FlaskClient, runtime: Runtime) -> None:
    mailroom = add_token(runtime, "scanner", ["mailroom"])
    clerk = add_token(runtime, "desk", ["clerk"])
    document = issue(runtime, FORM, "C000007")
    scan = as_jpeg(scanned_page(runtime, document, FORM, Answers(texts={"city": "METZ"})))

    def send(token: str | None, files: list[tuple[bytes, str]]) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = {"files": [(io.BytesIO(content), name) for content, name in files]}
        return client.post(
            "/api/v1/scans", data=data, headers=headers, content_type="multipart/form-data"
        )

    assert send(None, [(scan, "a.jpg")]).status_code == 401
    assert send(clerk, [(scan, "a.jpg")]).status_code == 403
    bad = send(mailroom, [(b"GIF89a", "a.gif")])
    assert bad.status_code == 422
    assert bad.json["field"] == "a.gif" and bad.json["code"] == "unsupported_file"
    none = client.post("/api/v1/scans", headers={"Authorization": f"Bearer {mailroom}"})
    assert none.status_code == 422 and none.get_json()["field"] == "files"

    # A batch has the mailroom's own limit (test_mailroom_batches.py), not the customers'.
    limit = runtime.mailroom.max_batch_bytes
    runtime.mailroom.max_batch_bytes = len(scan) // 2
    too_big = send(mailroom, [(scan, "a.jpg")])
    assert too_big.status_code == 413 and too_big.json["status"] == 413
    assert too_big.json["code"] == "batch_too_large"
    runtime.mailroom.max_batch_bytes = limit
    accepted = send(mailroom, [(scan, "a.jpg")])
    assert accepted.status_code == 202
    body = accepted.json
    assert body["pages_total"] == 1 and body["pages"][0]["status"] == "submitted"
    detail = client.get(
        f"/api/v1/scans/{body['id']}", headers={"Authorization": f"Bearer {mailroom}"}
    )
    assert detail.status_code == 200 and detail.get_json()["percent"] == 100
    assert detail.get_json()["pdf_return_id"] is None  # a mailroom upload, not a PDF return
    assert (
        client.get(
            "/api/v1/scans/nope", headers={"Authorization": f"Bearer {mailroom}"}
        ).status_code
        == 404
    )
    listed = client.get("/api/v1/scans?limit=5", headers={"Authorization": f"Bearer {mailroom}"})
    assert listed.status_code == 200
    assert [b["id"] for b in listed.get_json()["items"]] == [body["id"]]
    assert "pages" not in listed.get_json()["items"][0]
    bad_page = client.get("/api/v1/scans?limit=0", headers={"Authorization": f"Bearer {mailroom}"})
    assert bad_page.status_code == 422


def test_cli_import_and_watched_folder(app: Flask, runtime: Runtime, tmp_path: Path) -> None:
    document = issue(runtime, FORM, "C000008")
    scan = as_png(scanned_page(runtime, document, FORM))
    single = tmp_path / "scan.png"
    single.write_bytes(scan)
    result = app.test_cli_runner().invoke(cli, ["mailroom", "import", str(single)])
    assert result.exit_code == 0, result.output
    assert "1 file(s), 1 page(s) queued" in result.output

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "late.png").write_bytes(scan)
    (inbox / "notes.txt").write_text("not a scan")
    (inbox / ".partial").write_bytes(b"being written")
    result = app.test_cli_runner().invoke(
        cli, ["mailroom", "import", "--watch", str(inbox), "--once"]
    )
    assert result.exit_code == 0, result.output
    assert (inbox / "done" / "late.png").is_file()
    assert (inbox / "failed" / "notes.txt").is_file()
    assert "PDF, TIFF, PNG and JPEG" in (inbox / "failed" / "notes.txt.reason.txt").read_text()
    assert (inbox / ".partial").is_file()
    usage = app.test_cli_runner().invoke(cli, ["mailroom", "import"])
    assert usage.exit_code == 2


# -- clerks' corrections ------------------------------------------------------------------------


def test_clerk_corrections_of_read_values_are_recorded_as_accuracy(
    client: FlaskClient, runtime: Runtime
) -> None:
    import datetime as dt

    from forms_service.intake.mailroom.corrections import accuracy_summary, record_corrections

    kept, fixed = issue(runtime, FORM, "C000001"), issue(runtime, FORM, "C000002")
    uploads = [
        Upload(
            "kept.png", as_png(scanned_page(runtime, kept, FORM, Answers(texts={"city": "LYON"})))
        ),
        Upload(
            "fixed.png",
            as_png(scanned_page(runtime, fixed, FORM, Answers(texts={"city": "DIJON"}))),
        ),
    ]
    runtime.mailroom.receive(uploads, source="cli", actor="test")
    change_sets = {
        document: runtime.changes.change_set_of_submission(submission_of(runtime, document).id)
        for document in (kept, fixed)
    }
    runtime.changes.accept(
        change_sets[kept].id, "city", actor="clara", version=change_sets[kept].version
    )
    runtime.changes.edit(
        change_sets[fixed].id,
        "city",
        "DIJON CEDEX",
        actor="clara",
        version=change_sets[fixed].version,
        accept=True,
    )

    with runtime.sessions() as session, session.begin():
        assert record_corrections(session, runtime.definitions, now=dt.datetime.now(dt.UTC)) == 2
    with runtime.sessions() as session, session.begin():
        assert record_corrections(session, runtime.definitions, now=dt.datetime.now(dt.UTC)) == 0
    with runtime.sessions() as session:
        from forms_service.storage.scans import OcrCorrection

        recorded = {c.document_id: c for c in session.execute(select(OcrCorrection)).scalars()}
        (line,) = accuracy_summary(session)
    assert (recorded[kept].read_value, recorded[kept].corrected_value, recorded[kept].correct) == (
        "LYON", "LYON", True,
    )  # fmt: skip
    assert recorded[fixed].read_value == "DIJON"
    assert recorded[fixed].corrected_value == "DIJON CEDEX"
    assert not recorded[fixed].correct
    assert recorded[fixed].clerk == "clara" and recorded[fixed].engine == "tesserocr"
    assert (line.field_type, line.checked, line.corrected, line.accuracy) == ("text", 2, 1, 0.5)

    add_user(runtime, "clara", ["clerk"])
    sign_in(client, "clara")
    page = client.get("/mailroom/accuracy")
    assert page.status_code == 200 and 'data-field-type="text" data-accuracy="0.500"' in page.text


def test_pages_whose_job_was_lost_are_sent_again(runtime: Runtime) -> None:
    import datetime as dt

    class BrokerDown:
        def enqueue(self, job: str, *ids: str) -> None:
            raise ConnectionError("broker unreachable")

    working = runtime.mailroom.jobs
    runtime.mailroom.jobs = BrokerDown()
    document = issue(runtime, FORM, "C000010")
    scan = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "BREST"})))
    received = runtime.mailroom.receive([Upload("scan.png", scan)], source="cli", actor="test")
    # Stored even though nothing could be queued: the mailroom is told, nothing is lost.
    assert [p.status for p in _pages(runtime, received.id)] == [PageStatus.QUEUED]

    runtime.mailroom.jobs = working
    assert runtime.mailroom.requeue(older_than=dt.timedelta(hours=1)) == 0
    assert runtime.mailroom.requeue(older_than=dt.timedelta(0)) == 1
    assert [p.status for p in _pages(runtime, received.id)] == [PageStatus.SUBMITTED]
    assert submission_of(runtime, document).values == {"city": "BREST"}


def test_a_page_settled_by_another_run_of_its_job_meanwhile_keeps_that_result(
    runtime: Runtime,
) -> None:
    """Regression: a job handed out again while its first run was reading (two workers, a
    visibility timeout shorter than the page) flagged the submitted page as already answered."""

    class Held:
        def enqueue(self, job: str, *ids: str) -> None:
            pass

    document = issue(runtime, FORM, "C000012")
    scan = as_png(scanned_page(runtime, document, FORM, Answers(texts={"city": "NANTES"})))
    working, runtime.mailroom.jobs = runtime.mailroom.jobs, Held()
    received = runtime.mailroom.receive([Upload("scan.png", scan)], source="cli", actor="test")
    runtime.mailroom.jobs = working
    (page,) = _pages(runtime, received.id)
    engine = runtime.mailroom.engine

    def engine_while_the_other_run_goes_through() -> Any:
        runtime.mailroom.engine = engine
        assert runtime.mailroom.read_page(page.id) is PageStatus.SUBMITTED  # the other run
        return engine()

    runtime.mailroom.engine = engine_while_the_other_run_goes_through
    assert runtime.mailroom.read_page(page.id) is PageStatus.SUBMITTED
    (after,) = _pages(runtime, received.id)
    assert (after.status, after.exception, after.attempts) == (PageStatus.SUBMITTED, None, 2)
    assert submission_of(runtime, document).values == {"city": "NANTES"}


def test_the_real_printed_document_filled_and_scanned_with_its_letter(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000011")
    sheets = printed_and_filled(runtime, document, {"city": "GRENOBLE", "postcode": "38000"})
    received = runtime.mailroom.receive(
        [Upload("envelope.pdf", as_pdf(sheets))], source="cli", actor="test"
    )
    letter, form_page = _pages(runtime, received.id)
    # The covering letter is recognised by its link code and set aside: nobody has to look.
    assert (letter.status, letter.exception) == (PageStatus.REJECTED, "covering_letter")
    assert letter.reference == _reference(runtime, document)
    assert form_page.status is PageStatus.SUBMITTED
    submission = submission_of(runtime, document)
    assert submission.values == {"city": "GRENOBLE", "postcode": "38000"}
    with runtime.sessions() as session:
        assert queries.exceptions(session)[1] == 0
    assert _batch(runtime, received.id).status == BatchStatus.DONE.value


def test_handwritten_values_without_a_check_always_wait_for_a_clerk(runtime: Runtime) -> None:
    """Regression: handwritten phone numbers misread with 0.94-0.98 confidence were applied."""
    from tests.mailroom_scans import HANDWRITING_FONT

    document = issue(runtime, FORM, "C000012")
    sheets = printed_and_filled(
        runtime,
        document,
        {"phone": "0639825979", "email": "marie.durand@orange.fr"},
        font=HANDWRITING_FONT,
    )
    runtime.mailroom.receive([Upload("form.pdf", as_pdf(sheets[1:]))], source="cli", actor="test")
    submission = submission_of(runtime, document)
    rows = _rows(runtime, submission.id)
    assert set(rows) == {"phone", "email"}  # both are auto-apply fields in the definition
    for name, row in rows.items():
        assert row.status is FieldChangeStatus.PENDING, name
        assert row.policy == "review"
        assert "unverifiable" in submission.evidence[name]["warnings"]


def test_an_inked_box_nothing_could_read_reaches_a_clerk_to_key(
    client: FlaskClient, runtime: Runtime
) -> None:
    """Regression (issue 17): a box with ink the reader flagged unreadable was dropped as if
    empty, so the customer's new value vanished, the page showed as submitted, no clerk saw it."""
    document = issue(runtime, FORM, "C000015")
    # An ink blot in the phone box (an auto-apply field): Tesseract reads nothing in it.
    sheets = printed_and_filled(runtime, document, {"city": "GRENOBLE"}, blots=frozenset({"phone"}))
    runtime.mailroom.receive([Upload("form.pdf", as_pdf(sheets[1:]))], source="cli", actor="test")

    submission = submission_of(runtime, document)
    assert submission.values["city"] == "GRENOBLE"
    assert "phone" in submission.values and submission.values["phone"] is None
    evidence = submission.evidence["phone"]
    assert evidence["verdict"] == "unread" and "unreadable" in evidence["warnings"]
    assert evidence["confidence"] == 0
    assert runtime.files.get(evidence["crop"])[:4] == b"\x89PNG"
    rows = _rows(runtime, submission.id)
    assert set(rows) == {"city", "phone"}
    phone = rows["phone"]
    assert (phone.status, phone.policy, phone.proposed) == (
        FieldChangeStatus.PENDING,
        "review",
        None,
    )
    assert phone.verdict == "unread" and phone.evidence["crop"] == evidence["crop"]

    # The clerk sees the crop, the reason and an empty value to key in.
    add_user(runtime, "clara", ["clerk"])
    sign_in(client, "clara")
    view = runtime.changes.change_set_of_submission(submission.id)
    screen = client.get(f"/backoffice/change-sets/{view.id}")
    assert screen.status_code == 200
    assert f'src="/backoffice/change-sets/{view.id}/fields/phone/evidence"' in screen.text
    assert "Written but not readable: type the value shown in the scan." in screen.text
    assert 'id="value-phone" name="value" value=""' in screen.text
    crop = client.get(f"/backoffice/change-sets/{view.id}/fields/phone/evidence")
    assert crop.status_code == 200 and crop.data[:4] == b"\x89PNG"

    # Nothing goes through as it stands (it would empty the phone number): the clerk keys it.
    with pytest.raises(InvalidInput):
        runtime.changes.accept(view.id, "phone", actor="clara", version=view.version)
    with pytest.raises(InvalidInput):
        runtime.changes.approve_all(view.id, actor="clara", version=view.version)
    keyed = runtime.changes.edit(
        view.id, "phone", "06 12 34 56 78", actor="clara", version=view.version, accept=True
    )
    assert keyed.row("phone").proposed == "+33612345678"
    assert keyed.row("phone").status is not FieldChangeStatus.PENDING


def test_a_field_not_answered_on_paper_is_never_read_from_a_scan(runtime: Runtime) -> None:
    """Regression (issue 17): the SEPA mandate (`channels: [online, pdf]`) was read from
    scanned letters: a tick on paper became a proposed mandate."""
    form = "bank-details"
    definition = runtime.definitions[form]
    assert Channel.PAPER not in definition.field("mandate").channels
    document = issue(runtime, form, "C000016")
    # The fillable copy printed and posted: the square is there (for the PDF), ticked by hand.
    sheets = printed_and_filled(
        runtime,
        document,
        {"account_holder": "JEAN MARTIN"},
        ticks=frozenset({("mandate", "true")}),
    )
    runtime.mailroom.receive([Upload("form.pdf", as_pdf(sheets[1:]))], source="cli", actor="test")
    submission = submission_of(runtime, document)
    assert "mandate" not in submission.values and "mandate" not in submission.evidence
    assert "account_holder" in submission.values  # the paper fields of the page are read
    with runtime.sessions() as session:
        (page,) = session.execute(
            select(ScanPage).where(ScanPage.document_id == document)
        ).scalars()
        assert {zone["field"] for zone in page.readings["zones"]} == {
            f.name for f in definition.fields_for(Channel.PAPER)
        }
    assert "mandate" not in _rows(runtime, submission.id)


def test_ticked_squares_on_the_printed_form_are_answers(runtime: Runtime) -> None:
    form = "consent-preferences"
    document = issue(runtime, form, "C000013")
    with runtime.sessions() as session:
        stored = session.get(Document, document)
        assert stored is not None
        before = dict(stored.snapshot)
    new_sms = "false" if before.get("consent_sms") == "true" else "true"
    sheets = printed_and_filled(runtime, document, {}, ticks=frozenset({("consent_sms", new_sms)}))
    runtime.mailroom.receive([Upload("form.pdf", as_pdf(sheets))], source="cli", actor="test")
    submission = submission_of(runtime, document)
    # Only the ticked field is an answer; untouched squares mean "unchanged".
    assert submission.values == {"consent_sms": new_sms}
    assert submission.evidence["consent_sms"]["warnings"] == []
    row = _rows(runtime, submission.id)["consent_sms"]
    # A clear tick is measured by ink, not read: an auto-apply field goes through.
    assert row.policy == "auto"
    assert row.status in (FieldChangeStatus.QUEUED, FieldChangeStatus.APPLIED)


def test_a_page_with_a_damaged_code_is_read_once_an_operator_assigns_it(runtime: Runtime) -> None:
    from forms_service.issuing.layout import form_geometry

    document = issue(runtime, FORM, "C000014")
    page = scanned_page(runtime, document, FORM, Answers(texts={"city": "VANNES"}))
    qr = form_geometry(runtime.definitions[FORM]).page(1).qr
    scale = 200 / 72
    left, top = round(qr.x * scale), round((841.89 - qr.y - qr.height) * scale)
    size = round(qr.width * scale)
    page[top : top + size * 2 // 3, left : left + size] = 255  # a coffee stain, a tear
    upside_down = np.ascontiguousarray(np.rot90(page, 2))
    received = runtime.mailroom.receive(
        [Upload("torn.png", as_png(upside_down))], source="cli", actor="test"
    )
    (torn,) = _pages(runtime, received.id)
    assert torn.exception == "unreadable_code"

    runtime.mailroom.assign(torn.id, _reference(runtime, document), actor="operator")
    (read,) = _pages(runtime, received.id)
    assert read.status is PageStatus.SUBMITTED
    submission = submission_of(runtime, document)
    assert submission.values == {"city": "VANNES"}
    assert "read_without_code" in submission.evidence["city"]["warnings"]
    assert _rows(runtime, submission.id)["city"].status is FieldChangeStatus.PENDING
