"""Issue 16 (7): the mailroom's workload at the scale of a morning's batch.

Blank and near-blank pages (the back of a sheet, a separator) are set aside by the mailroom
with a thumbnail, listed per batch, and read again when an operator says they are not blank;
waiting pages are settled in bulk (assigned to a document found by search, rejected, read
again), each action recorded with who and when and shown in the batch's history; batches are
named by the operator or the scanner; every list is paged and costs the same few queries
whatever the batch's size. Real pages drawn from the service's layout with real signed
codes, read by the real pipeline and Tesseract; jobs run eagerly; SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from reportlab.pdfgen import canvas
from sqlalchemy import event, select

from forms_service.intake.mailroom import actions, queries, worklists
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing.layout import CURRENT_LAYOUT
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.tokens import new_document_id
from forms_service.runtime import Runtime
from forms_service.storage.model import AuditEvent, Document
from forms_service.storage.scans import PageStatus, ScanBatch, ScanPage, ScanPageAction
from tests.integration.reviewing import add_user, csrf_of, english_client, sign_in
from tests.mailroom_scans import as_pdf, as_png, as_tiff, issue, scanned_page
from tests.ocr_forms import IssuedForms
from tests.ocr_pages import Answers
from tests.readers.returning import submission_of
from tests.unit.intake.mailroom.test_blank_pages import scanner_white

FORM = "contact-update"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An operator's screens in English."""
    return english_client(app)


def _back_of_the_form() -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The back of a printed form: its print showing through (12 %), mirrored, blurred."""
    printed = IssuedForms().print_form(FORM, dpi=200)[0].image
    back = cv2.GaussianBlur(printed[:, ::-1].astype(np.float32), (0, 0), 1.5)
    through = 255 - (255 - back) * 0.12
    page: np.ndarray[Any, np.dtype[np.uint8]] = np.clip(
        np.minimum(through, scanner_white(5) + 9.0), 0, 255
    ).astype(np.uint8)
    return page


def _no_code(seed: int = 0) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A sheet written on, without any code: it waits for an operator."""
    sheet = np.full((2339, 1654), 255, dtype=np.uint8)
    sheet[400 + seed * 7 : 2000 : 40, 200:1400] = 0
    return sheet


def _stray(runtime: Runtime, document: str, answers: Answers | None = None) -> Any:
    """A page of `document` whose code names a document that does not exist."""
    code = PageCodes(runtime.signer.keys).encode(
        new_document_id(), 1, runtime.definitions[FORM].version, layout=CURRENT_LAYOUT
    )
    return scanned_page(runtime, document, FORM, answers, payload=code)


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found.reference


def _pages(runtime: Runtime, batch_id: str) -> list[ScanPage]:
    with runtime.sessions() as session:
        found = list(
            session.execute(
                select(ScanPage).where(ScanPage.batch_id == batch_id).order_by(ScanPage.sequence)
            ).scalars()
        )
        session.expunge_all()
    return found


def _history(runtime: Runtime, batch_id: str) -> list[tuple[str, str, int | None]]:
    """(actor, action, page sequence) of the batch's history, oldest first."""
    with runtime.sessions() as session:
        lines, _ = actions.of_batch(session, batch_id, limit=500)
    return [(line.actor, line.action.value, line.sequence) for line in reversed(lines)]


def _files(app_settings: dict[str, Any]) -> list[Path]:
    return sorted(Path(app_settings["FILE_STORE_DIR"]).rglob("*.png"))


