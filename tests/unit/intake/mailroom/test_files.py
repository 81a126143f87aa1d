"""Scanned files: format by content, page counts, one page decoded, bad input refused clearly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pypdf
import pytest
from PIL import Image

from forms_service.core import bounded
from forms_service.intake.mailroom.files import (
    MAX_PAGES,
    MEDIA_TYPES,
    PageProblem,
    UnsupportedFile,
    count_pages,
    is_blank,
    load_page,
    media_type_of,
)
from tests.pdf_forms import hand_written_pdf


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


def _pdf_naming_one_page(times: int) -> bytes:
    kids = b" ".join([b"3 0 R"] * times)
    return hand_written_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, times),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    )


def _tiff_of_tiny_frames(frames: int) -> bytes:
    """A TIFF of `frames` 1x1 frames sharing one pixel: about 110 bytes a frame."""
    tags: tuple[tuple[int, int, int], ...] = (
        *((256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1)),
        *((273, 4, 8), (277, 3, 1), (278, 3, 1), (279, 4, 1)),
    )
    out = bytearray(b"II*\x00" + struct.pack("<I", 9) + b"\x80")
    for frame in range(frames):
        start = len(out)
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            out += struct.pack("<HHII", tag, kind, 1, value)
        following = start + 2 + 12 * len(tags) + 4 if frame < frames - 1 else 0
        out += struct.pack("<I", following)
    return bytes(out)


def test_a_small_pdf_naming_one_page_200000_times_is_counted_only_past_the_limit() -> None:
    # Regression: 1.2 MB declared 200,000 pages, and became 200,000 page rows and jobs.
    content = _pdf_naming_one_page(200_000)
    assert len(content) < 1_300_000
    assert count_pages(content, MEDIA_TYPES["pdf"]) == MAX_PAGES + 1
    assert count_pages(content, MEDIA_TYPES["pdf"], limit=10) == 11
    assert count_pages(_pdf_naming_one_page(3), MEDIA_TYPES["pdf"]) == 3


def test_a_tiff_of_thousands_of_frames_is_walked_only_past_the_limit() -> None:
    # Regression: Pillow's n_frames walked every frame (about 30 s for a 20 MB file).
    assert count_pages(_tiff_of_tiny_frames(5000), MEDIA_TYPES["tiff"]) == MAX_PAGES + 1
    assert count_pages(_tiff_of_tiny_frames(7), MEDIA_TYPES["tiff"]) == 7
    assert count_pages(_tiff_of_tiny_frames(7), MEDIA_TYPES["tiff"], limit=3) == 4


def _pdf_drawing(operations: bytes, repeat: int) -> bytes:
    drawing = zlib.compress(operations * repeat, 9)
    return hand_written_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(drawing), drawing),
    )


def test_a_page_description_built_to_exhaust_the_renderer_is_a_clear_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Regression: 600 KB whose page inflates to 300 MB of lines took 150 s and 6 GB to render
    # in the worker. Here 40 MB of lines against a child allowed 128 MB: the same refusal,
    # sooner; the defaults (1 GB, 30 s) refuse the 300 MB page in about 4 s.
    monkeypatch.setattr(bounded, "CHILD_MEMORY_BYTES", 128 * 1024 * 1024)
    bomb = _pdf_drawing(b"0 0 m 1 1 l S\n", 3_000_000)
    assert len(bomb) < 200_000
    problem = _problem(bomb, MEDIA_TYPES["pdf"])
    assert problem.code == "pdf_too_complex"
    assert "more memory or time" in problem.reason
    # An ordinary page description renders in the same child.
    page = load_page(_pdf_drawing(b"0 0 m 595 842 l 20 w S\n", 1), MEDIA_TYPES["pdf"], 0, dpi=72)
    assert page.shape == (842, 595) and page.min() == 0
