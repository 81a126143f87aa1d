"""Issue 16 (7): a batch is named by its operator, else by its scanner, else by its file."""

from __future__ import annotations

import io

from PIL import Image
from reportlab.pdfgen import canvas

from forms_service.intake.mailroom.files import MEDIA_TYPES
from forms_service.intake.mailroom.naming import (
    FILE_NAME,
    MAX_NAME,
    OPERATOR,
    SCANNER_TITLE,
    batch_name,
    file_stem,
    tidy,
)


def _pdf(title: str | None) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    if title is not None:
        page.setTitle(title)
    page.drawString(100, 100, "scan")
    page.save()
    return out.getvalue()


def _tiff(document_name: str | None) -> bytes:
    out = io.BytesIO()
    tags = {269: document_name} if document_name else {}
    Image.new("L", (50, 70), 255).save(out, "TIFF", tiffinfo=tags)
    return out.getvalue()


def test_the_scanners_pdf_title_names_the_batch() -> None:
    content = _pdf("Lot 42 – courrier du matin")
    assert batch_name(None, "scan0001.pdf", content, MEDIA_TYPES["pdf"]) == (
        "Lot 42 – courrier du matin",
        SCANNER_TITLE,
    )


def test_the_operators_name_wins_over_the_scanners() -> None:
    content = _pdf("Lot 42")
    assert batch_name("  Retours\tdécembre ", "x.pdf", content, MEDIA_TYPES["pdf"]) == (
        "Retours décembre",
        OPERATOR,
    )


def test_a_generic_or_missing_title_falls_back_on_the_file_name() -> None:
    for title in (None, "untitled", "  "):
        content = _pdf(title)
        assert batch_name("", "C:\\scans\\2026-12-07_lot-42.pdf", content, MEDIA_TYPES["pdf"]) == (
            "2026-12-07_lot-42",
            FILE_NAME,
        )


def test_a_tiffs_document_name_names_the_batch() -> None:
    # TIFF ASCII tags are 7-bit: Pillow writes an accented letter as "?".
    assert batch_name(None, "b.tif", _tiff("Tournee 7"), MEDIA_TYPES["tiff"]) == (
        "Tournee 7",
        SCANNER_TITLE,
    )
    assert batch_name(None, "b.tif", _tiff(None), MEDIA_TYPES["tiff"]) == ("b", FILE_NAME)


def test_a_damaged_file_is_named_after_its_file() -> None:
    assert batch_name(None, "morning.pdf", b"%PDF-1.4 garbage", MEDIA_TYPES["pdf"]) == (
        "morning",
        FILE_NAME,
    )


def test_names_are_tidied() -> None:
    assert tidy("a\x00b\nc") == "a b c"
    assert len(tidy("x" * 500)) == MAX_NAME
    assert file_stem("../../lot.final.pdf") == "lot.final"
    assert file_stem(".pdf") == ".pdf"
