"""A batch's name: the operator's, else the scanner's, else its first file's name.

Mailroom scanners name what they produce: the batch-name field of the capture station goes
into the PDF's /Title or the TIFF's DocumentName tag, and the file is named after the batch
("2026-12-07_lot-42.pdf"). Operators find a batch by that name on their screens.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath

import pypdfium2 as pdfium
from PIL import Image

from forms_service.core.bounded import run_bounded
from forms_service.intake.mailroom.files import MEDIA_TYPES, Source

#: Where a batch's name comes from.
OPERATOR = "operator"
SCANNER_TITLE = "scanner_title"
FILE_NAME = "file_name"
#: Longest name kept (the column's size).
MAX_NAME = 120
#: Titles that name nothing: what PDF writers put when nobody typed one.
GENERIC_TITLES = frozenset(
    {"untitled", "sans titre", "document", "scan", "scanned document", "image", "unknown"}
)
#: TIFF tags a scanner names the document in: DocumentName, then ImageDescription.
TIFF_NAME_TAGS = (269, 270)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def tidy(text: str | None) -> str:
    """A name as kept: no control characters, spaces collapsed, at most MAX_NAME characters."""
    return " ".join(_CONTROL.sub(" ", text or "").split())[:MAX_NAME].strip()


def file_stem(filename: str) -> str:
    r"""A file's name without its folders and its extension ("lot-42" for "C:\scans\lot-42.pdf")."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    return tidy(Path(name).stem if "." in name.strip(".") else name)


def scanner_title(content: Source, media_type: str) -> str:
    """The name a scanner wrote into the file (PDF /Title, TIFF DocumentName), or ""."""
    try:
        if media_type == MEDIA_TYPES["pdf"]:
            title = run_bounded(lambda: _pdf_title(content))
        elif media_type == MEDIA_TYPES["tiff"]:
            title = _tiff_name(content)
        else:
            return ""
    except Exception:  # a damaged file names nothing; its pages still say what is wrong
        return ""
    title = tidy(title)
    return "" if title.casefold() in GENERIC_TITLES else title


def batch_name(
    given: str | None, filename: str, content: Source, media_type: str
) -> tuple[str, str]:
    """The name of a new batch and where it comes from, from its first file.

    The operator's (`given`) wins; then the scanner's title in the file; then its name.
    """
    if tidy(given):
        return tidy(given), OPERATOR
    title = scanner_title(content, media_type)
    if title:
        return title, SCANNER_TITLE
    return file_stem(filename) or "scan", FILE_NAME


def _pdf_title(content: Source) -> str:
    document = pdfium.PdfDocument(str(content) if isinstance(content, Path) else content)
    try:
        return str(document.get_metadata_dict().get("Title") or "")
    finally:
        document.close()


def _tiff_name(content: Source) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opened = Image.open(content if isinstance(content, Path) else io.BytesIO(content))
        with opened as image:
            tags = getattr(image, "tag_v2", {})
            for tag in TIFF_NAME_TAGS:
                value = tags.get(tag)
                if isinstance(value, str) and tidy(value):
                    return value
    return ""
