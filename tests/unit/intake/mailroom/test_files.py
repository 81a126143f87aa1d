"""Scanned files: format by content, page counts, one page decoded, bad input refused clearly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pypdf
import pytest
from PIL import Image

from forms_service.intake.mailroom.files import (
    MEDIA_TYPES,
    PageProblem,
    UnsupportedFile,
    count_pages,
    is_blank,
    load_page,
    media_type_of,
)


def _page(mark: int = 0) -> Image.Image:
    image = Image.new("L", (400, 560), 255)
    image.paste(0, (20 + 40 * mark, 20, 120 + 40 * mark, 120))
    return image


def _tiff(pages: int) -> bytes:
    frames = [_page(n) for n in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _pdf(pages: int) -> bytes:
    frames = [_page(n) for n in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "PDF", resolution=72, save_all=True, append_images=frames[1:])
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff"))
        + chunk(b"IEND", b"")
    )


def test_formats_are_recognised_by_content_not_name() -> None:
    assert media_type_of(_pdf(1), "scan.png") == MEDIA_TYPES["pdf"]
    assert media_type_of(_tiff(1)) == MEDIA_TYPES["tiff"]
    assert media_type_of(_png(_page())) == MEDIA_TYPES["png"]
    jpeg = io.BytesIO()
    _page().save(jpeg, "JPEG")
    assert media_type_of(jpeg.getvalue()) == MEDIA_TYPES["jpeg"]
    with pytest.raises(UnsupportedFile) as refused:
        media_type_of(b"GIF89a....", "photo.gif")
    assert refused.value.field == "photo.gif"
    assert refused.value.status == 422


def test_multi_page_files_are_counted_and_each_page_decoded() -> None:
    assert count_pages(_tiff(3), MEDIA_TYPES["tiff"]) == 3
    assert count_pages(_pdf(2), MEDIA_TYPES["pdf"]) == 2
    third = load_page(_tiff(3), MEDIA_TYPES["tiff"], 2)
    assert third.shape == (560, 400) and third[50, 150] == 0 and third[50, 50] == 255
    second = load_page(_pdf(2), MEDIA_TYPES["pdf"], 1, dpi=72)
    assert second.shape == (560, 400) and second[50, 100] < 64


def test_a_file_that_cannot_be_opened_still_counts_as_one_page() -> None:
    assert count_pages(b"%PDF-1.7 garbage", MEDIA_TYPES["pdf"]) == 1
    assert count_pages(b"II*\x00\x08\x00\x00\x00garbage", MEDIA_TYPES["tiff"]) == 1


def _problem(content: bytes, media_type: str, index: int = 0) -> PageProblem:
    with pytest.raises(PageProblem) as raised:
        load_page(content, media_type, index)
    return raised.value


def test_bad_pages_raise_a_clear_problem() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("secret-password")
    protected = io.BytesIO()
    writer.write(protected)
    assert _problem(protected.getvalue(), MEDIA_TYPES["pdf"]).code == "protected_pdf"
    assert _problem(b"%PDF-1.7 garbage", MEDIA_TYPES["pdf"]).code == "corrupt_pdf"
    corrupt = b"II*\x00\x08\x00\x00\x00" + b"\x00\x01\xff\xee" * 64
    assert _problem(corrupt, MEDIA_TYPES["tiff"]).code == "corrupt_image"
    bomb = _problem(_png_claiming(10_000, 10_000), MEDIA_TYPES["png"])
    assert bomb.code == "image_too_large" and "100 million pixels" in bomb.reason
    large = _problem(_png_claiming(9_000, 8_000), MEDIA_TYPES["png"])
    assert large.code == "image_too_large" and "72 million pixels" in large.reason
    blank = _problem(_png(Image.new("L", (400, 560), 255)), MEDIA_TYPES["png"])
    assert blank.code == "blank_page"
    assert _problem(_tiff(2), MEDIA_TYPES["tiff"], 5).code == "missing_page"


def test_speckle_is_not_ink_but_a_printed_mark_is() -> None:
    sheet = np.full((1000, 700), 255, dtype=np.uint8)
    sheet[500, 350] = 0
    assert is_blank(sheet)
    sheet[100:140, 100:140] = 0
    assert not is_blank(sheet)
