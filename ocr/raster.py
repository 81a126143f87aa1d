"""Turn uploaded files (PDF, TIFF, PNG, JPEG) into grayscale page images."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr.interfaces import GrayImage
from ocr.model import UnreadableImage

#: Largest page the reader accepts, in pixels: an A4 page at 600 dpi is 35 million.
MAX_PIXELS = 60_000_000


def rasterise_pdf(data: bytes, dpi: int = 300, password: str | None = None) -> Iterator[GrayImage]:
    """Render each page of a PDF to a grayscale image.

    Args:
        data: the PDF file.
        dpi: rendering resolution.
        password: for a protected PDF, when the caller has one.

    Raises:
        UnreadableImage: the PDF is corrupt or protected.
    """
    try:
        document = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        raise UnreadableImage(f"cannot open the PDF: {exc}") from exc
    try:
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            if width * height * (dpi / 72) ** 2 > MAX_PIXELS:
                raise UnreadableImage(f"page {index + 1} is too large to render at {dpi} dpi")
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            yield np.ascontiguousarray(
                bitmap.to_numpy().reshape(bitmap.height, bitmap.width, -1)[:, :, 0]
            )
    finally:
        document.close()


def load_images(data: bytes) -> Iterator[GrayImage]:
    """Decode every frame of an image file (multi-page TIFF, PNG, JPEG) to grayscale.

    Raises:
        UnreadableImage: corrupt file, unknown format, or more pixels than MAX_PIXELS.
    """
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, never just warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise UnreadableImage(f"not an image the reader can open: {exc}") from exc
    frame = 0
    while True:
        try:
            image.seek(frame)
        except EOFError:
            return
        except (OSError, ValueError) as exc:
            raise UnreadableImage(f"frame {frame + 1} cannot be read: {exc}") from exc
        if image.width * image.height > MAX_PIXELS:
            raise UnreadableImage(f"image of {image.width}x{image.height} pixels is too large")
        try:
            upright = ImageOps.exif_transpose(image)
            gray = np.asarray(upright.convert("L"), dtype=np.uint8).copy()
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise UnreadableImage(f"frame {frame + 1} cannot be decoded: {exc}") from exc
        yield gray
        frame += 1


def load_pages(data: bytes, dpi: int = 300) -> Iterator[GrayImage]:
    """Pages of any accepted file, PDF or image, chosen by its leading bytes."""
    if data[:5] == b"%PDF-":
        return rasterise_pdf(data, dpi)
    return load_images(data)
