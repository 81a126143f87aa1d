"""Layout versions end to end: pages printed before a layout change are still read right.

Letters are printed by a release whose current layout is version 1 (the one before layout 2,
issue 17); then a test-only version 9 (tests/layout_versions.py, every box 6 mm to the right)
is deployed. The real renderer prints, pypdfium2 rasterises, Tesseract reads: an `F1` page is
read with version 1's boxes, an `F9` page with version 9's, and a page naming a layout this
service lacks waits for an operator. (The names still say "layout 2" for the deployed one.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from forms_service.intake.mailroom.service import Upload
from forms_service.issuing import layout_v1
from forms_service.issuing.layout import LayoutVersions
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.printing import DocumentPrinter
from forms_service.runtime import Runtime
from forms_service.runtime.mailroom import build_mailroom
from forms_service.storage.model import Document, Submission
from forms_service.storage.scans import PageStatus, ScanPage
from tests.layout_versions import SHIFT, TEST_LAYOUT, with_test_layout
from tests.mailroom_scans import as_pdf, as_png, issue, printed_and_filled, scanned_page
from tests.ocr_pages import Answers

FORM = "contact-update"
TEXTS = {"city": "GRENOBLE", "postcode": "38000"}


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """Jobs run in the caller: each page is read before `receive` returns."""
    return {**app_settings, "JOBS_EAGER": True}


def _deploy(runtime: Runtime, layouts: LayoutVersions) -> None:
    """What a new release does: issuing, printing and the mailroom use the new registry."""
    runtime.issuing.layouts = layouts
    runtime.printer = DocumentPrinter(runtime.issuing)
    runtime.mailroom = build_mailroom(runtime)


def _layout_1_release(runtime: Runtime) -> None:
    """The release that printed with layout 1, before layout 2 became the current one."""
    _deploy(runtime, LayoutVersions({1: layout_v1.layout}, current=1))


def _page_rows(runtime: Runtime, batch_id: str) -> list[ScanPage]:
    from sqlalchemy import select

    with runtime.sessions() as session:
        rows = list(
            session.execute(
                select(ScanPage).where(ScanPage.batch_id == batch_id).order_by(ScanPage.sequence)
            ).scalars()
        )
        session.expunge_all()
        return rows


def _answer(runtime: Runtime, document_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    with runtime.sessions() as session:
        submission = session.execute(
            select(Submission).where(Submission.document_id == document_id)
        ).scalar_one()
        return dict(submission.values)


def _codes_of(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium
    import zxingcpp

    document = pdfium.PdfDocument(pdf)
    try:
        found = []
        for index in range(1, len(document)):  # the form pages (page 0 is the letter)
            gray = np.asarray(document[index].render(scale=2).to_pil().convert("L"))
            (code,) = zxingcpp.read_barcodes(
                gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            )
            found.append(code.text)
        return found
    finally:
        document.close()


def test_a_letter_printed_with_layout_1_is_read_right_after_layout_2_is_deployed(
    runtime: Runtime,
) -> None:
    _layout_1_release(runtime)
    document = issue(runtime, FORM, "C000021")
    assert all(code.startswith("F1.") for code in _codes_of(runtime.printer.pdf_for(document)))
    sheets = printed_and_filled(runtime, document, TEXTS)  # printed and posted in layout 1
    _deploy(runtime, with_test_layout())
    received = runtime.mailroom.receive(
        [Upload("envelope.pdf", as_pdf(sheets))], source="cli", actor="test"
    )
    letter, form_page = _page_rows(runtime, received.id)
    assert letter.exception == "covering_letter"
    assert form_page.status is PageStatus.SUBMITTED
    assert form_page.layout_version == 1
    assert _answer(runtime, document) == TEXTS


def test_a_letter_printed_with_layout_2_carries_f2_codes_and_is_read_with_its_boxes(
    runtime: Runtime,
) -> None:
    _deploy(runtime, with_test_layout())
    document = issue(runtime, FORM, "C000022")
    pdf = runtime.printer.pdf_for(document)
    assert all(code.startswith(f"F{TEST_LAYOUT}.") for code in _codes_of(pdf))
    definition = runtime.definitions[FORM]
    v1, v2 = (runtime.issuing.layouts.geometry(definition, n).page(1) for n in (1, TEST_LAYOUT))
    assert v2.zones[0].rect.x == pytest.approx(v1.zones[0].rect.x + SHIFT, abs=0.01)
    with runtime.sessions() as session:
        stored = session.get(Document, document)
        assert stored is not None and stored.layout_version == TEST_LAYOUT
    received = runtime.mailroom.receive(
        [Upload("envelope.pdf", as_pdf(printed_and_filled(runtime, document, TEXTS)))],
        source="cli",
        actor="test",
    )
    _letter, form_page = _page_rows(runtime, received.id)
    assert (form_page.status, form_page.layout_version) == (PageStatus.SUBMITTED, TEST_LAYOUT)
    assert _answer(runtime, document) == TEXTS


def test_reading_a_layout_1_page_with_layout_2_boxes_misreads_it(runtime: Runtime) -> None:
    """The control: what happened before layout versions, and why the code must name one.

    Since the aligner checks its fit on the printed box grid (issue 17), boxes that are not
    where the geometry puts them refuse the page (`unaligned_page`) rather than misread it;
    either way the answer read is never the customer's.
    """
    _layout_1_release(runtime)
    document = issue(runtime, FORM, "C000023")
    sheets = printed_and_filled(runtime, document, TEXTS)
    layouts = with_test_layout()
    _deploy(runtime, layouts)
    runtime.mailroom.geometry = lambda definition, _layout: layouts.geometry(definition)
    received = runtime.mailroom.receive(
        [Upload("envelope.pdf", as_pdf(sheets))], source="cli", actor="test"
    )
    form_page = _page_rows(runtime, received.id)[1]
    assert (form_page.status, form_page.exception) == (PageStatus.EXCEPTION, "unaligned_page")
    assert form_page.reason is not None and "printed boxes disagree" in form_page.reason


def test_a_page_naming_an_unknown_layout_version_waits_for_an_operator(runtime: Runtime) -> None:
    document = issue(runtime, FORM, "C000024")
    definition = runtime.definitions[FORM]
    newer = PageCodes(runtime.signer.keys).encode(document, 1, definition.version, layout=7)
    page = scanned_page(runtime, document, FORM, Answers(texts={"city": "PAU"}), payload=newer)
    received = runtime.mailroom.receive([Upload("p.png", as_png(page))], source="cli", actor="t")
    (row,) = _page_rows(runtime, received.id)
    assert (row.status, row.exception) == (PageStatus.EXCEPTION, "unknown_layout")
    assert row.reason is not None and "layout version 7" in row.reason
    assert row.document_id == document
    assert row.readings == {} or not row.readings.get("zones")


def test_an_assigned_page_without_a_code_is_read_with_its_documents_layout(
    runtime: Runtime,
) -> None:
    _layout_1_release(runtime)
    document = issue(runtime, FORM, "C000025")  # issued, printed and posted in layout 1
    page = scanned_page(runtime, document, FORM, Answers(texts={"city": "VANNES"}), layout=1)
    qr = runtime.issuing.layouts.geometry(runtime.definitions[FORM], 1).page(1).qr
    scale = 200 / 72
    left, top = round(qr.x * scale), round((841.89 - qr.y - qr.height) * scale)
    size = round(qr.width * scale)
    page[top : top + size * 2 // 3, left : left + size] = 255  # a tear through the code
    _deploy(runtime, with_test_layout())
    received = runtime.mailroom.receive([Upload("t.png", as_png(page))], source="cli", actor="t")
    (torn,) = _page_rows(runtime, received.id)
    assert torn.exception == "unreadable_code"
    with runtime.sessions() as session:
        stored = session.get(Document, document)
        assert stored is not None
        reference = stored.reference
    runtime.mailroom.assign(torn.id, reference, actor="operator")
    (read,) = _page_rows(runtime, received.id)
    assert (read.status, read.layout_version) == (PageStatus.SUBMITTED, 1)
    assert _answer(runtime, document) == {"city": "VANNES"}
