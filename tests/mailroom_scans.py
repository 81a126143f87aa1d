"""Scanned return pages of real issued documents, drawn from the service's own layout.

The page is what a scanner sees of the printed form (tests/ocr_pages.py draws it from the
geometry the renderer uses), with the real signed page code; files are built the ways
mailrooms send them: multi-page PDF, multi-page TIFF, PNG and JPEG.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

from forms_service.connectors.interfaces import Selection
from forms_service.issuing.pagecode import PageCodes
from forms_service.runtime import Runtime
from tests.ocr_pages import TYPED_FONT, Answers, GrayImage, render_page

DPI = 200


def issue(runtime: Runtime, form_id: str, key: str) -> str:
    """Issue `form_id` to record `key`; the document id."""
    (issued,) = runtime.issuing.issue(form_id, Selection(keys=(key,)), "paper-test")
    return issued.document_id


def scanned_page(
    runtime: Runtime,
    document_id: str,
    form_id: str,
    answers: Answers | None = None,
    *,
    page: int = 1,
    payload: str | None = None,
    seed: int = 0,
    layout: int | None = None,
) -> GrayImage:
    """One form page of a document, filled with `answers`, as scanned at 200 dpi.

    The page is drawn in layout version `layout` (the runtime's current one by default),
    and its code names that version.
    """
    definition = runtime.definitions[form_id]
    layout = runtime.issuing.layouts.current if layout is None else layout
    geometry = runtime.issuing.layouts.geometry(definition, layout).page(page)
    code = payload or PageCodes(runtime.signer.keys).encode(
        document_id, page, definition.version, layout=layout
    )
    return render_page(geometry, code, DPI, answers, seed=seed)


def _images(pages: Sequence[GrayImage]) -> list[Image.Image]:
    return [Image.fromarray(np.asarray(p, dtype=np.uint8)) for p in pages]


def as_pdf(pages: Sequence[GrayImage]) -> bytes:
    """A multi-page PDF of page images (as scanners make them)."""
    images = _images(pages)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()


def as_tiff(pages: Sequence[GrayImage]) -> bytes:
    """A multi-page TIFF (Group 4 needs bilevel pages; LZW keeps the gray levels)."""
    images = _images(pages)
    out = io.BytesIO()
    images[0].save(
        out, "TIFF", compression="tiff_lzw", save_all=True, append_images=images[1:], dpi=(DPI, DPI)
    )
    return out.getvalue()


def as_png(page: GrayImage) -> bytes:
    """One page as PNG."""
    out = io.BytesIO()
    _images([page])[0].save(out, "PNG")
    return out.getvalue()


def as_jpeg(page: GrayImage, quality: int = 85) -> bytes:
    """One page as JPEG."""
    out = io.BytesIO()
    _images([page])[0].save(out, "JPEG", quality=quality)
    return out.getvalue()


def photo_of_a_screen(page: GrayImage, quality: int = 70) -> bytes:
    """The page shown on a monitor and photographed: tilted, moiré, dark bezel, colour cast."""
    import cv2

    height, width = page.shape
    small = cv2.resize(page, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    lit = small.astype(np.float32)
    rows, columns = np.mgrid[0 : lit.shape[0], 0 : lit.shape[1]]
    moire = 18 * np.sin(columns * 0.9 + rows * 0.35) * np.sin(rows * 0.8)
    lit = np.clip(lit * 0.6 + 60 + moire, 0, 255)
    full_h, full_w = int(lit.shape[0] * 1.35), int(lit.shape[1] * 1.5)
    source = np.array(
        [[0, 0], [lit.shape[1], 0], [lit.shape[1], lit.shape[0]], [0, lit.shape[0]]],
        dtype=np.float32,
    )
    target = np.array(
        [
            [full_w * 0.18, full_h * 0.12],
            [full_w * 0.86, full_h * 0.05],
            [full_w * 0.80, full_h * 0.93],
            [full_w * 0.12, full_h * 0.86],
        ],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(lit, matrix, (full_w, full_h), borderValue=25)
    mask = cv2.warpPerspective(np.ones_like(lit), matrix, (full_w, full_h))
    shot = cv2.GaussianBlur(25 * (1 - mask) + warped * mask, (0, 0), 1.2)
    rgb = np.dstack([shot * 0.85, shot * 0.95, np.clip(shot * 1.1, 0, 255)]).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


HANDWRITING_FONT = "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf"


def printed_and_filled(
    runtime: Runtime,
    document_id: str,
    texts: dict[str, str],
    *,
    rotation: float = 1.2,
    font: str = TYPED_FONT,
    ticks: frozenset[tuple[str, str]] = frozenset(),
    answers: frozenset[tuple[str, str, str]] = frozenset(),
    blots: frozenset[str] = frozenset(),
) -> list[GrayImage]:
    """The document's real PDF (letter and form pages) printed, filled in by hand, scanned.

    The service's own renderer makes the PDF; pypdfium2 prints it at 200 dpi; each text is
    written in its answer box, each (field, option) of `ticks` crossed (every square of that
    option), each (field, option, "yes" or "no") of `answers` crossed in that one box of
    the option's row (a layout without such rows has one square per option: its "yes"), and
    the box of each field of `blots` inked with a blot no reader makes a character of (a
    scrawl, a smudged correction); the sheet goes through the scanner a little tilted.
    """
    import pypdfium2 as pdfium
    from PIL import ImageDraw, ImageFont

    pdf = pdfium.PdfDocument(runtime.printer.pdf_for(document_id))
    with runtime.sessions() as session:
        from forms_service.storage.model import Document

        document = session.get(Document, document_id)
        assert document is not None
        definition = runtime.definitions[document.form_id]
    geometry = runtime.issuing.layouts.geometry(definition)  # what the printer printed with
    scale = DPI / 72
    sheets = []
    for index in range(len(pdf)):
        bitmap = pdf[index].render(scale=scale, grayscale=True)
        sheet = bitmap.to_pil().convert("L")
        if index >= 1:
            draw = ImageDraw.Draw(sheet)
            for zone in geometry.page(index).zones:
                answer = str(getattr(zone, "answer", None) or "yes")
                if (zone.field, zone.choice) in ticks or (
                    zone.choice is not None and (zone.field, zone.choice, answer) in answers
                ):
                    rect = zone.rect
                    x0 = (rect.x + rect.width * 0.15) * scale
                    x1 = (rect.x + rect.width * 0.85) * scale
                    y0 = (geometry.page(index).height - rect.y - rect.height * 0.85) * scale
                    y1 = (geometry.page(index).height - rect.y - rect.height * 0.15) * scale
                    draw.line([(x0, y0), (x1, y1)], fill=15, width=4)
                    draw.line([(x0, y1), (x1, y0)], fill=15, width=4)
                    continue
                if zone.field in blots and zone.choice is None:
                    rect = zone.rect
                    height = rect.height * scale
                    left = rect.x * scale + height * 0.5
                    top = (geometry.page(index).height - rect.y - rect.height) * scale
                    draw.ellipse(
                        (left, top + height * 0.25, left + height * 0.5, top + height * 0.75),
                        fill=20,
                    )
                    continue
                text = texts.get(zone.field)
                if not text:
                    continue
                rect = zone.rect
                left = rect.x * scale
                top = (geometry.page(index).height - rect.y - rect.height) * scale
                size = round(rect.height * scale * 0.6)
                face = ImageFont.truetype(font, size)
                if zone.cells:
                    cell = rect.width * scale / zone.cells
                    for position, char in enumerate(text[: zone.cells]):
                        draw.text(
                            (left + position * cell + cell * 0.25, top + size * 0.3),
                            char,
                            font=face,
                            fill=20,
                        )
                else:
                    draw.text((left + size * 0.4, top + size * 0.3), text, font=face, fill=20)
        tilted = sheet.rotate(rotation, resample=Image.Resampling.BICUBIC, fillcolor=255)
        sheets.append(np.asarray(tilted, dtype=np.uint8).copy())
    pdf.close()
    return sheets


def png_claiming(width: int = 10_000, height: int = 10_000) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (100 megapixels by default), with
    next to no pixel data: a decompression bomb that must be refused before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