def test_blank_and_back_of_sheet_pages_are_set_aside_with_a_thumbnail_and_can_be_read_again(
    client: FlaskClient, runtime: Runtime, app_settings: dict[str, Any]
) -> None:
    document = issue(runtime, FORM, "C000001")
    front = scanned_page(runtime, document, FORM, Answers(texts={"city": "LYON"}))
    received = runtime.mailroom.receive(
        [Upload("2026-12-07_lot-42.pdf", as_pdf([front, _back_of_the_form(), scanner_white(3)]))],
        source="upload",
        actor="user:mary",
    )
    read, back, white = _pages(runtime, received.id)
    assert read.status is PageStatus.SUBMITTED
    assert (back.status, back.exception, back.resolved_by) == (
        PageStatus.REJECTED,
        "near_blank_page",
        "mailroom",
    )
    assert (white.status, white.exception) == (PageStatus.REJECTED, "blank_page")
    assert "showing through" in (back.reason or "")
    # Every page has its thumbnail in the file store, made when it was decoded.
    for page in (read, back, white):
        assert page.thumb_key and page.image_key
        thumb = Image.open(io.BytesIO(runtime.files.get(page.thumb_key)))
        assert thumb.format == "PNG" and thumb.width == 160 and 220 <= thumb.height <= 230
        assert len(runtime.files.get(page.thumb_key)) < 30_000
    # Named by its file (the scanner's PDF has no title).
    with runtime.sessions() as session:
        batch = session.get(ScanBatch, received.id)
        assert batch is not None
        assert (batch.name, batch.name_source) == ("2026-12-07_lot-42", "file_name")

    add_user(runtime, "mary", ["mailroom"])
    assert sign_in(client, "mary") == 303
    screen = client.get(f"/mailroom/batches/{received.id}")
    assert screen.status_code == 200
    html = screen.text
    assert f'data-set-aside="{back.id}"' in html and f'data-set-aside="{white.id}"' in html
    assert f'data-set-aside="{read.id}"' not in html
    assert f"/mailroom/pages/{back.id}/thumbnail" in html
    assert "almost blank page" in html and "2026-12-07_lot-42" in html
    # Served from the file store: the same bytes, nothing made again.
    stored = _files(app_settings)
    for _ in range(2):
        served = client.get(f"/mailroom/pages/{white.id}/thumbnail")
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.data == runtime.files.get(white.thumb_key or "")
    assert _files(app_settings) == stored
    assert "no-store" in (served.headers.get("Cache-Control") or "")

    # "Not blank": read again, without the blank check; it has no code, so it waits.
    token = csrf_of(html)
    assert client.post(f"/mailroom/pages/{white.id}/not-blank").status_code == 400  # no CSRF
    said = client.post(f"/mailroom/pages/{white.id}/not-blank", data={"csrf_token": token})
    assert said.status_code == 303
    after = _pages(runtime, received.id)[2]
    assert (after.status, after.exception) == (PageStatus.EXCEPTION, "unreadable_code")
    assert after.resolved_by is None
    # Only a page the mailroom set aside as blank can be said not blank.
    again = client.post(
        f"/mailroom/pages/{read.id}/not-blank", data={"csrf_token": token}, follow_redirects=True
    )
    assert "not set aside as blank" in again.text
    assert _history(runtime, received.id) == [
        ("mailroom", "set_aside", 2),
        ("mailroom", "set_aside", 3),
        ("user:mary", "not_blank", 3),
    ]
    with runtime.sessions() as session:
        kinds = session.execute(
            select(AuditEvent.kind, AuditEvent.actor).where(
                AuditEvent.kind == "scan_page_not_blank"
            )
        ).all()
    assert [tuple(k) for k in kinds] == [("scan_page_not_blank", "user:mary")]
    history = client.get(f"/mailroom/batches/{received.id}").text
    assert 'data-action="not_blank" data-actor="mary"' in history
    assert "said not blank" in history


def test_a_page_decoded_before_thumbnails_gets_one_on_its_first_request_only(
    client: FlaskClient, runtime: Runtime, app_settings: dict[str, Any]
) -> None:
    received = runtime.mailroom.receive(
        [Upload("old.png", as_png(_no_code()))], source="cli", actor="test"
    )
    (page,) = _pages(runtime, received.id)
    with runtime.sessions() as session, session.begin():
        stored = session.get(ScanPage, page.id)
        assert stored is not None
        stored.thumb_key = None  # as migration 0026 leaves the pages read before it
    add_user(runtime, "mary", ["mailroom"])
    sign_in(client, "mary")
    first = client.get(f"/mailroom/pages/{page.id}/thumbnail")
    assert first.status_code == 200 and Image.open(io.BytesIO(first.data)).width == 160
    # Kept: its key is the page's now (the store is content-addressed: the same bytes as
    # the thumbnail made when the page was decoded), and the next request reads it.
    (kept,) = _pages(runtime, received.id)
    assert kept.thumb_key and kept.thumb_key == page.thumb_key
    assert runtime.files.get(kept.thumb_key) == first.data
    files = _files(app_settings)
    assert client.get(f"/mailroom/pages/{page.id}/thumbnail").data == first.data
    assert _files(app_settings) == files
    assert client.get(f"/mailroom/pages/{new_document_id()}/thumbnail").status_code == 404


