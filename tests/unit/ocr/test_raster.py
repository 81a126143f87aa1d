"""Uploaded files to page images: PDF, multi-page TIFF, PNG, JPEG, and the files that are refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from ocr.model import UnreadableImage
from ocr.raster import MAX_PIXELS, load_images, load_pages, rasterise_pdf


def _pdf(pages: int) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for number in range(pages):
        canvas.rect(50, 50, 100 + 50 * number, 100, fill=1)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _image_bytes(images: list[Image.Image], fmt: str) -> bytes:
    buffer = io.BytesIO()
    images[0].save(buffer, format=fmt, save_all=len(images) > 1, append_images=images[1:])
    return buffer.getvalue()


def test_pdf_pages_are_rendered_at_the_asked_resolution() -> None:
    pages = list(rasterise_pdf(_pdf(2), dpi=100))
    assert len(pages) == 2
    height, width = pages[0].shape
    assert abs(height - 841.89 * 100 / 72) <= 1
    assert abs(width - 595.28 * 100 / 72) <= 1
    assert pages[0].dtype == np.uint8
    # the black rectangle is there, bottom-left
    assert pages[0][-100, 100] < 50
    assert pages[1][-100, 220] < 50
    assert pages[0][-100, 220] > 200


def test_protected_pdf_is_refused_clearly() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(1))))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UnreadableImage):
        list(load_pages(buffer.getvalue()))


def test_corrupt_pdf_is_refused_clearly() -> None:
    with pytest.raises(UnreadableImage):
        list(load_pages(b"%PDF-1.7\n garbage"))


def test_multi_page_tiff_gives_every_page() -> None:
    frames = [Image.new("RGB", (300, 400), (255, 255, 255)) for _ in range(3)]
    frames[2].paste((0, 0, 0), (0, 0, 10, 10))
    pages = list(load_pages(_image_bytes(frames, "TIFF")))
    assert len(pages) == 3
    assert pages[2][5, 5] == 0 and pages[0][5, 5] == 255


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_single_images_are_grayscale(fmt: str) -> None:
    pages = list(load_images(_image_bytes([Image.new("RGB", (50, 60), (0, 0, 200))], fmt)))
    assert len(pages) == 1
    assert pages[0].shape == (60, 50)
    assert pages[0].ndim == 2


def test_corrupt_tiff_is_refused_clearly() -> None:
    data = _image_bytes([Image.new("L", (300, 300), 255)], "TIFF")
    with pytest.raises(UnreadableImage):
        list(load_images(data[:200] + b"\x00" * 50 + data[250:400]))


def test_not_an_image_is_refused_clearly() -> None:
    with pytest.raises(UnreadableImage):
        list(load_images(b"hello, this is text"))


def test_100_megapixel_image_is_refused_before_decoding() -> None:
    # A PNG header claiming 10,000 x 10,000 pixels: refused before its pixels are decoded.
    data = _image_bytes([Image.new("1", (10_000, 10_000), 1)], "PNG")
    assert MAX_PIXELS < 10_000 * 10_000
    with pytest.raises(UnreadableImage, match="too large"):
        list(load_images(data))
