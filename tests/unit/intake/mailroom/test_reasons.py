"""A page's reason is stored as its English text and as a msgid with figures, for any language."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pypdf
import pytest
from PIL import Image

from forms_service.intake.mailroom import files
from forms_service.intake.mailroom.files import MEDIA_TYPES, PageProblem, load_page
from forms_service.intake.mailroom.reasons import Reason, record, record_rejection
from forms_service.storage.scans import ScanPage
from tests.mailroom_scans import png_claiming


def _problem(content: bytes, media_type: str, index: int = 0) -> PageProblem:
    with pytest.raises(PageProblem) as raised:
        load_page(content, media_type, index)
    return raised.value


def _pdf(width: float = 595, height: float = 842, pages: int = 1) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png() -> bytes:
    image = Image.new("L", (400, 560), 255)
    image.paste(0, (20, 20, 120, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_reason_is_its_msgid_and_figures_and_reads_in_english() -> None:
    reason = Reason("the PDF has no page %(page)s", {"page": 3})
    assert reason.text == "the PDF has no page 3"
    assert reason.detail() == {"message": "the PDF has no page %(page)s", "params": {"page": 3}}
    # Without figures the text is the msgid as it is, a "%" and all.
    assert Reason("100% blank").text == "100% blank"


@pytest.mark.parametrize(
    ("content", "media_type", "index", "message", "params", "text"),
    [
        (
            _pdf(),
            MEDIA_TYPES["pdf"],
            2,
            "the PDF has no page %(page)s",
            {"page": 3},
            "the PDF has no page 3",
        ),
        (
            _png(),
            MEDIA_TYPES["png"],
            1,
            "the file has no page %(page)s",
            {"page": 2},
            "the file has no page 2",
        ),
        (
            _pdf(14_000, 14_000),
            MEDIA_TYPES["pdf"],
            0,
            "the page measures %(width)sx%(height)s pt: unusable",
            {"width": "14000", "height": "14000"},
            "the page measures 14000x14000 pt: unusable",
        ),
        (
            png_claiming(9_000, 8_000),
            MEDIA_TYPES["png"],
            0,
            "the image is too large (%(millions)s million pixels): scan at 300 dpi or less "
            "(at most %(most)s million pixels)",
            {"millions": "72", "most": 60},
            "the image is too large (72 million pixels): scan at 300 dpi or less (at most 60 "
            "million pixels)",
        ),
        (
            png_claiming(10_000, 10_000),
            MEDIA_TYPES["png"],
            0,
            "the image is too large (%(millions)s million pixels): scan at 300 dpi or less "
            "(at most %(most)s million pixels)",
            {"millions": "100", "most": 60},
            "the image is too large (100 million pixels): scan at 300 dpi or less (at most 60 "
            "million pixels)",
        ),
    ],
    ids=["pdf-page", "image-page", "page-size", "image-72M", "image-100M"],
)
def test_a_page_problem_with_figures_carries_its_msgid_and_the_english_text(
    content: bytes,
    media_type: str,
    index: int,
    message: str,
    params: dict[str, object],
    text: str,
) -> None:
    problem = _problem(content, media_type, index)
    assert (problem.message, problem.params) == (message, params)
    assert problem.reason == str(problem) == problem.why.text == text
    # Raised in run_bounded's child and pickled to the parent: the figures come along.
    again = pickle.loads(pickle.dumps(problem))  # noqa: S301 - our own object
    assert (again.code, again.message, again.params, again.reason) == (
        problem.code,
        message,
        params,
        text,
    )


def test_a_frame_too_large_names_its_size() -> None:
    # A later frame of a TIFF is measured once opened (the first one by Pillow's own guard).
    problem = files._too_large(9_000, 8_000)
    assert problem.params == {"width": 9000, "height": 8000, "most": 60}
    assert problem.reason == (
        "the image is too large (9000x8000 pixels): scan at 300 dpi or less (at most 60 "
        "million pixels)"
    )
    assert files._too_large().reason == (
        "the image is too large: scan at 300 dpi or less (at most 60 million pixels)"
    )


def _stored(page: ScanPage) -> tuple[str | None, dict[str, Any] | None]:
    return (page.reason, page.reason_detail)


def test_recording_keeps_the_english_text_and_the_detail_and_a_rejection_the_words() -> None:
    page = ScanPage()
    record(page, Reason("page %(page)s of %(total)s arrived alone", {"page": 1, "total": 2}))
    assert page.reason == "page 1 of 2 arrived alone"
    assert page.reason_detail == {
        "message": "page %(page)s of %(total)s arrived alone",
        "params": {"page": 1, "total": 2},
    }
    record_rejection(page, "envoyée deux fois")
    assert page.reason == "page 1 of 2 arrived alone — rejected: envoyée deux fois"
    assert page.reason_detail["rejected"] == "envoyée deux fois"
    record(page, None)
    assert _stored(page) == (None, None)


def test_a_page_recorded_before_details_keeps_none_when_rejected() -> None:
    page = ScanPage(reason="the PDF has no page 3", reason_detail=None)
    record_rejection(page, "blank")
    assert page.reason == "the PDF has no page 3 — rejected: blank"
    assert page.reason_detail is None
