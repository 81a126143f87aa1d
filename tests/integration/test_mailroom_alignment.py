"""Issue 17 (2): no page the operator cannot recover, on SQLite and PostgreSQL, real OCR.

The document's real PDF is printed, filled in and fed into the scanner shifted so that
two corner squares fall out of the scan (one cut square is aligned without anyone:
tests/integration/ocr/test_alignment.py). Assigning it again aligns it the same way and
fails the same way; the operator's way forward is to have it aligned on its code alone, or
on the scan's edges when the code is gone too. Every value read so goes to a clerk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms_service.core.errors import InvalidInput
from forms_service.intake.mailroom import queries
from forms_service.intake.mailroom.service import Upload
from forms_service.issuing.layout import form_geometry
from forms_service.runtime import Runtime
from forms_service.storage.model import Document
from forms_service.storage.scans import PageStatus
from tests.integration.reviewing import add_user, csrf_of, english_client, sign_in
from tests.mailroom_scans import DPI, as_png, issue, printed_and_filled
from tests.ocr_pages import Degradation, GrayImage, degrade

FORM = "contact-update"
TEXTS = {"address_line": "8 RUE PASTEUR", "city": "RENNES", "postcode": "35000"}
#: Fed 9 mm too far left: both left squares are out of the scan.
TWO_SQUARES_OUT = Degradation(rotation=0.6, frame_shift=(-9.0, 1.5), noise=3)


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "JOBS_EAGER": True}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return english_client(app)


def _form_page(runtime: Runtime, document: str) -> GrayImage:
    _letter, form_page = printed_and_filled(runtime, document, TEXTS, rotation=0.0)
    return form_page


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found.reference


def _page(runtime: Runtime, batch_id: str) -> queries.PageView:
    with runtime.sessions() as session:
        (page,) = queries.batch(session, batch_id).pages
        return page


def _submission(runtime: Runtime, document: str) -> Any:
    from tests.readers.returning import submission_of

    return submission_of(runtime, document)


def test_a_page_with_two_squares_cut_off_is_read_once_aligned_on_its_code(
    runtime: Runtime,
) -> None:
    document = issue(runtime, FORM, "C000001")
    scan = degrade(_form_page(runtime, document), TWO_SQUARES_OUT, seed=1)
    received = runtime.mailroom.receive(
        [Upload("cut.png", as_png(scan))], source="cli", actor="test"
    )
    cut = _page(runtime, received.id)
    assert (cut.status, cut.exception) == (PageStatus.EXCEPTION, "unaligned_page")
    reference = _reference(runtime, document)

    # Assigned as it is, the page is aligned the same way and fails the same way.
    runtime.mailroom.assign(cut.id, reference, actor="operator")
    again = _page(runtime, received.id)
    assert (again.status, again.exception) == (PageStatus.EXCEPTION, "unaligned_page")

    runtime.mailroom.assign(cut.id, reference, actor="operator", alignment="code")
    read = _page(runtime, received.id)
    assert read.status is PageStatus.SUBMITTED
    submission = _submission(runtime, document)
    assert submission.values == TEXTS
    for name in TEXTS:
        evidence = submission.evidence[name]
        assert "aligned_by_operator" in evidence["warnings"]
        assert evidence["confidence"] <= 0.5  # a clerk confirms it


def test_a_page_without_code_or_squares_is_read_once_aligned_on_the_scan_edges(
    runtime: Runtime,
) -> None:
    document = issue(runtime, FORM, "C000002")
    page = _form_page(runtime, document)
    qr = form_geometry(runtime.definitions[FORM]).page(1).qr
    scale = DPI / 72
    top = round((841.89 - qr.y - qr.height) * scale)
    page[top - 5 : top + round(qr.height * scale) + 5, round(qr.x * scale) - 5 :] = 255
    scan = degrade(np.ascontiguousarray(np.rot90(page, 2)), TWO_SQUARES_OUT, seed=2)
    received = runtime.mailroom.receive(
        [Upload("torn.png", as_png(scan))], source="cli", actor="test"
    )
    torn = _page(runtime, received.id)
    assert torn.exception == "unreadable_code"
    reference = _reference(runtime, document)
    runtime.mailroom.assign(torn.id, reference, actor="operator")
    assert _page(runtime, received.id).exception == "unaligned_page"

    runtime.mailroom.assign(torn.id, reference, actor="operator", alignment="frame")
    assert _page(runtime, received.id).status is PageStatus.SUBMITTED
    submission = _submission(runtime, document)
    assert submission.values == TEXTS  # turned right side up by its printed boxes
    assert all("aligned_by_operator" in submission.evidence[n]["warnings"] for n in TEXTS)


def test_the_operator_may_say_how_the_scan_lies(runtime: Runtime) -> None:
    # Whatever the boxes say, an operator who sees the page can always have it read: aligned
    # on the scan's edges and turned the way they say (here, upside down: 180 degrees).
    document = issue(runtime, FORM, "C000005")
    page = _form_page(runtime, document)
    qr = form_geometry(runtime.definitions[FORM]).page(1).qr
    scale = DPI / 72
    top = round((841.89 - qr.y - qr.height) * scale)
    page[top - 5 : top + round(qr.height * scale) + 5, round(qr.x * scale) - 5 :] = 255
    scan = degrade(np.ascontiguousarray(np.rot90(page, 2)), TWO_SQUARES_OUT, seed=3)
    received = runtime.mailroom.receive(
        [Upload("torn.png", as_png(scan))], source="cli", actor="test"
    )
    torn = _page(runtime, received.id)
    reference = _reference(runtime, document)
    with pytest.raises(InvalidInput) as refused:  # a turn means the scan's edges
        runtime.mailroom.assign(torn.id, reference, actor="operator", alignment="code", turn=180)
    assert refused.value.field == "turn"
    with pytest.raises(InvalidInput):
        runtime.mailroom.assign(torn.id, reference, actor="operator", alignment="frame", turn=45)
    runtime.mailroom.assign(torn.id, reference, actor="operator", alignment="frame", turn=180)
    read = _page(runtime, received.id)
    assert read.status is PageStatus.SUBMITTED
    assert _submission(runtime, document).values == TEXTS


def test_an_unknown_alignment_is_refused_and_nothing_changes(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000003")
    scan = degrade(_form_page(runtime, document), TWO_SQUARES_OUT, seed=1)
    received = runtime.mailroom.receive(
        [Upload("cut.png", as_png(scan))], source="cli", actor="test"
    )
    cut = _page(runtime, received.id)
    with pytest.raises(InvalidInput) as refused:
        runtime.mailroom.assign(
            cut.id, _reference(runtime, document), actor="operator", alignment="guess"
        )
    assert refused.value.field == "alignment"
    after = _page(runtime, received.id)
    assert (after.status, after.exception, after.reference) == (
        PageStatus.EXCEPTION,
        "unaligned_page",
        cut.reference,
    )


def test_the_exception_queue_offers_the_alignments_and_takes_one(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_user(runtime, "mary", ["mailroom"])
    assert sign_in(client, "mary") in (302, 303)
    document = issue(runtime, FORM, "C000004")
    scan = degrade(_form_page(runtime, document), TWO_SQUARES_OUT, seed=1)
    received = runtime.mailroom.receive(
        [Upload("cut.png", as_png(scan))], source="cli", actor="test"
    )
    cut = _page(runtime, received.id)
    queue = client.get("/mailroom/exceptions")
    assert f'id="alignment-{cut.id}"' in queue.text
    assert '<option value="code">the code alone</option>' in queue.text
    token = csrf_of(queue.text)
    reference = _reference(runtime, document)
    bad = client.post(
        f"/mailroom/pages/{cut.id}/assign",
        data={"csrf_token": token, "document": reference, "alignment": "guess"},
    )
    assert bad.status_code == 422 and "alignment" in bad.text
    garbled = client.post(
        f"/mailroom/pages/{cut.id}/assign",
        data={"csrf_token": token, "document": reference, "alignment": "frame", "turn": "up"},
    )
    assert garbled.status_code == 422 and "turn" in garbled.text
    assert _page(runtime, received.id).status is PageStatus.EXCEPTION
    assert f'id="turn-{cut.id}"' in queue.text
    sent = client.post(
        f"/mailroom/pages/{cut.id}/assign",
        data={
            "csrf_token": token,
            "document": reference,
            "form_page": "1",
            "alignment": "code",
            "turn": "",
        },
    )
    assert sent.status_code == 303
    assert _page(runtime, received.id).status is PageStatus.SUBMITTED
