"""Scanned files: recognise the format, count pages, decode one page safely."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import cv2
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
#: How much darker than the paper around it a pixel must be to be ink (0..255): a scanner's
#: light edge shadow or a grey backing follows the paper level and is not ink.
INK_CONTRAST = 40
#: Band along the scan's edges (mm) left out: a form prints nothing there (its squares are
#: 7 mm in), and a sheet's edge or a scanner's dark border lies there.
EDGE_MM = 4.0
#: Smallest mark (mm) that counts on a page: dust and scanner speckle are smaller.
MARK_MM = 1.5
#: Smallest area (mm²) of a mark that counts: salt noise is a few pixels.
MARK_AREA_MM2 = 0.4
#: A page is blank with fewer marks than this and no group of marks (letters of a word,
#: strokes of a signature: marks less than WORD_GAP_MM apart) WRITING_MM long: a few dust
#: specks are; a few written words, a signature, a stamp or a faint form are not.
BLANK_MARKS = 8
WORD_GAP_MM = 3.0
WRITING_MM = 4.0
#: How much darker than the paper a faint mark is (0..255): print showing through from the
#: back of the sheet. A page blank at INK_CONTRAST with such marks is near-blank.
FAINT_CONTRAST = 18
#: Band along the edges (mm) left out when faint marks are looked for: a scanner lid's
#: shadow fades over several millimetres there, as faint as show-through.
FAINT_EDGE_MM = 12.0

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


def load_page(
    content: bytes,
    media_type: str,
    index: int,
    *,
    dpi: int = RENDER_DPI,
    check_blank: bool = True,
) -> GrayImage:
    """Decode page `index` (0-based) of a file to a grayscale image (0 black .. 255 white).

    With `check_blank` False a blank page is returned like any other (the page job keeps
    its image and thumbnail first, then asks `blank_problem`).

    Raises:
        PageProblem: protected or corrupt PDF, corrupt image, too many pixels, blank page.
    """
    if media_type == MEDIA_TYPES["pdf"]:
        gray = _render_pdf_page(content, index, dpi)
    else:
        gray = _decode_frame(content, index)
    if check_blank:
        problem = blank_problem(gray)
        if problem is not None:
            raise problem
    return gray


def blank_problem(gray: GrayImage) -> PageProblem | None:
    """Why a page is set aside as blank or near-blank, None when something is on it.

    Near-blank is a page that is blank by `is_blank` but shows faint structure: print
    showing through from the other side of the sheet (the back of a form), a separator
    sheet's faint rules. Both need no operator; the reason says which it was.
    """
    ink = _ink(gray)
    if not _blank(ink > INK_CONTRAST, gray.shape):
        return None
    # Faint marks are looked for at half the resolution (show-through is blurred by the
    # paper anyway): a quarter of the pixels to label on every blank page.
    faint = cv2.resize(
        ink.clip(0, 255).astype(np.uint8), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA
    )
    if _blank(faint > FAINT_CONTRAST, faint.shape, FAINT_EDGE_MM):
        return PageProblem("blank_page", N_("the page is blank (nothing printed or written on it)"))
    return PageProblem(
        "near_blank_page",
        N_(
            "the page is almost blank: only faint marks, such as print showing through from "
            "the other side of the sheet or a separator sheet"
        ),
    )


def is_blank(gray: GrayImage) -> bool:
    """Whether a page carries nothing but dust: an empty sheet or a scanner's backing.

    Ink is what is clearly darker than the paper around it (the paper level is measured
    locally, so a light edge shadow is paper). The outer EDGE_MM of the scan (the sheet's
    edge, a dark border) and marks smaller than dust (MARK_MM, MARK_AREA_MM2) are dropped; a
    page with fewer than BLANK_MARKS marks left, none of them WRITING_MM long, is blank. The
    size of a millimetre is taken from the page (an A4 sheet).
    """
    return _blank(_ink(gray) > INK_CONTRAST, gray.shape)


def _ink(gray: GrayImage) -> npt.NDArray[np.int16]:
    """How much darker than the paper around it each pixel is (0 or less: paper)."""
    height, width = gray.shape
    per_mm = max(height, width) / 297
    # The paper level: the page without its ink (a local maximum over 10 mm), smoothed, on
    # a copy of one pixel per 2 mm.
    scale = min(1.0, 1 / (2 * per_mm))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    paper_small = cv2.blur(cv2.dilate(small, np.ones((5, 5), np.uint8)), (5, 5))
    paper = cv2.resize(paper_small, (width, height), interpolation=cv2.INTER_LINEAR)
    return paper.astype(np.int16) - gray.astype(np.int16)


def _blank(mask: npt.NDArray[np.bool_], shape: tuple[int, ...], edge_mm: float = EDGE_MM) -> bool:
    """Whether an ink mask holds nothing but dust (see `is_blank`), `edge_mm` left out."""
    height, width = shape[:2]
    per_mm = max(height, width) / 297
    ink = mask.astype(np.uint8)
    # The sheet's edge and the scanner's border lie in the outer band: nothing is printed there.
    edge = round(edge_mm * per_mm)
    ink[:edge, :] = ink[height - edge :, :] = 0
    ink[:, :edge] = ink[:, width - edge :] = 0
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    # Marks smaller than dust are dropped (whole arrays: salt noise is thousands of specks).
    x, y, w, h, area = (stats[1:, i] for i in range(5))
    kept = (np.maximum(w, h) >= MARK_MM * per_mm) & (area >= MARK_AREA_MM2 * per_mm**2)
    if int(kept.sum()) >= BLANK_MARKS:
        return False
    boxes = [
        [float(left), float(top), float(left + width), float(top + height)]
        for left, top, width, height in zip(x[kept], y[kept], w[kept], h[kept], strict=True)
    ]
    # Marks close together are one word (letters, strokes of a signature); dust is scattered.
    words = _groups(boxes, WORD_GAP_MM * per_mm)
    return all(
        max(right - left, bottom - top) < WRITING_MM * per_mm for left, top, right, bottom in words
    )


def _groups(boxes: list[list[float]], gap: float) -> list[list[float]]:
    """Boxes (left, top, right, bottom) merged while any two are less than `gap` apart."""
    groups = [list(box) for box in boxes]
    merged = True
    while merged:
        merged = False
        for i, a in enumerate(groups):
            for b in groups[i + 1 :]:
                if (
                    b[0] - gap <= a[2] and a[0] - gap <= b[2]
                    and b[1] - gap <= a[3] and a[1] - gap <= b[3]
                ):  # fmt: skip
                    a[:] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    groups.remove(b)
                    merged = True
                    break
            if merged:
                break
    return groups


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