def _search(client: FlaskClient, token: str, text: str, pages: list[str]) -> str:
    found = client.post(
        "/mailroom/search", data={"csrf_token": token, "query": text, "pages": pages}
    )
    assert found.status_code == 200
    return found.text


def test_the_pages_of_a_letter_are_assigned_in_one_click_to_the_document_found_by_search(
    client: FlaskClient, runtime: Runtime
) -> None:
    from tests.integration.test_mailroom import _two_page_form

    _two_page_form(runtime)
    document = issue(runtime, FORM, "C000002")
    reference = _reference(runtime, document)
    letter = [
        _stray(runtime, document, Answers(texts={"city": "RENNES"})),
        _stray(runtime, document),
    ]
    received = runtime.mailroom.receive(
        [Upload("letter.tiff", as_tiff([*letter, _no_code(1), _no_code(2)]))],
        source="cli",
        actor="test",
    )
    pages = _pages(runtime, received.id)
    assert [p.exception for p in pages] == [
        "unknown_document",
        "unknown_document",
        "unreadable_code",
        "unreadable_code",
    ]
    add_user(runtime, "mary", ["mailroom"])
    add_user(runtime, "carl", ["clerk"])
    sign_in(client, "mary")
    queue = client.get(f"/mailroom/exceptions?batch={received.id}")
    assert queue.text.count('name="pages"') == 4
    assert "no readable QR code" in queue.text and "data-reason" in queue.text
    token = csrf_of(queue.text)
    ticked = [pages[0].id, pages[1].id]
    found = _search(client, token, reference, ticked)
    # The hit carries the button; the ticked pages stay ticked.
    assert f'data-assign-to="{reference}"' in found
    assert found.count("checked") == 2

    three = client.post(
        "/mailroom/pages/bulk/assign",
        data={"csrf_token": token, "document": reference, "pages": [p.id for p in pages[:3]]},
    )
    assert three.status_code == 422
    assert "has 2 page(s)" in three.text
    assert [p.status for p in _pages(runtime, received.id)][:3] == [PageStatus.EXCEPTION] * 3

    done = client.post(
        "/mailroom/pages/bulk/assign",
        data={"csrf_token": token, "document": reference, "pages": ticked, "batch": received.id},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"2 pages assigned to document {reference}" in done.text
    first, second = _pages(runtime, received.id)[:2]
    assert (first.status, first.form_page, second.status, second.form_page) == (
        PageStatus.SUBMITTED,
        1,
        PageStatus.SUBMITTED,
        2,
    )
    assert first.submission_id == second.submission_id  # one answer, not one per page
    assert submission_of(runtime, document).values == {"city": "RENNES"}
    assert _history(runtime, received.id)[-2:] == [
        ("user:mary", "assigned", 1),
        ("user:mary", "assigned", 2),
    ]

    # A clerk may not act on the mailroom's pages.
    sign_in(client, "carl")
    own = csrf_of(client.get("/backoffice/", follow_redirects=True).text)
    refused = client.post(
        "/mailroom/pages/bulk/reject",
        data={"csrf_token": own, "reason": "x", "pages": [pages[2].id]},
    )
    assert refused.status_code == 403


def test_bulk_reject_and_requeue_settle_each_page_once_and_say_which_were_left(
    client: FlaskClient, runtime: Runtime
) -> None:
    received = runtime.mailroom.receive(
        [Upload("foreign.pdf", as_pdf([_no_code(s) for s in range(4)]))],
        source="cli",
        actor="test",
    )
    pages = _pages(runtime, received.id)
    add_user(runtime, "mary", ["mailroom"])
    add_user(runtime, "paul", ["mailroom"])
    sign_in(client, "mary")
    token = csrf_of(client.get("/mailroom/exceptions").text)
    # Another operator rejected page 2 meanwhile: it is left, and named.
    runtime.mailroom.reject(pages[1].id, "advert", actor="user:paul")
    empty = client.post(
        "/mailroom/pages/bulk/reject",
        data={"csrf_token": token, "reason": " ", "pages": [pages[0].id]},
    )
    assert empty.status_code == 422 and "say why the page is rejected" in empty.text
    rejected = client.post(
        "/mailroom/pages/bulk/reject",
        data={
            "csrf_token": token,
            "reason": "adverts in the envelope",
            "pages": [pages[0].id, pages[1].id, pages[2].id],
        },
        follow_redirects=True,
    )
    assert "2 pages rejected." in rejected.text
    assert "Page 2 left as it was" in rejected.text
    statuses = [p.status for p in _pages(runtime, received.id)]
    assert statuses == [PageStatus.REJECTED] * 3 + [PageStatus.EXCEPTION]

    requeued = client.post(
        "/mailroom/pages/bulk/requeue",
        data={"csrf_token": token, "pages": [pages[3].id, pages[0].id]},
        follow_redirects=True,
    )
    assert "1 page sent to be read again." in requeued.text
    last = _pages(runtime, received.id)[3]
    # Read again (eagerly) from its scan: still no code, waiting again, attempts from zero.
    assert (last.status, last.exception, last.attempts) == (
        PageStatus.EXCEPTION,
        "unreadable_code",
        1,
    )
    assert _history(runtime, received.id) == [
        ("user:paul", "rejected", 2),
        ("user:mary", "rejected", 1),
        ("user:mary", "rejected", 3),
        ("user:mary", "requeued", 4),
    ]
    with runtime.sessions() as session:
        events = session.execute(
            select(AuditEvent.kind, AuditEvent.actor)
            .where(AuditEvent.kind.in_(("scan_page_rejected", "scan_page_requeued")))
            .order_by(AuditEvent.id)
        ).all()
        rows = session.execute(select(ScanPageAction.detail)).scalars().all()
    assert [tuple(e) for e in events] == [
        ("scan_page_rejected", "user:paul"),
        ("scan_page_rejected", "user:mary"),
        ("scan_page_rejected", "user:mary"),
        ("scan_page_requeued", "user:mary"),
    ]
    assert {"exception": "unreadable_code", "reason": "adverts in the envelope"} in rows
    assert (
        client.post("/mailroom/pages/bulk/requeue", data={"pages": [pages[3].id]}).status_code
        == 400
    )


def _titled_pdf(title: str) -> bytes:
    out = io.BytesIO()
    sheet = canvas.Canvas(out)
    sheet.setTitle(title)
    sheet.showPage()
    sheet.save()
    return out.getvalue()


def test_batches_are_named_by_the_operator_or_the_scanner_and_renamed(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "mary", ["mailroom"])
    sign_in(client, "mary")
    token = csrf_of(client.get("/mailroom/").text)
    sent = client.post(
        "/mailroom/batches",
        data={
            "csrf_token": token,
            "name": "Retours du 7 décembre",
            "files": [(io.BytesIO(_titled_pdf("untitled")), "scan0001.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    scanner = runtime.mailroom.receive(
        [Upload("scan0002.pdf", _titled_pdf("Tournée 7 – lot B"))], source="cli", actor="cli"
    )
    with runtime.sessions() as session:
        names = dict(
            (row.name, row.name_source)
            for row in session.execute(select(ScanBatch.name, ScanBatch.name_source))
        )
    assert names == {
        "Retours du 7 décembre": "operator",
        "Tournée 7 – lot B": "scanner_title",
    }
    listing = client.get("/mailroom/").text
    assert "Retours du 7 décembre" in listing and "Tournée 7 – lot B" in listing

    renamed = client.post(
        f"/mailroom/batches/{scanner.id}/name",
        data={"csrf_token": token, "name": "Tournée 7 (relu)"},
        follow_redirects=True,
    )
    assert "Batch renamed “Tournée 7 (relu)”." in renamed.text
    assert _history(runtime, scanner.id)[-1] == ("user:mary", "renamed", None)
    with runtime.sessions() as session:
        event_row = session.execute(
            select(AuditEvent).where(AuditEvent.kind == "scan_batch_renamed")
        ).scalar_one()
        assert (event_row.before, event_row.after, event_row.actor) == (
            "Tournée 7 – lot B",
            "Tournée 7 (relu)",
            "user:mary",
        )


@contextmanager
def _statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = runtime.engine

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_batch_of_hundreds_of_pages_is_shown_a_screen_at_a_time_with_bounded_queries(
    client: FlaskClient, runtime: Runtime
) -> None:
    # 104 pages of a duplex scanner: letters and their blank backs (a page without a code
    # costs a second of code search, a blank one a tenth: most of these are blank backs).
    white = np.full((2339, 1654), 250, dtype=np.uint8)
    sheets = [_no_code(i % 5) if i % 13 == 0 else white for i in range(104)]
    received = runtime.mailroom.receive(
        [Upload("duplex.tiff", as_tiff(sheets))], source="cli", actor="test"
    )
    add_user(runtime, "mary", ["mailroom"])
    sign_in(client, "mary")
    url = f"/mailroom/batches/{received.id}"
    with _statements(runtime) as first:
        started = time.perf_counter()
        screen = client.get(url)
        elapsed = time.perf_counter() - started
    assert screen.status_code == 200
    assert screen.text.count("<tr data-page=") == worklists.PAGE_SIZE == 100
    assert screen.text.count("data-set-aside=") == 50  # the first screen of 96
    assert "Pages 1 to 100 of 104" in screen.text
    with _statements(runtime) as second:
        rest = client.get(f"{url}?offset=100&aside=50")
    assert rest.text.count("<tr data-page=") == 4
    assert rest.text.count("data-set-aside=") == 46
    # The same few statements for any screen of any batch (sign-in and session included).
    assert len(first) == len(second) <= 15, first
    print(f"\nbatch screen, 104 pages: {len(first)} statements, {elapsed * 1000:.0f} ms")
    with runtime.sessions() as session:
        waiting, total = queries.exceptions(session, batch_id=received.id, limit=5)
    assert total == 8 and len(waiting) == 5
    queue = client.get(f"/mailroom/exceptions?batch={received.id}&exception=unreadable_code")
    assert queue.text.count('name="pages"') == 8
    assert 'data-filter-code="unreadable_code"' in queue.text


def test_the_api_and_the_cli_name_a_batch_and_say_its_name(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    from forms_service.cli import cli
    from tests.integration.reviewing import add_token

    token = add_token(runtime, "scanner", ["mailroom"])
    sent = client.post(
        "/api/v1/scans",
        data={"name": "Lot API 3", "files": [(io.BytesIO(_titled_pdf("Lot 9")), "a.pdf")]},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 202, sent.text[:300]
    assert (sent.get_json()["name"], sent.get_json()["name_source"]) == ("Lot API 3", "operator")
    unnamed = client.post(
        "/api/v1/scans",
        data={"files": [(io.BytesIO(_titled_pdf("Lot 9")), "a.pdf")]},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert (unnamed.get_json()["name"], unnamed.get_json()["name_source"]) == (
        "Lot 9",
        "scanner_title",
    )
    # A batch's pages through the API, a screen at a time (pages_total counts them all).
    white = np.full((2339, 1654), 250, dtype=np.uint8)
    three = client.post(
        "/api/v1/scans",
        data={"files": [(io.BytesIO(as_pdf([white, white, white])), "three.pdf")]},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    ).get_json()
    paged = client.get(
        f"/api/v1/scans/{three['id']}?limit=2&offset=1",
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert paged["pages_total"] == 3
    assert [p["sequence"] for p in paged["pages"]] == [2, 3]
    assert {p["exception"] for p in paged["pages"]} == {"blank_page"}
    path = tmp_path / "morning.pdf"
    path.write_bytes(_titled_pdf("untitled"))
    runner = client.application.test_cli_runner()
    assert runner.invoke(cli, ["mailroom", "import", str(path)]).exit_code == 0
    assert runner.invoke(cli, ["mailroom", "import", "--name", "Tri 2", str(path)]).exit_code == 0
    with runtime.sessions() as session:
        names = [b.name for b in queries.batches(session)]
    assert names[:2] == ["Tri 2", "morning"]
