"""Scanned files: recognise the format, count pages, decode one page safely."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from forms_service.core.bounded import OverLimits, run_bounded
from forms_service.core.errors import InvalidInput
from forms_service.core.i18n import N_
from forms_service.intake.mailroom.reasons import Reason

#: Largest page decoded, in pixels: an A4 page at 600 dpi is 35 million; a 100-megapixel
#: image is refused before its pixels are decoded.
MAX_PIXELS = 60_000_000
#: Most pages one file may hold: more is refused at upload, before anything is stored. A
#: 1 MB PDF can declare 200,000 pages (one page object named again and again) and a 1 MB TIFF
#: 8,000 frames; each would become a page row and a job.
MAX_PAGES = 1000
#: Resolution PDF pages are rendered at for reading.
RENDER_DPI = 200
#: Share of dark pixels under which a page counts as blank.
BLANK_INK = 0.0005

GrayImage = npt.NDArray[np.uint8]

# Pillow's own guard at the same limit: it warns above it and refuses twice as many pixels.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "tiff": "image/tiff",
    "png": "image/png",
    "jpeg": "image/jpeg",
}


class UnsupportedFile(InvalidInput):
    """A file that is none of the accepted formats (PDF, TIFF, PNG, JPEG)."""

    code = "unsupported_file"


class PageProblem(Exception):
    """A page that cannot be decoded; `code` is stable, `reason` is shown to the operator.

    Attributes:
        code: the page's exception code.
        message: the reason as a msgid (`%(name)s` for a figure), `params` its figures.
        reason: the reason in English, its figures in place.
    """

    def __init__(
        self, code: str, reason: str, params: Mapping[str, str | int] | None = None
    ) -> None:
        self.code = code
        self.message = reason
        self.params = dict(params or {})
        self.reason = Reason(reason, self.params).text
        super().__init__(self.reason)

    @property
    def why(self) -> Reason:
        """The reason, to be recorded with the page."""
        return Reason(self.message, self.params)

    def __reduce__(
        self,
    ) -> tuple[type[PageProblem], tuple[str, str, dict[str, str | int]]]:
        # Raised in the child of run_bounded, pickled to the parent: keep every argument.
        return (PageProblem, (self.code, self.message, self.params))


def media_type_of(content: bytes, filename: str = "") -> str:
    """The media type of a scanned file, by its leading bytes (the name is not trusted).

    Raises:
        UnsupportedFile: not a PDF, TIFF, PNG or JPEG.
    """
    head = content[:8]
    if head.startswith(b"%PDF-"):
        return MEDIA_TYPES["pdf"]
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return MEDIA_TYPES["tiff"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MEDIA_TYPES["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return MEDIA_TYPES["jpeg"]
    raise UnsupportedFile("accepted files are PDF, TIFF, PNG and JPEG", field=filename or "file")


#: A scanned file: its bytes, or the file on disk (a large batch is never read whole).
Source = bytes | Path


def count_pages(content: Source, media_type: str, *, limit: int = MAX_PAGES) -> int:
    """How many pages a file holds, counted up to `limit` + 1; 1 for a file that cannot be opened.

    A file that cannot be opened still counts as one page, so that its error is shown and
    kept like any other page's (nothing is dropped). Counting stops past `limit`: a TIFF's
    frames are found one by one, so a file of 100,000 tiny frames is not walked to its end.
    """
    try:
        if media_type == MEDIA_TYPES["pdf"]:
            return min(run_bounded(lambda: _count_pdf_pages(content)), limit + 1)
        with _open_image(content) as image, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            frames = 1
            while frames <= limit:
                try:
                    image.seek(frames)
                except EOFError:
                    break
                frames += 1
            return frames
    except Exception:  # a damaged file may fail anywhere in its decoder: still one page
        return 1


def _count_pdf_pages(content: Source) -> int:
    # PDFium reads a file on disk as it needs it (a path), not loaded into memory.
    document = pdfium.PdfDocument(str(content) if isinstance(content, Path) else content)
    try:
        return max(len(document), 1)
    finally:
        document.close()


def load_page(content: bytes, media_type: str, index: int, *, dpi: int = RENDER_DPI) -> GrayImage:
    """Decode page `index` (0-based) of a file to a grayscale image (0 black .. 255 white).

    Raises:
        PageProblem: protected or corrupt PDF, corrupt image, too many pixels, blank page.
    """
    if media_type == MEDIA_TYPES["pdf"]:
        gray = _render_pdf_page(content, index, dpi)
    else:
        gray = _decode_frame(content, index)
    if is_blank(gray):
        raise PageProblem("blank_page", N_("the page is blank (nothing printed or written on it)"))
    return gray


def is_blank(gray: GrayImage) -> bool:
    """Whether a page carries (next to) no dark pixel: an empty sheet or a scanner's backing."""
    step = max(1, min(gray.shape) // 600)
    sample = gray[::step, ::step]
    return bool(np.count_nonzero(sample < 128) < BLANK_INK * sample.size)


def _render_pdf_page(content: bytes, index: int, dpi: int) -> GrayImage:
    # In a child with its own memory and time: a page description may be built to exhaust
    # PDFium (see core/bounded.py), and PDFium cannot be stopped from the outside otherwise.
    try:
        return run_bounded(lambda: _render_pdf_page_here(content, index, dpi))
    except OverLimits as exc:
        raise PageProblem(
            "pdf_too_complex",
            N_("the PDF page needs more memory or time to render than a scanned page ever does"),
        ) from exc


def _render_pdf_page_here(content: bytes, index: int, dpi: int) -> GrayImage:
    try:
        document = pdfium.PdfDocument(content)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PageProblem(
                "protected_pdf", N_("the PDF is password-protected: scan or export it without one")
            ) from exc
        raise PageProblem("corrupt_pdf", N_("the PDF is damaged and cannot be opened")) from exc
    try:
        if index >= len(document):
            raise PageProblem(
                "missing_page", N_("the PDF has no page %(page)s"), {"page": index + 1}
            )
        page = document[index]
        width, height = page.get_size()
        scale = dpi / 72
        if not (width > 0 and height > 0) or width * height * scale * scale > MAX_PIXELS:
            raise PageProblem(
                "page_too_large",
                N_("the page measures %(width)sx%(height)s pt: unusable"),
                {"width": f"{width:.0f}", "height": f"{height:.0f}"},
            )
        bitmap = page.render(scale=scale, grayscale=True)
        array = bitmap.to_numpy()
        gray = array.reshape(bitmap.height, bitmap.width, -1)[:, :, 0]
        return np.ascontiguousarray(gray, dtype=np.uint8)
    except PageProblem:
        raise
    except Exception as exc:  # a damaged page may fail anywhere in the renderer
        raise PageProblem("corrupt_pdf", N_("the PDF page cannot be rendered")) from exc
    finally:
        document.close()


def _open_image(content: Source) -> Image.Image:
    """Open an image reading only its header, refusing too many pixels before decoding."""
    with warnings.catch_warnings():
        # A damaged EXIF block only warns: the pixels may still be fine, and are checked next.
        warnings.simplefilter("ignore", UserWarning)
        # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises above: both refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(content if isinstance(content, Path) else io.BytesIO(content))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            raise _too_large(pixels=int(found.group(1)) if found else 0) from exc
        except Exception as exc:  # UnidentifiedImageError, OSError, struct.error…
            raise PageProblem(
                "corrupt_image", N_("the image file is damaged or unreadable")
            ) from exc
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise _too_large(image.width, image.height)
    return image


def _too_large(width: int = 0, height: int = 0, *, pixels: int = 0) -> PageProblem:
    most = MAX_PIXELS // 1_000_000
    if width:
        return PageProblem(
            "image_too_large",
            N_(
                "the image is too large (%(width)sx%(height)s pixels): scan at 300 dpi or "
                "less (at most %(most)s million pixels)"
            ),
            {"width": width, "height": height, "most": most},
        )
    if pixels:
        return PageProblem(
            "image_too_large",
            N_(
                "the image is too large (%(millions)s million pixels): scan at 300 dpi or "
                "less (at most %(most)s million pixels)"
            ),
            {"millions": f"{pixels / 1_000_000:.0f}", "most": most},
        )
    return PageProblem(
        "image_too_large",
        N_("the image is too large: scan at 300 dpi or less (at most %(most)s million pixels)"),
        {"most": most},
    )


def _decode_frame(content: bytes, index: int) -> GrayImage:
    image = _open_image(content)
    with image, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.seek(index)
        except EOFError as exc:
            raise PageProblem(
                "missing_page", N_("the file has no page %(page)s"), {"page": index + 1}
            ) from exc
        except Exception as exc:  # a damaged file may fail anywhere in the decoder
            raise PageProblem(
                "corrupt_image", N_("the image file is damaged or unreadable")
            ) from exc
        if image.width * image.height > MAX_PIXELS:
            raise _too_large(image.width, image.height)
        try:
            upright = ImageOps.exif_transpose(image)
            return np.asarray(upright.convert("L"), dtype=np.uint8).copy()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large() from exc
        except Exception as exc:  # a damaged file may fail anywhere in the decoder
            raise PageProblem(
                "corrupt_image",
                N_("page %(page)s of the image cannot be decoded"),
                {"page": index + 1},
            ) from exc
